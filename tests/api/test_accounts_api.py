"""Patient accounts through the REST API: payments, allocations, refunds, returned checks,
write-offs, payment plans and collection cases go through the account pages' services and
roles; bad input is refused with the service's message and posts nothing; reads are audited."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from practicedesk.billing.models import (
    CollectionCase,
    LedgerEntry,
    Payment,
    PaymentPlan,
    PlanInstalment,
    Statement,
)
from practicedesk.billing.services import collection_case_open, payment_receive
from practicedesk.billing.statements import statement_run_execute, statement_run_start
from practicedesk.core.models import AuditEvent
from tests import factories
from tests.factories import VALID_ROUTING_NUMBER, patient_charge

pytestmark = pytest.mark.django_db

D = Decimal
OLD = datetime.date(2026, 1, 5)
RECENT = datetime.date(2026, 10, 1)


@pytest.fixture
def location():
    return factories.LocationFactory()


@pytest.fixture
def owing(db):
    """A patient who owes 100.00 on an old charge and 60.00 on a recent one."""
    patient = factories.PatientFactory()
    old = patient_charge(patient, "100.00", date_of_service=OLD)
    recent = patient_charge(patient, "60.00", date_of_service=RECENT)
    return patient, old, recent


def cash(patient, location, amount="50.00", **extra) -> dict:
    return {
        "patient": patient.pk,
        "method": "cash",
        "amount": amount,
        "location": location.pk,
        **extra,
    }


def posted_rows() -> tuple[int, int, int]:
    return Payment.objects.count(), LedgerEntry.objects.count(), PaymentPlan.objects.count()


def received(user, patient, location, amount, **kwargs) -> Payment:
    kwargs.setdefault("method", Payment.Method.CASH)
    return payment_receive(
        acting_user=user, amount=amount, location=location, patient=patient, **kwargs
    )


# Roles


def test_account_endpoints_follow_the_billing_roles(api_client, owing, location, make_user):
    patient, old, _recent = owing
    lists = (
        "/api/payments/",
        "/api/allocations/",
        "/api/payment-plans/",
        "/api/collection-cases/",
        f"/api/accounts/{patient.pk}/",
    )
    for role in ("marketing", "clinician"):
        client = api_client(role)
        for path in lists:
            assert client.get(path).status_code == 403, (role, path)
        refused = client.post("/api/payments/", cash(patient, location), format="json")
        assert refused.status_code == 403
    assert Payment.objects.count() == 0

    desk = api_client("front_desk")
    taken = desk.post("/api/payments/", cash(patient, location, allocation="none"), format="json")
    assert taken.status_code == 201, taken.json()
    payment = taken.json()["id"]
    # Applying credit, refunds, returned checks, write-offs and collections are the biller's.
    for path, body in (
        (f"/api/payments/{payment}/allocate/", {}),
        (f"/api/payments/{payment}/refund/", {"amount": "5.00", "method": "eft", "reason": "x"}),
        (f"/api/payments/{payment}/return/", {}),
        ("/api/allocations/", {"payment": payment}),
        (f"/api/charges/{old.pk}/write-off/", {"amount": "5.00", "reason": "Hardship"}),
        ("/api/collection-cases/", {"patient": patient.pk, "reason": "Unpaid"}),
    ):
        assert desk.post(path, body, format="json").status_code == 403, path
    payer = factories.PayerFactory()
    payer_payment = {
        "payer": payer.pk,
        "method": "eft",
        "reference": "TRN1",
        "amount": "10.00",
        "location": location.pk,
    }
    assert desk.post("/api/payments/", payer_payment, format="json").status_code == 403
    # An owner reads the accounts and changes nothing.
    owner = api_client("owner")
    assert owner.get("/api/payments/").status_code == 200
    assert owner.post("/api/payments/", cash(patient, location), format="json").status_code == 403


def test_payments_are_never_edited_or_deleted(api_client, owing, location, make_user):
    patient, _old, _recent = owing
    payment = received(make_user("front_desk"), patient, location, "20.00")
    client = api_client("manager")
    for method in (client.put, client.patch, client.delete):
        response = method(f"/api/payments/{payment.pk}/", {"amount": "1.00"}, format="json")
        assert response.status_code == 405
        assert "never changed or deleted" in response.json()["detail"]


# Receiving payments


def test_a_payment_is_applied_oldest_first_and_the_rest_kept_as_credit(api_client, owing, location):
    patient, old, recent = owing
    client = api_client("front_desk")
    response = client.post("/api/payments/", cash(patient, location, "200.00"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["receipt_number"].startswith("RC")
    assert (body["amount"], body["applied"], body["unapplied"]) == ("200.00", "160.00", "40.00")
    assert body["received_by"] == client.user.pk
    allocations = api_client("biller").get("/api/allocations/", {"payment": body["id"]}).json()
    assert [(a["charge"], a["amount"]) for a in allocations["results"]] == [
        (old.pk, "100.00"),
        (recent.pk, "60.00"),
    ]


def test_a_payment_is_applied_by_hand_where_the_caller_says(api_client, owing, location):
    patient, old, recent = owing
    client = api_client("front_desk")
    allocations = [{"charge": recent.pk, "amount": "60.00"}, {"charge": old.pk, "amount": "10.00"}]
    response = client.post(
        "/api/payments/",
        cash(patient, location, "70.00", allocations=allocations),
        format="json",
    )
    assert response.status_code == 201, response.json()
    applied = {
        entry.charge_id: -entry.amount
        for entry in LedgerEntry.objects.filter(payment_id=response.json()["id"])
    }
    assert applied == {recent.pk: D("60.00"), old.pk: D("10.00")}


def test_a_check_payment_records_check_and_routing_number(api_client, owing, location):
    patient, _old, _recent = owing
    body = cash(patient, location, "25.00", method="check")
    client = api_client("front_desk")
    refused = client.post("/api/payments/", body, format="json")
    assert refused.status_code == 400
    assert refused.json() == {
        "check_number": ["Enter the check number."],
        "routing_number": ["Enter the bank routing number printed on the check."],
    }
    body.update(check_number="1001", routing_number=VALID_ROUTING_NUMBER)
    response = client.post("/api/payments/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["check_number"] == "1001"


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0.00", "The payment must be more than 0.00 (it is 0.00)."),
        ("-5.00", "The payment must be more than 0.00 (it is -5.00)."),
    ],
)
def test_a_payment_of_zero_or_less_is_refused(api_client, owing, location, amount, message):
    patient, _old, _recent = owing
    before = posted_rows()
    response = api_client("front_desk").post(
        "/api/payments/", cash(patient, location, amount), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"amount": [message]}
    assert posted_rows() == before


def test_a_payment_applied_beyond_a_charge_balance_posts_nothing(api_client, owing, location):
    patient, old, _recent = owing
    before = posted_rows()
    response = api_client("front_desk").post(
        "/api/payments/",
        cash(patient, location, "150.00", allocations=[{"charge": old.pk, "amount": "150.00"}]),
        format="json",
    )
    assert response.status_code == 400
    [message] = response.json()["allocations"]
    assert message.startswith("150.00 is more than the patient owes on")
    assert "a payment is never applied beyond a charge's balance" in message
    assert posted_rows() == before


def test_amounts_applied_beyond_the_payment_post_nothing(api_client, owing, location):
    patient, old, recent = owing
    before = posted_rows()
    allocations = [{"charge": old.pk, "amount": "50.00"}, {"charge": recent.pk, "amount": "20.00"}]
    response = api_client("front_desk").post(
        "/api/payments/", cash(patient, location, "60.00", allocations=allocations), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "allocations": [
            "The amounts applied add up to 70.00, more than the 60.00 available; nothing was "
            "posted."
        ]
    }
    assert posted_rows() == before


def test_a_payer_payment_larger_than_what_it_is_applied_to_is_refused(api_client, location):
    payer = factories.PayerFactory(name="Prairie Mutual")
    patient_charge(amount="80.00", responsibility="insurance", payer=payer)
    before = posted_rows()
    body = {"payer": payer.pk, "method": "eft", "reference": "TRN1", "amount": "100.00"}
    response = api_client("biller").post(
        "/api/payments/", {**body, "location": location.pk}, format="json"
    )
    assert response.status_code == 400
    [message] = response.json()["amount"]
    assert message.startswith("The payment of 100.00 is larger than what it is applied to (80.00)")
    assert posted_rows() == before


# Credit: applying, refunding


def test_credit_is_applied_through_allocations_without_moving_the_balance(
    api_client, owing, location, make_user
):
    patient, old, recent = owing
    payment = received(make_user("front_desk"), patient, location, "120.00", allocation="none")
    client = api_client("biller")
    response = client.post("/api/allocations/", {"payment": payment.pk}, format="json")
    assert response.status_code == 201, response.json()
    assert [(a["charge"], a["amount"]) for a in response.json()] == [
        (old.pk, "100.00"),
        (recent.pk, "20.00"),
    ]
    detail = client.get(f"/api/payments/{payment.pk}/").json()
    assert (detail["applied"], detail["unapplied"]) == ("120.00", "0.00")
    refused = client.post(f"/api/payments/{payment.pk}/allocate/", {}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {
        "non_field_errors": [
            f"Receipt {payment.receipt_number} has no unapplied credit left to apply."
        ]
    }


def test_credit_is_applied_by_hand_on_the_payment(api_client, owing, location, make_user):
    patient, _old, recent = owing
    payment = received(make_user("front_desk"), patient, location, "50.00", allocation="none")
    client = api_client("biller")
    too_much = [{"charge": recent.pk, "amount": "70.00"}]
    before = posted_rows()
    refused = client.post(
        f"/api/payments/{payment.pk}/allocate/", {"allocations": too_much}, format="json"
    )
    assert refused.status_code == 400
    assert "more than the patient owes" in refused.json()["allocations"][0]
    assert posted_rows() == before
    by_hand = [{"charge": recent.pk, "amount": "30.00"}]
    response = client.post(
        f"/api/payments/{payment.pk}/allocate/", {"allocations": by_hand}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["applied"], response.json()["unapplied"]) == ("30.00", "20.00")


def test_a_refund_pays_back_credit_and_never_more(api_client, owing, location, make_user):
    patient, _old, _recent = owing
    payment = received(make_user("front_desk"), patient, location, "30.00", allocation="none")
    client = api_client("biller")
    path = f"/api/payments/{payment.pk}/refund/"
    before = posted_rows()
    refused = client.post(
        path, {"amount": "30.01", "method": "check", "reason": "Overpaid"}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "amount": [
            f"A refund of 30.01 is larger than the unapplied credit of receipt "
            f"{payment.receipt_number} (30.00); nothing was refunded."
        ]
    }
    assert posted_rows() == before
    zero = client.post(path, {"amount": "0", "method": "check", "reason": "x"}, format="json")
    assert zero.json() == {"amount": ["The refund must be more than 0.00 (it is 0.00)."]}
    cash_back = client.post(path, {"amount": "5", "method": "cash", "reason": "x"}, format="json")
    assert cash_back.status_code == 400
    assert "method" in cash_back.json()
    response = client.post(
        path, {"amount": "10.00", "method": "check", "reason": "Overpaid"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["refunded"], response.json()["unapplied"]) == ("10.00", "20.00")


# Returned checks


def test_a_returned_check_reverses_what_it_paid_and_opens_collections(
    api_client, owing, location, make_user
):
    patient, _old, _recent = owing
    payment = received(
        make_user("front_desk"),
        patient,
        location,
        "100.00",
        method=Payment.Method.CHECK,
        check_number="2040",
        routing_number=VALID_ROUTING_NUMBER,
    )
    client = api_client("biller")
    response = client.post(f"/api/payments/{payment.pk}/return/", {"reason": "NSF"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["applied"], body["unapplied"]) == ("returned", "0.00", "0.00")
    assert body["returned_by"] == client.user.pk
    allocations = client.get("/api/allocations/", {"payment": payment.pk}).json()["results"]
    assert allocations and all(a["reversed"] for a in allocations)
    cases = client.get("/api/collection-cases/", {"patient": patient.pk}).json()["results"]
    assert [case["reason"] for case in cases] == ["Returned check 2040 (100.00)"]

    before = posted_rows()
    again = client.post(f"/api/payments/{payment.pk}/return/", {}, format="json")
    assert again.status_code == 400
    assert again.json() == {
        "non_field_errors": [f"Check 2040 was already marked returned on {timezone.localdate()}."]
    }
    assert posted_rows() == before


def test_only_a_received_patient_check_comes_back(api_client, owing, location, make_user):
    patient, _old, _recent = owing
    desk = make_user("front_desk")
    paid_cash = received(desk, patient, location, "10.00")
    check = received(
        desk,
        patient,
        location,
        "10.00",
        method=Payment.Method.CHECK,
        check_number="77",
        routing_number=VALID_ROUTING_NUMBER,
        received_on=timezone.localdate() - datetime.timedelta(days=3),
    )
    client = api_client("biller")
    before = posted_rows()
    not_a_check = client.post(f"/api/payments/{paid_cash.pk}/return/", {}, format="json")
    assert not_a_check.status_code == 400
    assert not_a_check.json() == {
        "non_field_errors": [
            f"Receipt {paid_cash.receipt_number} was paid by cash, not by check; only a check "
            "can come back unpaid."
        ]
    }
    before_receipt = (timezone.localdate() - datetime.timedelta(days=5)).isoformat()
    too_early = client.post(
        f"/api/payments/{check.pk}/return/", {"returned_on": before_receipt}, format="json"
    )
    assert too_early.status_code == 400
    assert too_early.json()["returned_on"][0].startswith(
        f"The check was received on {check.received_on}"
    )
    assert posted_rows() == before
    assert Payment.objects.get(pk=check.pk).status == Payment.Status.RECEIVED


# Write-offs


def test_a_write_off_needs_a_managers_approval(api_client, owing):
    """As on the page, only a role that approves billing writes off a charge's balance."""
    _patient, old, _recent = owing
    before = posted_rows()
    biller = api_client("biller")
    path = f"/api/charges/{old.pk}/write-off/"
    refused = biller.post(path, {"amount": "40.00", "reason": "Hardship"}, format="json")
    assert refused.status_code == 403
    assert posted_rows() == before
    manager = api_client("manager")
    too_much = manager.post(path, {"amount": "100.01", "reason": "Hardship"}, format="json")
    assert too_much.status_code == 400
    assert too_much.json()["amount"][0].startswith("100.01 is more than the patient owes")
    assert posted_rows() == before
    response = manager.post(path, {"amount": "40.00", "reason": "Hardship"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["amount"], body["approved_by"]) == (
        "write_off",
        "-40.00",
        manager.user.pk,
    )


# Payment plans


def plan_terms(patient, **overrides) -> dict:
    return {
        "patient": patient.pk,
        "down_payment": "10.00",
        "instalment_amount": "50.00",
        "frequency": "monthly",
        "start_date": (timezone.localdate() + datetime.timedelta(days=1)).isoformat(),
        **overrides,
    }


def test_a_plan_whose_instalments_do_not_add_up_is_refused(api_client, owing):
    patient, _old, _recent = owing
    before = posted_rows()
    client = api_client("front_desk")
    response = client.post(
        "/api/payment-plans/", plan_terms(patient, instalment_count=4), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "instalment_count": [
            "4 instalments of 50.00 do not add up to the 150.00 financed: it takes 3 (the last "
            "one smaller)."
        ]
    }
    wrong_total = client.post(
        "/api/payment-plans/", plan_terms(patient, total="100.00"), format="json"
    )
    assert wrong_total.status_code == 400
    assert "does not add up to the patient's balance of 160.00" in wrong_total.json()["total"][0]
    assert posted_rows() == before
    assert not PlanInstalment.objects.exists()


def test_a_plan_is_proposed_authorized_by_a_manager_and_cancelled(api_client, owing):
    patient, _old, _recent = owing
    desk = api_client("front_desk")
    proposed = desk.post(
        "/api/payment-plans/", plan_terms(patient, instalment_count=3), format="json"
    )
    assert proposed.status_code == 201, proposed.json()
    plan = proposed.json()
    assert (plan["status"], plan["total"], plan["paid"]) == ("proposed", "160.00", "0.00")
    assert [(i["number"], i["amount"], i["remaining"]) for i in plan["instalments"]] == [
        (0, "10.00", "10.00"),
        (1, "50.00", "50.00"),
        (2, "50.00", "50.00"),
        (3, "50.00", "50.00"),
    ]
    path = f"/api/payment-plans/{plan['id']}/"
    assert desk.post(f"{path}authorize/", format="json").status_code == 403
    assert api_client("biller").post(f"{path}authorize/", format="json").status_code == 403
    manager = api_client("manager")
    authorized = manager.post(f"{path}authorize/", format="json")
    assert authorized.status_code == 200, authorized.json()
    assert (authorized.json()["status"], authorized.json()["authorized_by"]) == (
        "active",
        manager.user.pk,
    )
    again = manager.post(f"{path}authorize/", format="json")
    assert again.json() == {"non_field_errors": ["This plan is active, not proposed."]}

    biller = api_client("biller")
    no_reason = biller.post(f"{path}cancel/", {"reason": " "}, format="json")
    assert no_reason.status_code == 400
    cancelled = biller.post(f"{path}cancel/", {"reason": "Paid in full"}, format="json")
    assert cancelled.status_code == 200, cancelled.json()
    assert cancelled.json()["status"] == "cancelled"


def test_plan_instalments_show_what_the_plans_payments_cover(
    api_client, owing, location, make_user
):
    patient, _old, _recent = owing
    plan = PaymentPlan.objects.create(
        patient=patient,
        total=D("160.00"),
        down_payment=D("10.00"),
        instalment_amount=D("50.00"),
        frequency="monthly",
        start_date=timezone.localdate(),
        status=PaymentPlan.Status.ACTIVE,
    )
    for number, amount in enumerate(("10.00", "50.00", "50.00", "50.00")):
        PlanInstalment.objects.create(
            plan=plan, number=number, due_date=timezone.localdate(), amount=D(amount)
        )
    received(make_user("front_desk"), patient, location, "35.00", plan=plan)
    listed = api_client("biller").get("/api/payment-plans/", {"patient": patient.pk}).json()
    [found] = listed["results"]
    assert found["paid"] == "35.00"
    assert [(i["paid"], i["remaining"]) for i in found["instalments"]] == [
        ("10.00", "0.00"),
        ("25.00", "25.00"),
        ("0.00", "50.00"),
        ("0.00", "50.00"),
    ]


# Collection cases and the account


def test_a_collection_case_is_opened_once(api_client, owing):
    patient, _old, _recent = owing
    client = api_client("biller")
    opened = client.post(
        "/api/collection-cases/", {"patient": patient.pk, "reason": "Unpaid"}, format="json"
    )
    assert opened.status_code == 201, opened.json()
    body = opened.json()
    assert (body["status"], body["stage"], body["balance"]) == ("open", "first_notice", "160.00")
    again = client.post(
        "/api/collection-cases/", {"patient": patient.pk, "reason": "Again"}, format="json"
    )
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert CollectionCase.objects.filter(patient=patient).count() == 1


def test_the_account_shows_balances_by_who_owes_and_age(api_client, owing, location, make_user):
    patient, _old, _recent = owing
    payer = factories.PayerFactory()
    patient_charge(
        patient,
        "90.00",
        responsibility="insurance",
        payer=payer,
        date_of_service=timezone.localdate(),
    )
    received(make_user("front_desk"), patient, location, "10.00", allocation="none")
    client = api_client("front_desk")
    response = client.get(f"/api/accounts/{patient.pk}/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["patient_balance"], body["insurance_balance"], body["unapplied_credit"]) == (
        "150.00",
        "90.00",
        "10.00",
    )
    assert body["guarantor"] == patient.pk
    assert body["insurance_aging"]["days_0_30"] == "90.00"
    assert body["patient_aging"]["over_120"] == "100.00"
    assert body["patient_aging"]["total"] == "150.00"
    assert client.get("/api/accounts/999999/").status_code == 404
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.READ, user=client.user, object_id=str(patient.pk)
    ).exists()


def test_reads_of_account_records_are_audited(api_client, owing, location, make_user):
    patient, _old, _recent = owing
    payment = received(make_user("front_desk"), patient, location, "20.00")
    client = api_client("biller")
    client.get(f"/api/payments/{payment.pk}/")
    client.get("/api/payments/", {"patient": patient.pk})
    client.get("/api/allocations/", {"patient": patient.pk})
    events = list(
        AuditEvent.objects.filter(action=AuditEvent.Action.READ, user=client.user).order_by("id")
    )
    assert [(event.name, event.object_id) for event in events] == [
        ("api_read", str(payment.pk)),
        ("api_billing.payment_list", ""),
        ("api_billing.ledgerentry_list", ""),
    ]
    assert events[1].detail["ids"] == [str(payment.pk)]


def test_account_lists_cost_the_same_queries_for_more_rows(api_client, owing, location, make_user):
    patient, _old, _recent = owing
    desk = make_user("front_desk")
    client = api_client("biller")

    def queries() -> dict[str, int]:
        counts = {}
        for path in ("/api/payments/", "/api/allocations/", "/api/payment-plans/"):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(path).status_code == 200
            counts[path] = len(captured)
        return counts

    def plan_of(someone):
        plan = PaymentPlan.objects.create(
            patient=someone,
            total=D("100.00"),
            instalment_amount=D("50.00"),
            frequency="monthly",
            start_date=timezone.localdate(),
        )
        for number in (1, 2):
            PlanInstalment.objects.create(
                plan=plan, number=number, due_date=timezone.localdate(), amount=D("50.00")
            )

    received(desk, patient, location, "20.00")
    plan_of(patient)
    one = queries()
    for _ in range(3):
        other = factories.PatientFactory()
        patient_charge(other, "40.00")
        received(desk, other, location, "30.00")
        plan_of(other)
    assert queries() == one


# The schema


def test_the_schema_describes_the_account_endpoints_without_warnings(tmp_path):
    schema = tmp_path / "schema.json"
    call_command("spectacular", "--fail-on-warn", "--format", "openapi-json", "--file", str(schema))
    paths = json.loads(schema.read_text())["paths"]
    for path in (
        "/api/payments/",
        "/api/payments/{id}/allocate/",
        "/api/payments/{id}/refund/",
        "/api/payments/{id}/return/",
        "/api/allocations/",
        "/api/payment-plans/{id}/authorize/",
        "/api/collection-cases/",
        "/api/accounts/{id}/",
        "/api/charges/{id}/write-off/",
        "/api/collection-cases/{id}/write-off/decide/",
        "/api/statements/{id}/pdf/",
    ):
        assert path in paths, path


# Collection cases: the actions of the collections pages


@pytest.fixture
def case(owing, make_user):
    patient, _old, _recent = owing
    return collection_case_open(
        acting_user=make_user("biller"), patient=patient, reason="Owed over 90 days"
    )


def test_the_collection_queue_is_billing_export_and_a_case_is_billing_view(api_client, case):
    desk = api_client("front_desk")
    assert desk.get("/api/collection-cases/").status_code == 403
    detail = desk.get(f"/api/collection-cases/{case.pk}/")
    assert detail.status_code == 200
    assert (detail.json()["contacts"], detail.json()["write_offs"]) == ([], [])
    assert (
        desk.post(f"/api/collection-cases/{case.pk}/dispute/", {"reason": "x"}).status_code == 403
    )
    assert api_client("bookkeeper").get("/api/collection-cases/").status_code == 200


def test_a_dispute_stops_collection_attempts_until_resolved(api_client, case):
    client = api_client("biller")
    path = f"/api/collection-cases/{case.pk}/"
    disputed = client.post(f"{path}dispute/", {"reason": "Never had this visit"}, format="json")
    assert disputed.status_code == 200, disputed.json()
    assert (disputed.json()["disputed"], disputed.json()["dispute_reason"]) == (
        True,
        "Never had this visit",
    )
    refused = client.post(
        f"{path}contact/", {"kind": "email", "note": "Reminder sent"}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["non_field_errors"][0].startswith(
        "The account is disputed (Never had this visit): no collection call, email or promise"
    )
    to_agency = client.post(f"{path}agency/", {"agency_name": "Acme"}, format="json")
    assert to_agency.json() == {
        "non_field_errors": ["The account is disputed: it cannot go to an agency until resolved."]
    }
    resolved = client.post(
        f"{path}resolve-dispute/", {"resolution": "Visit confirmed"}, format="json"
    )
    assert resolved.status_code == 200 and resolved.json()["disputed"] is False
    logged = client.post(f"{path}contact/", {"kind": "note", "note": "Left a message"})
    assert logged.status_code == 201, logged.json()
    early = client.post(f"{path}agency/", {"agency_name": "Acme"}, format="json")
    assert early.status_code == 400
    assert "only after its final notice" in early.json()["non_field_errors"][0]


def test_a_bad_debt_write_off_posts_only_when_another_manager_approves(api_client, case, owing):
    patient, _old, _recent = owing
    path = f"/api/collection-cases/{case.pk}/write-off/"
    asked = api_client("biller").post(path, {"reason": "Moved away"}, format="json")
    assert asked.status_code == 201, asked.json()
    assert (asked.json()["status"], asked.json()["amount"]) == ("pending", "160.00")
    before = posted_rows()
    decision = {"approve": True}
    assert api_client("biller").post(f"{path}decide/", decision).status_code == 403
    rejected = api_client("manager").post(f"{path}decide/", {"approve": False}, format="json")
    assert rejected.json() == {"note": ["Say why the write-off is rejected."]}
    assert posted_rows() == before
    manager = api_client("manager")
    approved = manager.post(f"{path}decide/", decision, format="json")
    assert approved.status_code == 200, approved.json()
    assert (approved.json()["status"], approved.json()["posted_amount"]) == ("approved", "160.00")
    body = manager.get(f"/api/accounts/{patient.pk}/").json()
    assert (body["patient_balance"], body["collection_case"]) == ("0.00", None)
    assert manager.post(f"{path}decide/", decision, format="json").status_code == 404


# Statements


def test_statements_are_read_and_their_pdf_downloaded_as_an_audited_reprint(
    api_client, owing, make_user
):
    patient, _old, _recent = owing
    factories.OrganizationFactory()
    run = statement_run_start(acting_user=make_user("manager"))
    statement_run_execute(run=run)
    statement = Statement.objects.get(guarantor=patient)
    assert api_client("marketing").get("/api/statements/").status_code == 403
    client = api_client("front_desk")
    listed = client.get("/api/statements/", {"guarantor": patient.pk}).json()["results"]
    assert [(s["statement_number"], s["amount_due"]) for s in listed] == [
        (statement.statement_number, "160.00")
    ]
    response = client.get(f"/api/statements/{statement.pk}/pdf/", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response) == statement.file.open("rb").read()
    assert AuditEvent.objects.filter(
        name="statement_reprint", user=client.user, object_id=str(statement.pk)
    ).exists()
    Statement.objects.filter(pk=statement.pk).update(sha256="0" * 64)
    tampered = client.get(f"/api/statements/{statement.pk}/pdf/")
    assert tampered.status_code == 409
    assert "no longer matches its checksum" in tampered.json()["detail"]
