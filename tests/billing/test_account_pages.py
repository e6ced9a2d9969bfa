"""The account pages: the patient's account, payments and what can be done with them, the daily
close, payment plans and financial assistance, each for the roles that may use it."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from practicedesk.billing.models import (
    CollectionCase,
    FinancialAssistanceApproval,
    FinancialAssistanceBand,
    LedgerEntry,
    Payment,
    PaymentPlan,
)
from practicedesk.billing.selectors import patient_balance, payment_credit
from practicedesk.billing.services import payment_receive
from practicedesk.core.models import AuditEvent
from practicedesk.patients.models import PatientAlert
from tests import factories
from tests.factories import VALID_ROUTING_NUMBER, patient_charge

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def login(client, make_user):
    def sign_in(role):
        user = make_user(role, two_factor_exempt=True)
        client.force_login(user)
        return user

    return sign_in


@pytest.fixture
def patient():
    return factories.PatientFactory(first_name="Rosa", last_name="Parks")


@pytest.fixture
def location():
    return factories.LocationFactory(name="Main Street")


def cash(user, patient, amount, **kwargs):
    return payment_receive(
        acting_user=user,
        amount=amount,
        method="cash",
        location=kwargs.pop("location", None) or factories.LocationFactory(),
        patient=patient,
        **kwargs,
    )


def check(user, patient, amount, number="4321", location=None):
    return payment_receive(
        acting_user=user,
        amount=amount,
        method="check",
        check_number=number,
        routing_number=VALID_ROUTING_NUMBER,
        location=location or factories.LocationFactory(),
        patient=patient,
    )


def counts():
    return Payment.objects.count(), LedgerEntry.objects.count()


def test_account_page_shows_balances_and_the_ledger_with_running_balances(client, login, patient):
    biller = login("biller")
    patient_charge(patient, "120.00", date_of_service=datetime.date(2026, 9, 1))
    cash(biller, patient, D("50.00"))
    response = client.get(reverse("billing:patient_account", args=[patient.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "MRN" in page and patient.mrn in page  # the patient banner
    account = response.context["account"]
    assert account.patient_balance == D("70.00")
    assert [line.patient_running for line in account.lines] == [D("120.00"), D("70.00")]
    assert "Receive a payment" in page and "Write off" not in page
    assert AuditEvent.objects.filter(
        name="patient_account", object_id=str(patient.pk), action=AuditEvent.Action.READ
    ).exists()


def test_account_page_reads_a_fixed_number_of_queries(client, login, patient):
    biller = login("biller")
    url = reverse("billing:patient_account", args=[patient.pk])

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    patient_charge(patient, "10.00")
    cash(biller, patient, D("5.00"))
    few = queries()
    for _ in range(4):
        patient_charge(patient, "10.00")
        cash(biller, patient, D("5.00"))
    assert queries() == few


def test_checks_not_accepted_shows_wherever_the_patient_appears(client, login, patient):
    biller = login("biller")
    payment_receive_check = check(biller, patient, D("10.00"))
    client.post(
        reverse("billing:payment_return", args=[payment_receive_check.pk]),
        {"returned_on": timezone.localdate().isoformat(), "reason": "NSF"},
    )
    for name in ("billing:patient_account", "billing:payment_receive"):
        page = client.get(reverse(name, args=[patient.pk])).content.decode()
        assert "Checks not accepted" in page


def test_front_desk_receives_a_payment_applied_oldest_first(client, login, patient, location):
    login("front_desk")
    older = patient_charge(patient, "60.00", date_of_service=datetime.date(2026, 9, 1))
    patient_charge(patient, "60.00", date_of_service=datetime.date(2026, 10, 1))
    response = client.post(
        reverse("billing:payment_receive", args=[patient.pk]),
        {
            "method": "card",
            "amount": "80.00",
            "received_on": timezone.localdate().isoformat(),
            "location": location.pk,
            "reference": "AUTH42",
            "allocation": "oldest_first",
        },
    )
    payment = Payment.objects.get()
    assert response.status_code == 302 and response["Location"] == payment.get_absolute_url()
    assert payment.ledger_entries.filter(charge=older).get().amount == D("-60.00")
    assert patient_balance(patient.pk) == D("40.00")
    assert client.get(payment.get_absolute_url()).status_code == 200


def test_payment_applied_by_hand_through_the_form(client, login, patient, location):
    login("front_desk")
    first = patient_charge(patient, "60.00", date_of_service=datetime.date(2026, 9, 1))
    second = patient_charge(patient, "60.00", date_of_service=datetime.date(2026, 10, 1))
    client.post(
        reverse("billing:payment_receive", args=[patient.pk]),
        {
            "method": "cash",
            "amount": "50.00",
            "received_on": timezone.localdate().isoformat(),
            "location": location.pk,
            "allocation": "by_hand",
            f"charge_{second.pk}": "30.00",
        },
    )
    payment = Payment.objects.get()
    assert not payment.ledger_entries.filter(charge=first).exists()
    assert payment.ledger_entries.get(charge=second).amount == D("-30.00")
    assert payment_credit(payment).unapplied == D("20.00")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"method": "check", "amount": "10.00"}, "Enter the check number."),
        (
            {
                "method": "check",
                "amount": "10.00",
                "check_number": "12",
                "routing_number": "123456789",
            },
            "check digit",
        ),
        ({"method": "cash", "amount": "0.00"}, "more than 0.00"),
        ({"method": "cash", "amount": "-3.00"}, "more than 0.00"),
        (
            {"method": "cash", "amount": "10.00", "allocation": "by_hand"},
            "at least one charge",
        ),
    ],
)
def test_refused_payment_shows_the_reason_and_posts_nothing(
    client, login, patient, location, data, message
):
    login("front_desk")
    patient_charge(patient, "60.00")
    before = counts()
    form = {
        "received_on": timezone.localdate().isoformat(),
        "location": location.pk,
        "allocation": "oldest_first",
        **data,
    }
    response = client.post(reverse("billing:payment_receive", args=[patient.pk]), form)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert counts() == before


def test_payment_beyond_a_charge_balance_by_hand_is_refused_on_the_form(
    client, login, patient, location
):
    login("front_desk")
    charge = patient_charge(patient, "20.00")
    before = counts()
    response = client.post(
        reverse("billing:payment_receive", args=[patient.pk]),
        {
            "method": "cash",
            "amount": "50.00",
            "received_on": timezone.localdate().isoformat(),
            "location": location.pk,
            "allocation": "by_hand",
            f"charge_{charge.pk}": "50.00",
        },
    )
    assert "more than the patient owes" in response.content.decode()
    assert counts() == before


def test_biller_applies_credit_and_refunds_it(client, login, patient):
    biller = login("biller")
    payment = cash(biller, patient, D("100.00"))
    charge = patient_charge(patient, "30.00")
    response = client.post(
        reverse("billing:payment_allocate", args=[payment.pk]), {"allocation": "oldest_first"}
    )
    assert response.status_code == 302
    assert payment.ledger_entries.get(charge=charge).amount == D("-30.00")
    response = client.post(
        reverse("billing:payment_refund", args=[payment.pk]),
        {"amount": "80.00", "method": "check", "reference": "5001", "reason": "Moved away"},
    )
    assert "larger than the unapplied credit" in response.content.decode()
    response = client.post(
        reverse("billing:payment_refund", args=[payment.pk]),
        {"amount": "70.00", "method": "check", "reference": "5001", "reason": "Moved away"},
    )
    assert response.status_code == 302
    assert payment_credit(payment).unapplied == D("0.00")


def test_front_desk_may_take_payments_but_not_refund_or_return_checks(client, login, patient):
    desk = login("front_desk")
    payment = check(desk, patient, D("40.00"))
    for name, data in (
        ("billing:payment_refund", {"amount": "1", "method": "check", "reason": "x"}),
        ("billing:payment_return", {"returned_on": timezone.localdate().isoformat()}),
        ("billing:payment_allocate", {"allocation": "oldest_first"}),
    ):
        assert client.post(reverse(name, args=[payment.pk]), data).status_code == 403
    assert payment.ledger_entries.count() == 1


def test_biller_marks_a_check_returned(client, login, patient):
    biller = login("biller")
    patient_charge(patient, "40.00")
    payment = check(biller, patient, D("40.00"))
    page = client.get(reverse("billing:payment_return", args=[payment.pk])).content.decode()
    assert "returned-check fee" in page
    response = client.post(
        reverse("billing:payment_return", args=[payment.pk]),
        {"returned_on": timezone.localdate().isoformat(), "reason": "Account closed"},
    )
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.status == Payment.Status.RETURNED
    assert patient.alerts.filter(kind=PatientAlert.Kind.CHECKS_NOT_ACCEPTED).exists()
    assert CollectionCase.objects.filter(patient=patient).exists()
    again = client.post(
        reverse("billing:payment_return", args=[payment.pk]),
        {"returned_on": timezone.localdate().isoformat(), "reason": "Again"},
    )
    assert "already marked returned" in again.content.decode()


def test_write_off_is_a_managers_page(client, login, make_user, patient):
    charge = patient_charge(patient, "90.00")
    url = reverse("billing:write_off", args=[patient.pk])
    login("biller")
    assert client.get(url).status_code == 403
    assert client.post(url, {"charge": charge.pk}).status_code == 403
    manager = login("manager")
    response = client.post(
        url,
        {"charge": charge.pk, "responsibility": "patient", "amount": "20.00", "reason": "Hardship"},
    )
    assert response.status_code == 302
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.WRITE_OFF)
    assert entry.approved_by == manager and entry.amount == D("-20.00")


def test_daily_close_page_and_its_csv_export(client, login, patient, location):
    desk = login("front_desk")
    cash(desk, patient, D("12.50"), location=location)
    check(desk, patient, D("40.00"), number="7001", location=location)
    page = client.get(reverse("billing:daily_close"))
    assert page.status_code == 200
    assert page.context["close"].deposit_total == D("52.50")
    assert "7001" in page.content.decode()
    assert "Export CSV" not in page.content.decode()
    assert client.get(reverse("billing:daily_close") + "?export=csv").status_code == 403

    login("biller")
    day = timezone.localdate().isoformat()
    response = client.get(
        reverse("billing:daily_close"),
        {"day": day, "location": location.pk, "user": desk.pk, "export": "csv"},
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert "Main Street" in text and "7001" in text and "52.50" in text
    assert AuditEvent.objects.filter(name="billing.daily_close_export").exists()


def test_plan_is_proposed_at_the_desk_and_authorized_by_a_manager(client, login, patient):
    patient_charge(patient, "600.00")
    login("front_desk")
    response = client.post(
        reverse("billing:payment_plan_propose", args=[patient.pk]),
        {
            "down_payment": "100.00",
            "instalment_amount": "200.00",
            "frequency": "monthly",
            "start_date": timezone.localdate().isoformat(),
        },
    )
    plan = PaymentPlan.objects.get()
    assert response.status_code == 302 and response["Location"] == plan.get_absolute_url()
    assert client.get(plan.get_absolute_url()).status_code == 200
    authorize = reverse("billing:payment_plan_authorize", args=[plan.pk])
    assert client.post(authorize).status_code == 403
    manager = login("manager")
    assert "Down payment" in client.get(authorize).content.decode()
    assert client.post(authorize).status_code == 302
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.ACTIVE and plan.authorized_by == manager
    assert "Parks" in client.get(reverse("billing:payment_plan_list")).content.decode()


def test_plan_that_does_not_add_up_is_refused_on_the_form(client, login, patient):
    patient_charge(patient, "600.00")
    login("front_desk")
    response = client.post(
        reverse("billing:payment_plan_propose", args=[patient.pk]),
        {
            "down_payment": "100.00",
            "instalment_amount": "200.00",
            "instalment_count": "2",
            "frequency": "monthly",
            "start_date": timezone.localdate().isoformat(),
        },
    )
    assert "do not add up" in response.content.decode()
    assert not PaymentPlan.objects.exists()


def test_financial_assistance_bands_approval_and_discount(client, login, patient):
    login("biller")
    assert client.get(reverse("billing:fa_band_create")).status_code == 403
    login("manager")
    response = client.post(
        reverse("billing:fa_band_create"),
        {"name": "Half", "poverty_level_max": "200", "discount_percent": "50", "is_active": "on"},
    )
    assert response.status_code == 302
    band = FinancialAssistanceBand.objects.get()
    assert client.get(reverse("billing:fa_band_list")).status_code == 200
    patient_charge(patient, "80.00", date_of_service=timezone.localdate())
    response = client.post(
        reverse("billing:fa_approve", args=[patient.pk]),
        {
            "household_income": "25000",
            "household_size": "2",
            "valid_from": timezone.localdate().isoformat(),
        },
    )
    approval = FinancialAssistanceApproval.objects.get()
    assert approval.band == band
    assert response["Location"] == approval.get_absolute_url()
    login("biller")
    assert client.get(approval.get_absolute_url()).status_code == 200
    response = client.post(reverse("billing:fa_apply", args=[approval.pk]))
    assert response.status_code == 302
    assert patient_balance(patient.pk) == D("40.00")
    assert "Parks" in client.get(reverse("billing:fa_approval_list")).content.decode()


def test_billing_menu_lists_the_new_pages(client, login):
    login("front_desk")
    page = client.get(reverse("billing:daily_close")).content.decode()
    for label in ("Daily close", "Payment plans", "Financial assistance"):
        assert label in page


def test_clinician_cannot_see_an_account(client, login, patient):
    login("clinician")
    url = reverse("billing:patient_account", args=[patient.pk])
    assert client.get(url).status_code == 403
