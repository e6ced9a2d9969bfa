"""Returned checks (NSF): one audited transaction reverses the payment in full, charges the
capped fee, flags the patient and opens a collection case."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from practicedesk.billing import services
from practicedesk.billing.models import CollectionCase, LedgerEntry, Payment
from practicedesk.billing.selectors import charge_balance, patient_balance, payment_credit
from practicedesk.billing.services import (
    payment_receive,
    payment_refund,
    payment_return_nsf,
    returned_check_fee,
)
from practicedesk.core.models import AuditEvent
from practicedesk.patients.models import PatientAlert
from tests import factories
from tests.factories import VALID_ROUTING_NUMBER, patient_charge

pytestmark = pytest.mark.django_db

PATIENT = LedgerEntry.Responsibility.PATIENT
D = Decimal


@pytest.fixture
def biller(make_user):
    return make_user("biller", two_factor_exempt=True)


@pytest.fixture
def patient():
    return factories.PatientFactory()


def check_payment(user, patient, amount, number="1234", **kwargs):
    return payment_receive(
        acting_user=user,
        amount=amount,
        method=Payment.Method.CHECK,
        check_number=number,
        routing_number=VALID_ROUTING_NUMBER,
        location=factories.LocationFactory(),
        patient=patient,
        **kwargs,
    )


def rows():
    return (
        LedgerEntry.objects.count(),
        PatientAlert.objects.count(),
        CollectionCase.objects.count(),
        AuditEvent.objects.filter(name="payment_return_nsf").count(),
    )


def test_returned_check_reverses_every_allocation_and_its_credit(biller, patient):
    first = patient_charge(patient, "60.00", date_of_service=datetime.date(2026, 9, 1))
    second = patient_charge(patient, "60.00", date_of_service=datetime.date(2026, 10, 1))
    payment = check_payment(biller, patient, D("150.00"))
    assert patient_balance(patient.pk) == D("-30.00")

    payment_return_nsf(acting_user=biller, payment=payment, reason="NSF")

    payment.refresh_from_db()
    assert payment.status == Payment.Status.RETURNED
    assert payment.returned_on == timezone.localdate() and payment.returned_by == biller
    assert charge_balance(first.pk, PATIENT) == D("60.00")
    assert charge_balance(second.pk, PATIENT) == D("60.00")
    fee = returned_check_fee()
    assert patient_balance(patient.pk) == D("120.00") + fee
    for entry in payment.ledger_entries.filter(kind=LedgerEntry.Kind.PAYMENT):
        assert entry.reversed_by.amount == -entry.amount
    assert payment_credit(payment).applied == D("0.00")
    assert payment_credit(payment).unapplied == D("0.00")


def test_returned_check_fee_is_the_practice_fee_capped_by_the_state_limit(
    biller, patient, settings
):
    settings.RETURNED_CHECK_FEE = "35.00"
    settings.RETURNED_CHECK_FEE_STATE_CAP = "25.00"
    payment = check_payment(biller, patient, D("10.00"))
    payment_return_nsf(acting_user=biller, payment=payment)
    fee = LedgerEntry.objects.get(kind=LedgerEntry.Kind.FEE)
    assert fee.amount == D("25.00") and fee.responsibility == PATIENT
    assert fee.payment == payment

    settings.RETURNED_CHECK_FEE = "15.00"
    assert returned_check_fee() == D("15.00")


def test_returned_check_flags_the_patient_and_opens_a_collection_case(biller, patient):
    patient_charge(patient, "80.00")
    payment = check_payment(biller, patient, D("80.00"), number="2001")
    payment_return_nsf(acting_user=biller, payment=payment)
    alert = patient.alerts.get(kind=PatientAlert.Kind.CHECKS_NOT_ACCEPTED)
    assert alert.is_active and "2001" in alert.text
    case = CollectionCase.objects.get(patient=patient)
    assert case.status == CollectionCase.Status.OPEN
    assert case.stage == CollectionCase.Stage.FIRST_NOTICE
    assert case.balance_at_open == patient_balance(patient.pk)
    assert case.opened_by == biller and "2001" in case.reason
    event = AuditEvent.objects.get(name="payment_return_nsf")
    assert event.user == biller and event.detail["collection_case"] == case.pk


def test_patient_whose_check_came_back_cannot_pay_by_check_again(biller, patient):
    payment = check_payment(biller, patient, D("10.00"))
    payment_return_nsf(acting_user=biller, payment=payment)
    with pytest.raises(ValidationError, match="may not pay by check"):
        check_payment(biller, patient, D("10.00"), number="99")
    assert Payment.objects.count() == 1


def test_check_returned_twice_is_refused_and_posts_nothing(biller, patient):
    payment = check_payment(biller, patient, D("10.00"))
    payment_return_nsf(acting_user=biller, payment=payment)
    before = rows()
    with pytest.raises(ValidationError, match="already marked returned"):
        payment_return_nsf(acting_user=biller, payment=payment)
    assert rows() == before


def test_only_a_received_check_can_be_returned(biller, patient):
    cash = payment_receive(
        acting_user=biller,
        amount=D("10.00"),
        method="cash",
        location=factories.LocationFactory(),
        patient=patient,
    )
    before = rows()
    with pytest.raises(ValidationError, match="not by check"):
        payment_return_nsf(acting_user=biller, payment=cash)
    assert rows() == before


def test_check_returned_before_it_was_received_is_refused(biller, patient):
    payment = check_payment(
        biller, patient, D("10.00"), received_on=timezone.localdate() - datetime.timedelta(days=2)
    )
    before = rows()
    with pytest.raises(ValidationError) as error:
        payment_return_nsf(
            acting_user=biller,
            payment=payment,
            returned_on=timezone.localdate() - datetime.timedelta(days=3),
        )
    assert "returned_on" in error.value.message_dict
    assert rows() == before


def test_returned_check_changes_nothing_when_any_step_fails(biller, patient, monkeypatch):
    patient_charge(patient, "50.00")
    payment = check_payment(biller, patient, D("50.00"))
    before = rows()

    def broken(**kwargs):
        raise ValidationError("The collections queue is unavailable.")

    monkeypatch.setattr(services, "collection_case_open", broken)
    with pytest.raises(ValidationError, match="unavailable"):
        payment_return_nsf(acting_user=biller, payment=payment)
    assert rows() == before
    payment.refresh_from_db()
    assert payment.status == Payment.Status.RECEIVED
    assert patient_balance(patient.pk) == D("0.00")


def test_refund_paid_before_the_check_came_back_stays_owed(biller, patient):
    payment = check_payment(biller, patient, D("100.00"))
    payment_refund(
        acting_user=biller, payment=payment, amount=D("40.00"), method="check", reason="x"
    )
    payment_return_nsf(acting_user=biller, payment=payment)
    # The practice paid 40.00 back on a check that never cleared: the patient owes it.
    assert patient_balance(patient.pk) == D("40.00") + returned_check_fee()


def test_one_collection_case_stays_open_per_patient(biller, patient):
    for number in ("1", "2"):
        payment = check_payment(biller, patient, D("10.00"), number=number)
        payment_return_nsf(acting_user=biller, payment=payment)
        patient.alerts.filter(kind=PatientAlert.Kind.CHECKS_NOT_ACCEPTED).update(is_active=False)
    assert CollectionCase.objects.filter(patient=patient).count() == 1
