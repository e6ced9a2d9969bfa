"""Payments: receipt and allocation, unapplied credit, refunds, write-offs, the daily close."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from practicedesk.billing.models import LedgerEntry, Payment
from practicedesk.billing.selectors import (
    charge_balance,
    daily_close,
    patient_balance,
    patient_unapplied_credit,
    payment_credit,
)
from practicedesk.billing.services import (
    payment_allocate,
    payment_receive,
    payment_refund,
    payment_return_nsf,
    write_off,
)
from practicedesk.core.models import AuditEvent
from tests import factories
from tests.factories import VALID_ROUTING_NUMBER, patient_charge

pytestmark = pytest.mark.django_db

PATIENT = LedgerEntry.Responsibility.PATIENT
D = Decimal


@pytest.fixture
def desk(make_user):
    return make_user("front_desk", two_factor_exempt=True)


@pytest.fixture
def location():
    return factories.LocationFactory()


@pytest.fixture
def patient():
    return factories.PatientFactory()


def receive(user, location, patient, amount, **kwargs):
    kwargs.setdefault("method", Payment.Method.CASH)
    return payment_receive(
        acting_user=user, amount=amount, location=location, patient=patient, **kwargs
    )


def rows() -> tuple[int, int]:
    return Payment.objects.count(), LedgerEntry.objects.count()


def test_payment_is_applied_oldest_date_of_service_first(desk, location, patient):
    newer = patient_charge(patient, "80.00", date_of_service=datetime.date(2026, 10, 5))
    older = patient_charge(patient, "100.00", date_of_service=datetime.date(2026, 9, 1))
    payment = receive(desk, location, patient, D("150.00"))
    assert charge_balance(older.pk, PATIENT) == D("0.00")
    assert charge_balance(newer.pk, PATIENT) == D("30.00")
    assert patient_balance(patient.pk) == D("30.00")
    credit = payment_credit(payment)
    assert credit.applied == D("150.00") and credit.unapplied == D("0.00")
    assert payment.receipt_number.startswith("RC")
    entries = list(payment.ledger_entries.order_by("pk"))
    assert [(e.charge_id, e.amount) for e in entries] == [
        (older.pk, D("-100.00")),
        (newer.pk, D("-50.00")),
    ]
    assert all(e.kind == LedgerEntry.Kind.PAYMENT and e.responsibility == PATIENT for e in entries)


def test_payment_beyond_what_is_owed_stays_as_unapplied_credit(desk, location, patient):
    patient_charge(patient, "40.00")
    payment = receive(desk, location, patient, D("100.00"))
    credit = payment_credit(payment)
    assert credit.applied == D("40.00")
    assert credit.unapplied == D("60.00")
    assert patient_unapplied_credit(patient.pk) == D("60.00")
    # The credit is on the ledger: the patient balance is the sum of the entries.
    assert patient_balance(patient.pk) == D("-60.00")


def test_payment_applied_by_hand(desk, location, patient):
    first = patient_charge(patient, "100.00", date_of_service=datetime.date(2026, 9, 1))
    second = patient_charge(patient, "100.00", date_of_service=datetime.date(2026, 10, 1))
    payment = receive(desk, location, patient, D("70.00"), allocation=[(second, D("50.00"))])
    assert charge_balance(first.pk, PATIENT) == D("100.00")
    assert charge_balance(second.pk, PATIENT) == D("50.00")
    assert payment_credit(payment).unapplied == D("20.00")


def test_payment_cannot_be_applied_beyond_a_charge_balance(desk, location, patient):
    charge = patient_charge(patient, "30.00")
    before = rows()
    with pytest.raises(ValidationError, match=r"more than the patient owes"):
        receive(desk, location, patient, D("50.00"), allocation=[(charge, D("50.00"))])
    assert rows() == before


def test_payment_cannot_be_applied_beyond_its_amount(desk, location, patient):
    first = patient_charge(patient, "100.00")
    second = patient_charge(patient, "100.00")
    before = rows()
    with pytest.raises(ValidationError, match=r"add up to 120.00, more than the 100.00"):
        receive(
            desk,
            location,
            patient,
            D("100.00"),
            allocation=[(first, D("60.00")), (second, D("60.00"))],
        )
    assert rows() == before


def test_payment_cannot_be_applied_to_another_patients_charge(desk, location, patient):
    other = patient_charge(factories.PatientFactory(), "30.00")
    before = rows()
    with pytest.raises(ValidationError, match="is not"):
        receive(desk, location, patient, D("10.00"), allocation=[(other, D("10.00"))])
    assert rows() == before


@pytest.mark.parametrize("amount", [D("0.00"), D("-5.00"), "", "abc"])
def test_payment_of_zero_negative_or_no_amount_is_refused(desk, location, patient, amount):
    patient_charge(patient, "30.00")
    before = rows()
    with pytest.raises(ValidationError) as error:
        receive(desk, location, patient, amount)
    assert "amount" in error.value.message_dict
    assert rows() == before


def test_payment_amount_with_fractions_of_a_cent_is_refused(desk, location, patient):
    with pytest.raises(ValidationError, match="2 decimal places"):
        receive(desk, location, patient, D("10.005"))
    with pytest.raises(TypeError):
        receive(desk, location, patient, 10.5)
    assert rows() == (0, 0)


def test_check_payment_needs_check_number_and_a_valid_routing_number(desk, location, patient):
    with pytest.raises(ValidationError) as error:
        receive(desk, location, patient, D("10.00"), method=Payment.Method.CHECK)
    assert set(error.value.message_dict) >= {"check_number", "routing_number"}
    with pytest.raises(ValidationError, match="check digit"):
        receive(
            desk,
            location,
            patient,
            D("10.00"),
            method=Payment.Method.CHECK,
            check_number="1001",
            routing_number="021000022",
        )
    payment = receive(
        desk,
        location,
        patient,
        D("10.00"),
        method=Payment.Method.CHECK,
        check_number="1001",
        routing_number=VALID_ROUTING_NUMBER,
    )
    assert payment.routing_number == VALID_ROUTING_NUMBER
    assert Payment.objects.count() == 1


def test_card_payment_needs_a_reference_and_never_stores_a_card_number(desk, location, patient):
    with pytest.raises(ValidationError, match="authorization code"):
        receive(desk, location, patient, D("10.00"), method=Payment.Method.CARD)
    with pytest.raises(ValidationError, match="Never record a card number"):
        receive(
            desk,
            location,
            patient,
            D("10.00"),
            method=Payment.Method.CARD,
            reference="4111 1111 1111 1111",
        )
    assert rows() == (0, 0)


def test_payment_received_in_the_future_is_refused(desk, location, patient):
    with pytest.raises(ValidationError, match="future"):
        receive(
            desk,
            location,
            patient,
            D("10.00"),
            received_on=timezone.localdate() + datetime.timedelta(days=1),
        )


def test_payment_records_who_where_and_an_audit_event(desk, location, patient):
    payment = receive(desk, location, patient, D("10.00"))
    assert payment.received_by == desk and payment.location == location
    event = AuditEvent.objects.get(name="payment_receive")
    assert event.user == desk and event.object_id == str(payment.pk)


def test_payer_payment_is_applied_in_full_to_that_payers_charges(desk, location):
    payer = factories.PayerFactory()
    patient = factories.PatientFactory()
    charge = patient_charge(patient, "100.00", responsibility="insurance", payer=payer)
    payment = payment_receive(
        acting_user=desk,
        amount=D("80.00"),
        method=Payment.Method.EFT,
        reference="TRN123",
        location=location,
        payer=payer,
    )
    entry = payment.ledger_entries.get()
    assert entry.responsibility == LedgerEntry.Responsibility.INSURANCE
    assert entry.payer == payer and entry.charge == charge
    assert charge_balance(charge.pk, LedgerEntry.Responsibility.INSURANCE) == D("20.00")


def test_payer_payment_larger_than_what_it_is_applied_to_is_refused(desk, location):
    payer = factories.PayerFactory()
    patient_charge(factories.PatientFactory(), "50.00", responsibility="insurance", payer=payer)
    before = rows()
    with pytest.raises(ValidationError, match="larger than what it is applied to"):
        payment_receive(
            acting_user=desk,
            amount=D("80.00"),
            method=Payment.Method.EFT,
            reference="TRN123",
            location=location,
            payer=payer,
        )
    assert rows() == before


def test_payment_comes_from_a_patient_or_a_payer_not_both(desk, location, patient):
    with pytest.raises(ValidationError, match="either a patient or a payer"):
        payment_receive(
            acting_user=desk,
            amount=D("10.00"),
            method="cash",
            location=location,
            patient=patient,
            payer=factories.PayerFactory(),
        )


def test_unapplied_credit_is_applied_later_without_moving_the_balance(desk, location, patient):
    payment = receive(desk, location, patient, D("100.00"))
    charge = patient_charge(patient, "70.00")
    assert patient_balance(patient.pk) == D("-30.00")
    payment_allocate(acting_user=desk, payment=payment)
    assert charge_balance(charge.pk, PATIENT) == D("0.00")
    assert patient_balance(patient.pk) == D("-30.00")
    credit = payment_credit(payment)
    assert (credit.applied, credit.unapplied) == (D("70.00"), D("30.00"))


def test_applying_credit_that_is_not_there_is_refused(desk, location, patient):
    patient_charge(patient, "100.00")
    payment = receive(desk, location, patient, D("40.00"))
    before = rows()
    with pytest.raises(ValidationError, match="no unapplied credit"):
        payment_allocate(acting_user=desk, payment=payment)
    assert rows() == before


def test_applying_credit_beyond_a_charge_balance_is_refused(desk, location, patient):
    payment = receive(desk, location, patient, D("100.00"))
    charge = patient_charge(patient, "10.00")
    before = rows()
    with pytest.raises(ValidationError, match="more than the patient owes"):
        payment_allocate(acting_user=desk, payment=payment, allocation=[(charge, D("20.00"))])
    assert rows() == before


def test_refund_pays_back_unapplied_credit(desk, location, patient):
    patient_charge(patient, "40.00")
    payment = receive(desk, location, patient, D("100.00"))
    entry = payment_refund(
        acting_user=desk, payment=payment, amount=D("25.00"), method="check", reason="Overpaid"
    )
    assert entry.kind == LedgerEntry.Kind.REFUND and entry.amount == D("25.00")
    credit = payment_credit(payment)
    assert (credit.applied, credit.unapplied, credit.refunded) == (
        D("40.00"),
        D("35.00"),
        D("25.00"),
    )
    assert credit.applied + credit.unapplied + credit.refunded == payment.amount
    assert patient_balance(patient.pk) == D("-35.00")
    assert AuditEvent.objects.filter(name="payment_refund").count() == 1


def test_refund_larger_than_the_credit_is_refused(desk, location, patient):
    patient_charge(patient, "40.00")
    payment = receive(desk, location, patient, D("100.00"))
    before = rows()
    with pytest.raises(ValidationError, match=r"larger than the unapplied credit"):
        payment_refund(
            acting_user=desk, payment=payment, amount=D("60.01"), method="check", reason="x"
        )
    with pytest.raises(ValidationError, match=r"more than 0\.00"):
        payment_refund(acting_user=desk, payment=payment, amount=D("0"), method="check", reason="x")
    with pytest.raises(ValidationError, match="why"):
        payment_refund(acting_user=desk, payment=payment, amount=D("5"), method="check", reason="")
    assert rows() == before


def test_refund_of_a_returned_check_is_refused(desk, location, patient):
    payment = receive(
        desk,
        location,
        patient,
        D("100.00"),
        method="check",
        check_number="77",
        routing_number=VALID_ROUTING_NUMBER,
    )
    payment_return_nsf(acting_user=desk, payment=payment)
    before = rows()
    with pytest.raises(ValidationError, match="returned unpaid"):
        payment_refund(acting_user=desk, payment=payment, amount=D("1"), method="check", reason="x")
    assert rows() == before


def test_write_off_without_a_managers_approval_is_refused(make_user, patient):
    biller = make_user("biller", two_factor_exempt=True)
    charge = patient_charge(patient, "100.00")
    before = rows()
    for approver in (None, biller):
        with pytest.raises(ValidationError, match="approval of a practice manager"):
            write_off(
                acting_user=biller,
                approver=approver,
                charge=charge,
                amount=D("10.00"),
                reason="Hardship",
            )
    assert rows() == before


def test_write_off_with_a_managers_approval_posts_and_records_the_approver(make_user, patient):
    biller = make_user("biller", two_factor_exempt=True)
    manager = make_user("manager", two_factor_exempt=True)
    charge = patient_charge(patient, "100.00")
    entry = write_off(
        acting_user=biller, approver=manager, charge=charge, amount=D("30.00"), reason="Hardship"
    )
    assert entry.kind == LedgerEntry.Kind.WRITE_OFF and entry.amount == D("-30.00")
    assert entry.approved_by == manager and entry.posted_by == biller
    assert charge_balance(charge.pk, PATIENT) == D("70.00")
    with pytest.raises(ValidationError, match=r"more than the patient owes"):
        write_off(
            acting_user=biller,
            approver=manager,
            charge=charge,
            amount=D("70.01"),
            reason="Hardship",
        )


def test_daily_close_totals_by_location_user_and_method(make_user, location, patient):
    desk = make_user("front_desk", two_factor_exempt=True, first_name="Ann", last_name="Desk")
    other_desk = make_user("front_desk", two_factor_exempt=True)
    other_location = factories.LocationFactory()
    day = timezone.localdate()
    receive(desk, location, patient, D("10.10"))
    receive(desk, location, patient, D("20.20"))
    check = receive(
        desk,
        location,
        patient,
        D("100.00"),
        method="check",
        check_number="501",
        routing_number=VALID_ROUTING_NUMBER,
    )
    receive(desk, location, patient, D("30.00"), method="card", reference="AUTH99")
    receive(other_desk, other_location, patient, D("5.00"))
    receive(desk, location, patient, D("99.00"), received_on=day - datetime.timedelta(days=1))
    payment_return_nsf(acting_user=desk, payment=check)

    close = daily_close(day)
    assert close.received_total == D("165.30")
    assert close.deposit_total == D("135.30")  # cash and checks; card settles apart
    assert [(row.method, row.count, row.total) for row in close.by_method] == [
        ("cash", 3, D("35.30")),
        ("check", 1, D("100.00")),
        ("card", 1, D("30.00")),
    ]
    assert [c.check_number for c in close.checks] == ["501"]
    assert [r.check_number for r in close.returned] == ["501"]
    assert close.returned_total == D("100.00")

    mine = daily_close(day, location_id=location.pk, user_id=desk.pk)
    assert mine.received_total == D("160.30")
    assert {(row.user, row.method, row.count) for row in mine.rows} == {
        ("Ann Desk", "cash", 2),
        ("Ann Desk", "check", 1),
        ("Ann Desk", "card", 1),
    }
