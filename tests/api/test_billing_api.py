"""Billing through the REST API: the same services and messages as the pages, the same roles,
posted charges immutable, and every read of charges and claims audited."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from practicedesk.billing.models import (
    Charge,
    Claim,
    Fee,
    FeeSchedule,
    LedgerEntry,
    ServiceCode,
    VisitDiagnosis,
)
from practicedesk.billing.selectors import claim_balance, insurance_balance
from practicedesk.billing.services import (
    ChargeLine,
    charge_reverse,
    charges_post,
    claim_create,
    claim_mark_ready,
    claim_status_set,
    visit_diagnoses_set,
)
from practicedesk.core.models import AuditEvent
from practicedesk.patients.models import Payer
from practicedesk.scheduling.models import Appointment
from tests import factories

pytestmark = pytest.mark.django_db


def visit_lines(service_codes, **overrides):
    return {
        "diagnoses": ["E11.9", "I10"],
        "lines": [
            {
                "service_code": service_codes["99214"].pk,
                "diagnosis_pointers": [1, 2],
                "modifiers": ["25"],
            },
            {"service_code": service_codes["36415"].pk, "units": 2},
        ],
        **overrides,
    }


def another_billed_visit(user, service_codes, *, days_ago: int, payer=None):
    """A second checked-out, charged visit of another patient (for filters)."""
    location = factories.LocationFactory()
    provider = factories.ProviderFactory(locations=[location])
    coverage = factories.CoverageFactory(payer=payer or factories.PayerFactory())
    start = timezone.now().replace(microsecond=0) - datetime.timedelta(days=days_ago)
    visit = Appointment.objects.create(
        patient=coverage.patient,
        provider=provider,
        location=location,
        appointment_type=factories.AppointmentTypeFactory(),
        coverage=coverage,
        start=start,
        end=start + datetime.timedelta(minutes=20),
        status=Appointment.Status.CHECKED_OUT,
    )
    visit_diagnoses_set(acting_user=user, appointment=visit, codes=["I10"])
    charges_post(acting_user=user, appointment=visit, lines=[ChargeLine(service_codes["99213"])])
    return visit


# Roles


def test_billing_roles_on_the_api_are_the_pages_roles(api_client, checked_out_visit, service_codes):
    marketing = api_client("marketing")
    for path in ("/api/payers/", "/api/service-codes/", "/api/charges/", "/api/claims/"):
        assert marketing.get(path).status_code == 403, path
    assert (
        marketing.post("/api/charges/", visit_lines(service_codes), format="json").status_code
        == 403
    )
    clinician = api_client("clinician")
    assert clinician.get("/api/claims/").status_code == 403

    front_desk = api_client("front_desk")
    # Setting prices is billing "change", which the front desk does not have.
    code = {"code": "99215", "description": "Office visit, high"}
    assert front_desk.post("/api/service-codes/", code, format="json").status_code == 403
    # Charges are entered at checkout by the front desk, as on the pages...
    posted = front_desk.post(
        "/api/charges/",
        {"appointment": checked_out_visit.pk, **visit_lines(service_codes)},
        format="json",
    )
    assert posted.status_code == 201, posted.json()
    # ...but claims are the biller's.
    claim = {"appointment": checked_out_visit.pk}
    assert front_desk.post("/api/claims/", claim, format="json").status_code == 403
    charge_id = posted.json()[0]["id"]
    reverse = {"reason": "Wrong code"}
    response = front_desk.post(f"/api/charges/{charge_id}/reverse/", reverse, format="json")
    assert response.status_code == 403
    assert not Claim.objects.exists()

    biller = api_client("biller")
    assert biller.post("/api/service-codes/", code, format="json").status_code == 201
    assert biller.post("/api/claims/", claim, format="json").status_code == 201


def test_the_biller_posts_charges_and_creates_the_claim(
    api_client, checked_out_visit, service_codes
):
    biller = api_client("biller")
    posted = biller.post(
        "/api/charges/",
        {"appointment": checked_out_visit.pk, **visit_lines(service_codes)},
        format="json",
    )
    assert posted.status_code == 201, posted.json()
    created = biller.post("/api/claims/", {"appointment": checked_out_visit.pk}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["created_by"] == biller.user.pk


# Charges


def test_charges_posted_through_the_api_are_priced_from_the_fee_schedule(
    api_client, checked_out_visit, service_codes
):
    client = api_client("biller")
    response = client.post(
        "/api/charges/",
        {"appointment": checked_out_visit.pk, **visit_lines(service_codes)},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [(c["code"], c["units"], c["unit_price"], c["amount"]) for c in body] == [
        ("99214", 1, "165.00", "165.00"),
        ("36415", 2, "15.00", "30.00"),
    ]
    assert body[0]["modifiers"] == ["25"]
    assert body[0]["diagnoses"] == ["E11.9", "I10"]
    assert body[1]["diagnosis_pointers"] == [1]
    assert list(checked_out_visit.diagnoses.values_list("code", flat=True)) == ["E11.9", "I10"]
    assert all(c.posted_by == client.user for c in Charge.objects.all())
    assert insurance_balance(checked_out_visit.patient_id) == Decimal("195.00")
    assert AuditEvent.objects.filter(name="charges_post", user=client.user).exists()


def test_a_later_fee_schedule_created_through_the_api_prices_the_visit(
    api_client, checked_out_visit, service_codes
):
    client = api_client("biller")
    day = timezone.localdate(checked_out_visit.start)
    schedule = {
        "name": "Practice fees, new year",
        "payer": None,
        "effective_from": (day - datetime.timedelta(days=1)).isoformat(),
        "fees": [
            {"service_code": service_codes["99214"].pk, "amount": "170.00"},
            {"service_code": service_codes["36415"].pk, "amount": "16.50"},
        ],
    }
    created = client.post("/api/fee-schedules/", schedule, format="json")
    assert created.status_code == 201, created.json()
    assert [(fee["code"], fee["amount"]) for fee in created.json()["fees"]] == [
        ("36415", "16.50"),
        ("99214", "170.00"),
    ]
    posted = client.post(
        "/api/charges/",
        {"appointment": checked_out_visit.pk, **visit_lines(service_codes)},
        format="json",
    )
    assert [c["amount"] for c in posted.json()] == ["170.00", "33.00"]


def test_a_bad_icd10_code_is_refused_with_the_services_message_and_posts_nothing(
    api_client, checked_out_visit, service_codes, make_user
):
    with pytest.raises(ValidationError) as service_error:
        visit_diagnoses_set(acting_user=make_user(), appointment=checked_out_visit, codes=["E11"])
    response = api_client("biller").post(
        "/api/charges/",
        {"appointment": checked_out_visit.pk, **visit_lines(service_codes, diagnoses=["E11"])},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"diagnoses": service_error.value.message_dict["codes"]}
    assert "category" in response.json()["diagnoses"][0]
    assert not VisitDiagnosis.objects.exists()
    assert not Charge.objects.exists()
    assert not LedgerEntry.objects.exists()


def test_a_pointer_to_a_missing_diagnosis_is_refused_and_posts_nothing(
    api_client, checked_out_visit, service_codes
):
    body = visit_lines(service_codes, diagnoses=["E11.9"])
    response = api_client("biller").post(
        "/api/charges/", {"appointment": checked_out_visit.pk, **body}, format="json"
    )
    assert response.status_code == 400
    assert "doesn't have (it has 1)" in response.json()["non_field_errors"][0]
    # The diagnoses were recorded in the same transaction and are rolled back with the lines.
    assert not VisitDiagnosis.objects.exists()
    assert not Charge.objects.exists()
    assert not LedgerEntry.objects.exists()


def test_charge_lines_are_checked_before_anything_is_posted(
    api_client, checked_out_visit, service_codes
):
    inactive = ServiceCode.objects.create(code="99499", description="Unlisted", is_active=False)
    lines = [
        {"service_code": inactive.pk},
        {"service_code": service_codes["99213"].pk, "modifiers": ["2!"], "units": 0},
        {"service_code": service_codes["99213"].pk, "diagnosis_pointers": [1, 1]},
    ]
    response = api_client("biller").post(
        "/api/charges/",
        {"appointment": checked_out_visit.pk, "diagnoses": ["I10"], "lines": lines},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["lines"]
    assert errors["0"] == {
        "service_code": [f"Service code {inactive.pk} does not exist or is archived."]
    }
    assert errors["1"]["modifiers"] == ["A modifier is 2 letters or digits, e.g. 25."]
    assert "units" in errors["1"]
    assert errors["2"] == {"diagnosis_pointers": ["A diagnosis is pointed to twice."]}
    assert not Charge.objects.exists()


def test_charges_of_a_visit_not_checked_out_are_refused(api_client, service_codes):
    visit = factories.AppointmentFactory(status=Appointment.Status.ARRIVED)
    response = api_client("biller").post(
        "/api/charges/", {"appointment": visit.pk, **visit_lines(service_codes)}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Charges are posted from a checked-out visit."]}


def test_posted_charges_are_immutable(api_client, billed_visit):
    client = api_client("manager")
    charge = billed_visit.charges.first()
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(f"/api/charges/{charge.pk}/", {"units": 3})
        assert response.status_code == 405, method
        assert "reverse the charge" in response.json()["detail"]
    unchanged = Charge.objects.get(pk=charge.pk)
    assert (unchanged.units, unchanged.amount) == (charge.units, charge.amount)
    assert Charge.objects.count() == 2


def test_a_charge_is_corrected_by_its_reversal(api_client, billed_visit):
    client = api_client("biller")
    charge = billed_visit.charges.get(service_code__code="36415")
    path = f"/api/charges/{charge.pk}/reverse/"
    assert client.post(path, {"reason": ""}, format="json").status_code == 400
    response = client.post(path, {"reason": "Not done"}, format="json")
    assert response.status_code == 201, response.json()
    reversal = response.json()
    assert reversal["reverses"] == charge.pk
    assert reversal["amount"] == "-15.00"
    assert client.get(f"/api/charges/{charge.pk}/").json()["reversed_by"] == reversal["id"]
    assert insurance_balance(billed_visit.patient_id) == Decimal("165.00")
    again = client.post(path, {"reason": "again"}, format="json")
    assert again.status_code == 400
    assert "already reversed" in again.json()["non_field_errors"][0]
    assert AuditEvent.objects.filter(name="charge_reverse", user=client.user).count() == 1


def test_charge_filters_find_by_patient_appointment_and_date(
    api_client,
    billed_visit,
    service_codes,
    make_user,
):
    other = another_billed_visit(make_user(), service_codes, days_ago=30)
    client = api_client("biller")

    def ids(**params):
        return sorted(row["id"] for row in client.get("/api/charges/", params).json()["results"])

    mine = sorted(billed_visit.charges.values_list("pk", flat=True))
    theirs = list(other.charges.values_list("pk", flat=True))
    assert ids(patient=billed_visit.patient_id) == mine
    assert ids(appointment=other.pk) == theirs
    day = timezone.localdate(other.start)
    assert ids(serviced_from=day.isoformat(), serviced_to=day.isoformat()) == theirs
    assert ids(serviced_from=(day + datetime.timedelta(days=1)).isoformat()) == mine


# Claims


def test_a_claim_is_created_scrubbed_and_made_ready(api_client, billed_visit):
    client = api_client("biller")
    response = client.post("/api/claims/", {"appointment": billed_visit.pk}, format="json")
    assert response.status_code == 201, response.json()
    claim = response.json()
    assert claim["status"] == "draft"
    assert claim["total_charge"] == "180.00"
    assert claim["balance"] == "180.00"
    assert claim["diagnoses"] == ["E11.9", "I10"]
    assert [(line["line_number"], line["service_code"]) for line in claim["lines"]] == [
        (1, "99214"),
        (2, "36415"),
    ]
    scrub = client.get(f"/api/claims/{claim['id']}/scrub/")
    assert scrub.json() == {"claim": claim["id"], "clean": True, "problems": []}
    ready = client.post(f"/api/claims/{claim['id']}/ready/")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    duplicate = client.post("/api/claims/", {"appointment": billed_visit.pk}, format="json")
    assert duplicate.status_code == 400
    assert duplicate.json() == {
        "non_field_errors": ["This visit already has an open primary claim."]
    }


def test_a_claim_with_problems_is_not_made_ready_and_the_problems_are_listed(
    api_client, billed_visit
):
    client = api_client("biller")
    claim_id = client.post("/api/claims/", {"appointment": billed_visit.pk}, format="json").json()[
        "id"
    ]
    provider = billed_visit.provider
    provider.npi = "1234567890"
    provider.save()
    scrub = client.get(f"/api/claims/{claim_id}/scrub/").json()
    assert scrub["clean"] is False
    assert "Rendering provider NPI 1234567890 is invalid (check digit)." in scrub["problems"]
    response = client.post(f"/api/claims/{claim_id}/ready/")
    assert response.status_code == 400
    assert response.json() == {"problems": scrub["problems"]}
    assert Claim.objects.get(pk=claim_id).status == Claim.Status.DRAFT


def test_a_claim_without_coverage_on_the_date_of_service_is_refused(api_client, billed_visit):
    coverage = billed_visit.coverage
    coverage.end_date = datetime.date(2020, 12, 31)
    coverage.save()
    response = api_client("biller").post(
        "/api/claims/", {"appointment": billed_visit.pk}, format="json"
    )
    assert response.status_code == 400
    assert "no primary coverage" in response.json()["non_field_errors"][0]
    assert not Claim.objects.exists()


def test_claim_status_steps_are_the_pages_steps(api_client, billed_visit):
    client = api_client("biller")
    claim_id = client.post("/api/claims/", {"appointment": billed_visit.pk}, format="json").json()[
        "id"
    ]
    path = f"/api/claims/{claim_id}/status/"

    def step(status, note=""):
        return client.post(path, {"status": status, "note": note}, format="json")

    refused = step("paid")
    assert refused.status_code == 400
    assert refused.json() == {
        "status": [
            "That status is set by the scrubber, the claim export or a remittance, not by hand."
        ]
    }
    assert step("appealed").json() == {
        "note": ["Say what the appeal argues (it goes in the history)."]
    }
    assert step("appealed", "Medically necessary").json() == {
        "status": ["A draft claim cannot become appealed."]
    }
    # "ready" goes through the scrubber, as the ready action does.
    assert step("ready").json()["status"] == "ready"
    assert step("draft").json()["status"] == "draft"
    closed = step("closed", "Billed to the wrong payer")
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    claim = Claim.objects.get(pk=claim_id)
    assert [(c.to_status, c.by) for c in claim.status_changes.all()] == [
        ("draft", client.user),
        ("ready", client.user),
        ("draft", client.user),
        ("closed", client.user),
    ]
    assert claim.status_changes.last().note == "Billed to the wrong payer"
    assert AuditEvent.objects.filter(name="claim_closed", user=client.user).exists()


def test_a_secondary_claim_follows_the_paid_primary_claim(api_client, billed_visit, make_user):
    client = api_client("biller")
    primary_id = client.post(
        "/api/claims/", {"appointment": billed_visit.pk}, format="json"
    ).json()["id"]
    factories.CoverageFactory(
        patient=billed_visit.patient, order=2, payer=factories.PayerFactory(name="Second Health")
    )
    both = client.post(
        "/api/claims/",
        {"appointment": billed_visit.pk, "primary_claim": primary_id},
        format="json",
    )
    assert both.status_code == 400
    too_early = client.post("/api/claims/", {"primary_claim": primary_id}, format="json")
    assert too_early.status_code == 400
    assert "once the primary payer has paid" in too_early.json()["non_field_errors"][0]
    user = make_user("biller")
    primary = claim_mark_ready(acting_user=user, claim=Claim.objects.get(pk=primary_id))
    for status in ("submitted", "paid"):
        primary = claim_status_set(acting_user=user, claim=primary, to_status=status)
    secondary = client.post("/api/claims/", {"primary_claim": primary_id}, format="json")
    assert secondary.status_code == 201, secondary.json()
    body = secondary.json()
    assert (body["payer_order"], body["primary_claim"]) == (2, primary_id)
    assert Claim.objects.get(pk=body["id"]).payer.name == "Second Health"


def test_claims_are_never_edited_or_deleted(api_client, billed_visit, make_user):
    claim = claim_create(acting_user=make_user("biller"), appointment=billed_visit)
    client = api_client("manager")
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(f"/api/claims/{claim.pk}/", {"status": "paid"})
        assert response.status_code == 405, method
        assert "only through their actions" in response.json()["detail"]
    assert Claim.objects.get(pk=claim.pk).status == Claim.Status.DRAFT


def test_claim_balance_in_the_list_is_the_sum_of_its_ledger_entries(
    api_client, billed_visit, make_user
):
    user = make_user("biller")
    claim = claim_create(acting_user=user, appointment=billed_visit)
    charge = billed_visit.charges.get(service_code__code="36415")
    charge_reverse(acting_user=user, charge=charge, reason="Not done")
    row = api_client("biller").get("/api/claims/").json()["results"][0]
    assert Decimal(row["balance"]) == claim_balance(claim) == Decimal("165.00")


def test_claim_filters_find_by_status_payer_patient_and_date(
    api_client,
    billed_visit,
    service_codes,
    make_user,
):
    user = make_user("biller")
    first = claim_create(acting_user=user, appointment=billed_visit)
    other_payer = factories.PayerFactory(name="Other Health")
    other_visit = another_billed_visit(user, service_codes, days_ago=40, payer=other_payer)
    second = claim_create(acting_user=user, appointment=other_visit)
    client = api_client("biller")
    client.post(f"/api/claims/{second.pk}/status/", {"status": "closed"}, format="json")

    def ids(**params):
        return sorted(row["id"] for row in client.get("/api/claims/", params).json()["results"])

    assert ids() == sorted([first.pk, second.pk])
    assert ids(status="draft") == [first.pk]
    assert ids(status=["draft", "closed"]) == sorted([first.pk, second.pk])
    assert ids(payer=other_payer.pk) == [second.pk]
    assert ids(patient=billed_visit.patient_id) == [first.pk]
    assert ids(q=second.claim_number) == [second.pk]
    day = second.date_of_service
    assert ids(serviced_from=day.isoformat(), serviced_to=day.isoformat()) == [second.pk]
    assert ids(serviced_from=(day + datetime.timedelta(days=1)).isoformat()) == [first.pk]


# Reads are audited


def test_reads_of_claims_and_charges_are_audited(api_client, billed_visit, make_user):
    claim = claim_create(acting_user=make_user("biller"), appointment=billed_visit)
    charge = billed_visit.charges.first()
    client = api_client("biller")
    client.get(f"/api/claims/{claim.pk}/")
    client.get("/api/claims/", {"patient": billed_visit.patient_id})
    client.get(f"/api/claims/{claim.pk}/scrub/")
    client.get(f"/api/charges/{charge.pk}/")
    client.get("/api/charges/", {"appointment": billed_visit.pk})
    events = list(
        AuditEvent.objects.filter(action=AuditEvent.Action.READ, user=client.user).order_by("id")
    )
    assert [(event.name, event.object_id) for event in events] == [
        ("api_read", str(claim.pk)),
        ("api_billing.claim_list", ""),
        ("api_read", str(claim.pk)),
        ("api_read", str(charge.pk)),
        ("api_billing.charge_list", ""),
    ]
    assert events[1].detail["ids"] == [str(claim.pk)]
    assert events[1].detail["query"] == {"patient": str(billed_visit.patient_id)}
    assert sorted(events[4].detail["ids"]) == sorted(
        str(pk) for pk in billed_visit.charges.values_list("pk", flat=True)
    )


# Reference data: payers, service codes, fee schedules


def test_payers_are_checked_by_the_model_and_archived_on_delete(api_client):
    client = api_client("biller")
    payer = {
        "name": "Prairie Mutual",
        "payer_type": "commercial",
        "payer_id": "PM 01",
        "address_line1": "PO Box 9",
        "city": "Peoria",
        "state": "IL",
        "postal_code": "61601",
    }
    refused = client.post("/api/payers/", payer, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"payer_id": ["Letters and digits only, 2-20."]}
    created = client.post("/api/payers/", {**payer, "payer_id": "PM01"}, format="json")
    assert created.status_code == 201, created.json()
    payer_pk = created.json()["id"]
    changed = client.patch(f"/api/payers/{payer_pk}/", {"timely_filing_days": 90}, format="json")
    assert changed.json()["timely_filing_days"] == 90
    # Deleting is the manager's; a payer is archived, never removed.
    assert client.delete(f"/api/payers/{payer_pk}/").status_code == 403
    assert api_client("manager").delete(f"/api/payers/{payer_pk}/").status_code == 204
    assert Payer.objects.get(pk=payer_pk).is_active is False


def test_service_codes_must_be_cpt_or_hcpcs(api_client, service_codes):
    client = api_client("biller")
    refused = client.post(
        "/api/service-codes/", {"code": "9921", "description": "Short"}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "code": ["A procedure code is a 5-character CPT (e.g. 99213) or HCPCS (e.g. G0439) code."]
    }
    hcpcs = client.post(
        "/api/service-codes/", {"code": " g0439 ", "description": "Annual wellness"}, format="json"
    )
    assert hcpcs.status_code == 201, hcpcs.json()
    assert hcpcs.json()["code"] == "G0439"
    taken = client.post(
        "/api/service-codes/", {"code": "99213", "description": "Again"}, format="json"
    )
    assert taken.status_code == 400


def test_a_billed_service_code_keeps_its_code(api_client, billed_visit, service_codes):
    client = api_client("biller")
    code = service_codes["99214"]
    response = client.patch(f"/api/service-codes/{code.pk}/", {"code": "99215"}, format="json")
    assert response.status_code == 400
    assert "archive it" in response.json()["code"][0]
    renamed = client.patch(
        f"/api/service-codes/{code.pk}/", {"description": "Established, moderate"}, format="json"
    )
    assert renamed.status_code == 200
    assert api_client("manager").delete(f"/api/service-codes/{code.pk}/").status_code == 204
    code.refresh_from_db()
    assert (code.code, code.is_active) == ("99214", False)


def test_a_fee_schedule_and_its_fees_are_created_together_or_not_at_all(
    api_client,
    service_codes,
):
    client = api_client("biller")
    payer = factories.PayerFactory()
    schedule = {
        "name": "Acme contract",
        "payer": payer.pk,
        "effective_from": "2025-01-01",
        "effective_to": "2024-12-31",
        "fees": [
            {"service_code": service_codes["99213"].pk, "amount": "80.00"},
            {"service_code": service_codes["99213"].pk, "amount": "81.00"},
        ],
    }
    refused = client.post("/api/fee-schedules/", schedule, format="json")
    assert refused.status_code == 400
    assert refused.json() == {
        "effective_to": ["The schedule would end before it starts."],
        "fees": ["99213 is listed twice."],
    }
    negative = client.post(
        "/api/fee-schedules/",
        {
            **schedule,
            "effective_to": None,
            "fees": [{"service_code": service_codes["99213"].pk, "amount": "-1.00"}],
        },
        format="json",
    )
    assert negative.status_code == 400
    assert negative.json() == {
        "fees": {"0": {"amount": ["Ensure this value is greater than or equal to 0.00."]}}
    }
    assert FeeSchedule.objects.filter(payer=payer).count() == 0
    created = client.post(
        "/api/fee-schedules/",
        {**schedule, "effective_to": None, "fees": schedule["fees"][:1]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert Fee.objects.get(fee_schedule__payer=payer).amount == Decimal("80.00")
    same_start = client.post(
        "/api/fee-schedules/", {**schedule, "effective_to": None, "fees": []}, format="json"
    )
    assert same_start.status_code == 400
    assert "already starts on 2025-01-01" in same_start.json()["effective_from"][0]


def test_fees_of_an_existing_schedule_change_one_by_one(api_client, service_codes):
    client = api_client("biller")
    schedule = FeeSchedule.objects.get(name="Practice fees")
    response = client.patch(
        f"/api/fee-schedules/{schedule.pk}/",
        {"fees": [{"service_code": service_codes["99213"].pk, "amount": "1.00"}]},
        format="json",
    )
    assert response.status_code == 400
    assert "/api/fees/" in response.json()["fees"][0]
    fee = Fee.objects.get(fee_schedule=schedule, service_code=service_codes["99213"])
    changed = client.patch(f"/api/fees/{fee.pk}/", {"amount": "112.00"}, format="json")
    assert changed.json()["amount"] == "112.00"
    duplicate = client.post(
        "/api/fees/",
        {
            "fee_schedule": schedule.pk,
            "service_code": service_codes["99213"].pk,
            "amount": "1.00",
        },
        format="json",
    )
    assert duplicate.status_code == 400
    assert duplicate.json() == {
        "service_code": ["99213 already has a fee in this schedule; change that one."]
    }


def test_a_schedule_that_priced_charges_is_kept(api_client, billed_visit):
    schedule = FeeSchedule.objects.get(name="Practice fees")
    response = api_client("manager").delete(f"/api/fee-schedules/{schedule.pk}/")
    assert response.status_code == 409
    assert FeeSchedule.objects.filter(pk=schedule.pk).exists()


def test_billing_lists_take_the_same_queries_for_one_claim_or_many(
    api_client, billed_visit, service_codes, make_user
):
    user = make_user("biller")
    claim_create(acting_user=user, appointment=billed_visit)
    client = api_client("biller")
    paths = ("/api/claims/", "/api/charges/")

    def queries() -> dict[str, int]:
        counts = {}
        for path in paths:
            with CaptureQueriesContext(connection) as captured:
                assert client.get(path).status_code == 200
            counts[path] = len(captured)
        return counts

    one = queries()
    for days_ago in (20, 30, 40):
        visit = another_billed_visit(user, service_codes, days_ago=days_ago)
        claim_create(acting_user=user, appointment=visit)
    assert queries() == one


def test_a_diagnosis_a_posted_line_points_to_cannot_change_under_it(
    api_client, billed_visit, service_codes
):
    body = {
        "appointment": billed_visit.pk,
        "diagnoses": ["I10"],
        "lines": [{"service_code": service_codes["99213"].pk}],
    }
    response = api_client("biller").post("/api/charges/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "diagnoses": [
            "Posted line 99214 points to diagnosis 1 (E11.9); reverse that line before changing it."
        ]
    }
    assert list(billed_visit.diagnoses.values_list("code", flat=True)) == ["E11.9", "I10"]
    assert billed_visit.charges.count() == 2
    # Adding a line that points to the diagnoses as they are is fine.
    body["diagnoses"] = ["E11.9", "I10"]
    assert api_client("biller").post("/api/charges/", body, format="json").status_code == 201
