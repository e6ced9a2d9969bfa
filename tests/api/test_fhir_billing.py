"""Coverage, Claim and ChargeItem through the FHIR facade: every resource and Bundle parses with
the fhir.resources R4B models, searches find what they should, and reads are audited."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from practicedesk.api.fhir.billing import CPT_SYSTEM, HCPCS_SYSTEM, ICD10CM_SYSTEM
from practicedesk.billing.models import Charge, ServiceCode
from practicedesk.billing.services import (
    ChargeLine,
    charge_reverse,
    charges_post,
    claim_create,
    claim_mark_ready,
    claim_status_set,
)
from practicedesk.core.models import AuditEvent
from tests import factories
from tests.api.conftest import fhir_validate
from tests.api.test_billing_api import another_billed_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def fhir(api_client):
    client = api_client("biller")

    def get(path, params=None, expect=200):
        response = client.get(f"/fhir/{path}", params or {})
        assert response.status_code == expect, response.content
        assert response["Content-Type"].startswith("application/fhir+json")
        body = response.json()
        fhir_validate(body)
        return body

    get.client = client
    return get


def ids(bundle) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle["entry"]]


def test_the_capability_statement_serves_coverage_claim_and_charge_item():
    statement = APIClient().get("/fhir/metadata").json()
    fhir_validate(statement)
    served = {resource["type"]: resource for resource in statement["rest"][0]["resource"]}
    assert {"Coverage", "Claim", "ChargeItem"} <= set(served)
    params = {
        kind: {param["name"] for param in served[kind]["searchParam"]}
        for kind in ("Coverage", "Claim", "ChargeItem")
    }
    assert {"patient", "beneficiary"} <= params["Coverage"]
    assert {"patient", "status", "created"} <= params["Claim"]
    assert "patient" in params["ChargeItem"]


# Coverage


def test_coverage_reads_as_a_valid_fhir_coverage(fhir):
    payer = factories.PayerFactory(name="Prairie Medicare", payer_type="medicare", payer_id="PM01")
    coverage = factories.CoverageFactory(
        payer=payer,
        member_id="W123-456",
        group_number="G-77",
        plan_name="Gold PPO",
        order=2,
        relationship="19",
        subscriber_first_name="Pat",
        subscriber_last_name="Parent",
        subscriber_date_of_birth=datetime.date(1970, 1, 1),
        effective_date=datetime.date(2024, 1, 1),
        end_date=datetime.date(2024, 12, 31),
    )
    resource = fhir(f"Coverage/{coverage.pk}")
    assert resource["status"] == "cancelled"
    assert resource["subscriberId"] == "W123-456"
    assert resource["beneficiary"]["reference"] == f"Patient/{coverage.patient_id}"
    assert resource["subscriber"] == {"type": "RelatedPerson", "display": "Pat Parent"}
    assert resource["relationship"]["coding"][0]["code"] == "child"
    assert resource["payor"] == [
        {
            "type": "Organization",
            "display": "Prairie Medicare",
            "identifier": {"system": "urn:practicedesk:payer-id", "value": "PM01"},
        }
    ]
    assert resource["order"] == 2
    assert resource["period"] == {"start": "2024-01-01", "end": "2024-12-31"}
    assert resource["type"]["coding"][0]["code"] == "1"
    classes = {c["type"]["coding"][0]["code"]: c["value"] for c in resource["class"]}
    assert classes == {"group": "G-77", "plan": "Gold PPO"}


def test_the_patients_own_coverage_is_active_and_self(fhir):
    coverage = factories.CoverageFactory()
    resource = fhir(f"Coverage/{coverage.pk}")
    assert resource["status"] == "active"
    assert resource["relationship"]["coding"][0]["code"] == "self"
    assert resource["subscriber"]["reference"] == f"Patient/{coverage.patient_id}"
    assert "class" not in resource


def test_coverage_search_finds_by_patient_beneficiary_and_status(fhir):
    ada = factories.PatientFactory()
    current = factories.CoverageFactory(patient=ada)
    ended = factories.CoverageFactory(
        patient=ada, order=2, end_date=timezone.localdate() - datetime.timedelta(days=1)
    )
    factories.CoverageFactory()
    bundle = fhir("Coverage", {"patient": f"Patient/{ada.pk}"})
    assert bundle["total"] == 2
    assert sorted(ids(bundle)) == sorted([str(current.pk), str(ended.pk)])
    assert ids(fhir("Coverage", {"beneficiary": str(ada.pk), "status": "active"})) == [
        str(current.pk)
    ]
    assert ids(fhir("Coverage", {"patient": ada.pk, "status": "cancelled"})) == [str(ended.pk)]
    outcome = fhir("Coverage", {"payer": "x"}, expect=400)
    assert outcome["resourceType"] == "OperationOutcome"


def test_the_front_desk_reads_coverage_but_not_claims(api_client, billed_visit, make_user):
    claim = claim_create(acting_user=make_user("biller"), appointment=billed_visit)
    front_desk = api_client("front_desk")
    assert front_desk.get(f"/fhir/Coverage/{billed_visit.coverage_id}").status_code == 200
    marketing = api_client("marketing")
    for path in (f"Coverage/{billed_visit.coverage_id}", f"Claim/{claim.pk}", "ChargeItem"):
        response = marketing.get(f"/fhir/{path}")
        assert response.status_code == 403, path
        fhir_validate(response.json())
    assert api_client("clinician").get(f"/fhir/Claim/{claim.pk}").status_code == 403


# Claim


def test_a_claim_reads_as_a_valid_professional_fhir_claim(fhir, billed_visit, make_user):
    claim = claim_create(acting_user=make_user("biller"), appointment=billed_visit)
    resource = fhir(f"Claim/{claim.pk}")
    assert resource["status"] == "draft"
    assert resource["use"] == "claim"
    assert resource["type"]["coding"][0]["code"] == "professional"
    assert resource["priority"]["coding"][0]["code"] == "normal"
    assert resource["identifier"][0]["value"] == claim.claim_number
    assert resource["patient"]["reference"] == f"Patient/{billed_visit.patient_id}"
    assert resource["provider"]["reference"] == f"Practitioner/{billed_visit.provider_id}"
    assert resource["insurer"]["display"] == "Acme Health"
    assert resource["insurance"] == [
        {
            "sequence": 1,
            "focal": True,
            "coverage": {
                "reference": f"Coverage/{claim.coverage_id}",
                "display": str(claim.coverage),
            },
        }
    ]
    assert [
        (d["sequence"], d["diagnosisCodeableConcept"]["coding"][0]) for d in resource["diagnosis"]
    ] == [
        (1, {"system": ICD10CM_SYSTEM, "code": "E11.9"}),
        (2, {"system": ICD10CM_SYSTEM, "code": "I10"}),
    ]
    first, second = resource["item"]
    assert first["sequence"] == 1
    assert first["productOrService"]["coding"][0]["system"] == CPT_SYSTEM
    assert first["productOrService"]["coding"][0]["code"] == "99214"
    assert first["diagnosisSequence"] == [1, 2]
    assert first["quantity"] == {"value": 1}
    assert first["unitPrice"] == {"value": 165.0, "currency": "USD"}
    assert first["net"] == {"value": 165.0, "currency": "USD"}
    assert second["diagnosisSequence"] == [1]
    assert resource["total"] == {"value": 180.0, "currency": "USD"}


def test_hcpcs_codes_and_modifiers_are_coded_in_their_own_system(
    fhir, checked_out_visit, service_codes, make_user
):
    from practicedesk.billing.models import Fee, FeeSchedule
    from practicedesk.billing.services import visit_diagnoses_set

    user = make_user("biller")
    wellness = ServiceCode.objects.create(code="G0439", description="Annual wellness visit")
    Fee.objects.create(
        fee_schedule=FeeSchedule.objects.get(name="Practice fees"),
        service_code=wellness,
        amount="175.00",
    )
    visit_diagnoses_set(acting_user=user, appointment=checked_out_visit, codes=["Z00.00"])
    charges_post(
        acting_user=user,
        appointment=checked_out_visit,
        lines=[
            ChargeLine(wellness),
            ChargeLine(service_codes["99213"], modifiers=("25",)),
        ],
    )
    claim = claim_create(acting_user=user, appointment=checked_out_visit)
    items = fhir(f"Claim/{claim.pk}")["item"]
    assert items[0]["productOrService"]["coding"][0]["system"] == HCPCS_SYSTEM
    assert items[1]["modifier"] == [{"coding": [{"system": CPT_SYSTEM, "code": "25"}]}]


def test_claim_search_finds_by_patient_status_and_created(fhir, billed_visit, make_user):
    user = make_user("biller")
    claim = claim_create(acting_user=user, appointment=billed_visit)
    other = factories.ClaimFactory()
    claim_status_set(acting_user=user, claim=other, to_status="closed")
    by_patient = fhir("Claim", {"patient": f"Patient/{billed_visit.patient_id}"})
    assert ids(by_patient) == [str(claim.pk)]
    assert by_patient["entry"][0]["fullUrl"].endswith(f"/fhir/Claim/{claim.pk}")
    assert ids(fhir("Claim", {"status": "draft"})) == [str(claim.pk)]
    assert ids(fhir("Claim", {"status": "cancelled"})) == [str(other.pk)]
    assert fhir("Claim", {"status": "active"})["total"] == 0
    claim_mark_ready(acting_user=user, claim=claim)
    assert ids(fhir("Claim", {"status": "active"})) == [str(claim.pk)]
    today = timezone.localdate()
    assert fhir("Claim", {"created": f"ge{today.isoformat()}"})["total"] == 2
    tomorrow = today + datetime.timedelta(days=1)
    assert fhir("Claim", {"created": f"ge{tomorrow.isoformat()}"})["total"] == 0
    assert ids(fhir("Claim", {"identifier": claim.claim_number})) == [str(claim.pk)]
    assert fhir("Claim", {"status": "paid"}, expect=400)["resourceType"] == "OperationOutcome"


# ChargeItem


def test_a_charge_reads_as_a_valid_billable_fhir_charge_item(fhir, billed_visit):
    charge = billed_visit.charges.get(service_code__code="99214")
    resource = fhir(f"ChargeItem/{charge.pk}")
    assert resource["status"] == "billable"
    assert resource["subject"]["reference"] == f"Patient/{billed_visit.patient_id}"
    assert resource["code"]["coding"][0] == {
        "system": CPT_SYSTEM,
        "code": "99214",
        "display": "Office visit, established, moderate",
    }
    assert resource["occurrenceDateTime"] == charge.date_of_service.isoformat()
    assert resource["performer"][0]["actor"]["reference"] == (
        f"Practitioner/{billed_visit.provider_id}"
    )
    assert resource["quantity"] == {"value": 1}
    assert resource["priceOverride"] == {"value": 165.0, "currency": "USD"}
    assert [reason["coding"][0]["code"] for reason in resource["reason"]] == ["E11.9", "I10"]
    assert resource["supportingInformation"] == [{"reference": f"Appointment/{billed_visit.pk}"}]


def test_a_reversed_charge_is_entered_in_error_and_its_reversal_is_not_a_charge_item(
    fhir, billed_visit, make_user
):
    charge = billed_visit.charges.get(service_code__code="36415")
    reversal = charge_reverse(acting_user=make_user("biller"), charge=charge, reason="Not done")
    assert fhir(f"ChargeItem/{charge.pk}")["status"] == "entered-in-error"
    outcome = fhir(f"ChargeItem/{reversal.pk}", expect=404)
    assert outcome["issue"][0]["code"] == "not-found"


def test_a_charge_on_a_submitted_claim_is_billed(fhir, billed_visit, make_user):
    user = make_user("biller")
    claim = claim_mark_ready(
        acting_user=user, claim=claim_create(acting_user=user, appointment=billed_visit)
    )
    claim_status_set(acting_user=user, claim=claim, to_status="submitted")
    statuses = {
        entry["resource"]["status"]
        for entry in fhir("ChargeItem", {"patient": billed_visit.patient_id})["entry"]
    }
    assert statuses == {"billed"}


def test_charge_item_search_finds_the_patients_charges(fhir, billed_visit):
    factories.ChargeFactory()
    bundle = fhir("ChargeItem", {"patient": f"Patient/{billed_visit.patient_id}"})
    expected = sorted(str(pk) for pk in billed_visit.charges.values_list("pk", flat=True))
    assert bundle["total"] == 2
    assert sorted(ids(bundle)) == expected
    assert sorted(ids(fhir("ChargeItem", {"subject": billed_visit.patient_id}))) == expected
    day = billed_visit.charges.first().date_of_service
    assert sorted(ids(fhir("ChargeItem", {"occurrence": day.isoformat()}))) == expected
    assert Charge.objects.count() == 3
    assert fhir("ChargeItem", {"patient": "Practitioner/1"}, expect=400)


def test_fhir_reads_of_insurance_and_billing_are_audited(fhir, billed_visit, make_user):
    claim = claim_create(acting_user=make_user("biller"), appointment=billed_visit)
    charge = billed_visit.charges.first()
    fhir(f"Coverage/{billed_visit.coverage_id}")
    fhir(f"Claim/{claim.pk}")
    fhir(f"ChargeItem/{charge.pk}")
    fhir("Claim", {"patient": billed_visit.patient_id})
    events = AuditEvent.objects.filter(
        action=AuditEvent.Action.READ, user=fhir.client.user
    ).order_by("id")
    assert [(event.name, event.object_id) for event in events] == [
        ("fhir_read", str(billed_visit.coverage_id)),
        ("fhir_read", str(claim.pk)),
        ("fhir_read", str(charge.pk)),
        ("fhir_billing.claim_list", ""),
    ]
    assert events[3].detail["ids"] == [str(claim.pk)]


def test_fhir_billing_searches_take_the_same_queries_for_one_record_or_many(
    fhir, billed_visit, service_codes, make_user
):
    user = make_user("biller")
    claim_create(acting_user=user, appointment=billed_visit)
    searches = ("Claim", "ChargeItem", "Coverage")

    def queries() -> dict[str, int]:
        counts = {}
        for resource_type in searches:
            with CaptureQueriesContext(connection) as captured:
                fhir(resource_type)
            counts[resource_type] = len(captured)
        return counts

    one = queries()
    for days_ago in (20, 30):
        visit = another_billed_visit(user, service_codes, days_ago=days_ago)
        claim_create(acting_user=user, appointment=visit)
    assert queries() == one


def test_a_charge_of_a_visit_with_an_encounter_names_it_as_its_context(fhir, billed_visit):
    encounter = factories.EncounterFactory(appointment=billed_visit)
    charge = billed_visit.charges.first()
    context = fhir(f"ChargeItem/{charge.pk}")["context"]
    assert context["type"] == "Encounter"
    assert context["identifier"] == {
        "system": "urn:practicedesk:encounter",
        "value": str(encounter.pk),
    }
