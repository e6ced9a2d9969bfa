"""Property tests of the ledger: whatever sequence of postings happens, every balance is the
sum of its entries, a reversal brings a balance back exactly, and entries never change.

The machine also receives patient payments (applied oldest first, the rest held as credit),
applies credit later, refunds it, returns checks unpaid, writes balances off and pays plan
instalments: a payment is never applied beyond its amount, and its money is always applied,
held or refunded, to the cent."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from practicedesk.billing.ledger import entry_post, entry_reverse, transfer_to_patient
from practicedesk.billing.models import LedgerEntry, Payment, PaymentPlan
from practicedesk.billing.selectors import (
    balance,
    charge_balance,
    charges_owed_by_patient,
    credit_from_sums,
    insurance_balance,
    patient_balance,
    payer_balance,
    payment_credit,
    payment_sums,
    plan_paid_total,
    plan_schedule,
)
from practicedesk.billing.services import (
    payment_allocate,
    payment_plan_authorize,
    payment_plan_propose,
    payment_receive,
    payment_refund,
    payment_return_nsf,
    returned_check_fee,
    write_off,
)
from practicedesk.core.money import MoneySum
from practicedesk.core.roles import ROLES_BY_KEY
from practicedesk.patients.models import PatientAlert
from tests import factories

pytestmark = pytest.mark.django_db

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000.00"), places=2)
INSURANCE = LedgerEntry.Responsibility.INSURANCE
PATIENT = LedgerEntry.Responsibility.PATIENT


class LedgerMachine(RuleBasedStateMachine):
    """Charges, payer payments, adjustments, transfers, patient payments and reversals."""

    def __init__(self):
        super().__init__()
        self.patient = factories.PatientFactory()
        self.payer = factories.PayerFactory()
        self.charges = []
        self.expected = {INSURANCE: Decimal("0.00"), PATIENT: Decimal("0.00")}
        self.expected_by_charge = {}
        self.entries = []
        self.seen = 0
        self.location = factories.LocationFactory()
        self.desk = factories.UserFactory()
        self.manager = factories.UserFactory()
        self.manager.groups.add(Group.objects.get(name=ROLES_BY_KEY["manager"].name))
        self.plan = None
        self.payment_ids = []  # kept in memory: preconditions are evaluated at every step
        self.checks_received = []

    def post(self, *, kind, amount, responsibility, charge):
        entry = entry_post(
            kind=kind,
            amount=amount,
            responsibility=responsibility,
            patient_id=self.patient.pk,
            charge=charge,
            payer=self.payer if responsibility == INSURANCE else None,
        )
        self.track(entry)
        return entry

    def track(self, entry):
        self.expected[entry.responsibility] += entry.amount
        key = (entry.charge_id, entry.responsibility)
        self.expected_by_charge[key] = self.expected_by_charge.get(key, Decimal("0.00")) + (
            entry.amount
        )
        self.entries.append(entry)
        self.seen = max(self.seen, entry.pk)

    def track_new(self) -> list[LedgerEntry]:
        """Track the entries a service posted for this patient."""
        new = list(
            LedgerEntry.objects.filter(patient=self.patient, pk__gt=self.seen).order_by("pk")
        )
        for entry in new:
            self.track(entry)
        return new

    def rows(self) -> tuple[int, int]:
        return LedgerEntry.objects.count(), Payment.objects.count()

    @rule(amount=amounts)
    def post_charge(self, amount):
        charge = factories.ChargeFactory(patient=self.patient, amount=amount, unit_price=amount)
        self.charges.append(charge)
        self.post(
            kind=LedgerEntry.Kind.CHARGE, amount=amount, responsibility=INSURANCE, charge=charge
        )

    @precondition(lambda self: self.charges)
    @rule(
        data=st.data(),
        kind=st.sampled_from([LedgerEntry.Kind.PAYMENT, LedgerEntry.Kind.ADJUSTMENT]),
    )
    def payer_pays_or_adjusts_part(self, data, kind):
        charge = data.draw(st.sampled_from(self.charges))
        owed = charge_balance(charge.pk, INSURANCE)
        if owed <= 0:
            return
        amount = data.draw(st.decimals(min_value=Decimal("0.01"), max_value=owed, places=2))
        self.post(kind=kind, amount=-amount, responsibility=INSURANCE, charge=charge)
        assert charge_balance(charge.pk, INSURANCE) >= 0

    @precondition(lambda self: self.charges)
    @rule(data=st.data())
    def remainder_moves_to_the_patient(self, data):
        charge = data.draw(st.sampled_from(self.charges))
        owed = charge_balance(charge.pk, INSURANCE)
        if owed <= 0:
            return
        amount = data.draw(st.decimals(min_value=Decimal("0.01"), max_value=owed, places=2))
        for entry in transfer_to_patient(
            charge=charge, claim=None, payer=self.payer, amount=amount
        ):
            self.track(entry)

    @precondition(lambda self: self.charges)
    @rule(data=st.data())
    def patient_pays_part(self, data):
        charge = data.draw(st.sampled_from(self.charges))
        owed = charge_balance(charge.pk, PATIENT)
        if owed <= 0:
            return
        amount = data.draw(st.decimals(min_value=Decimal("0.01"), max_value=owed, places=2))
        self.post(
            kind=LedgerEntry.Kind.PAYMENT, amount=-amount, responsibility=PATIENT, charge=charge
        )

    @precondition(lambda self: any(e.reverses_id is None for e in self.entries))
    @rule(data=st.data())
    def an_entry_is_reversed_and_its_balance_returns_exactly(self, data):
        # A payment's entries are reversed only by returning its check (a rule below).
        candidates = [
            e
            for e in self.entries
            if e.reverses_id is None
            and e.payment_id is None
            and not LedgerEntry.objects.filter(reverses=e).exists()
        ]
        if not candidates:
            return
        entry = data.draw(st.sampled_from(candidates))
        before = charge_balance(entry.charge_id, entry.responsibility)
        reversal = entry_reverse(entry=entry)
        self.track(reversal)
        assert charge_balance(entry.charge_id, entry.responsibility) == before - entry.amount
        with pytest.raises(ValidationError):
            entry_reverse(entry=entry)

    # Payments, credit, refunds, returned checks, write-offs, plan instalments

    def receive(self, amount, *, plan=None):
        checks_refused = self.patient.alerts.filter(
            kind=PatientAlert.Kind.CHECKS_NOT_ACCEPTED, is_active=True
        ).exists()
        payment = payment_receive(
            acting_user=self.desk,
            amount=amount,
            method=Payment.Method.CASH if checks_refused else Payment.Method.CHECK,
            check_number="" if checks_refused else "1001",
            routing_number="" if checks_refused else factories.VALID_ROUTING_NUMBER,
            location=self.location,
            patient=self.patient,
            plan=plan,
        )
        self.payment_ids.append(payment.pk)
        if payment.method == Payment.Method.CHECK:
            self.checks_received.append(payment.pk)
        return payment

    @rule(amount=amounts)
    def patient_payment_is_applied_oldest_first(self, amount):
        owed = [(charge.pk, charge.owed) for charge in charges_owed_by_patient(self.patient.pk)]
        payment = self.receive(amount)
        self.track_new()
        left = amount
        for charge_id, before in owed:  # oldest first: each charge is paid off before the next
            paid = min(before, left)
            assert charge_balance(charge_id, PATIENT) == before - paid
            left -= paid
        assert payment_credit(payment).unapplied == left

    @precondition(lambda self: self.payment_ids)
    @rule(data=st.data())
    def credit_is_applied_later(self, data):
        payment = Payment.objects.get(pk=data.draw(st.sampled_from(self.payment_ids)))
        credit = payment_credit(payment).unapplied
        owed = patient_balance(self.patient.pk)
        if credit <= 0 or not charges_owed_by_patient(self.patient.pk):
            before = self.rows()
            with pytest.raises(ValidationError):
                payment_allocate(acting_user=self.desk, payment=payment)
            assert self.rows() == before
            return
        payment_allocate(acting_user=self.desk, payment=payment)
        self.track_new()
        assert patient_balance(self.patient.pk) == owed  # credit moves, the balance does not
        assert payment_credit(payment).unapplied < credit

    @precondition(lambda self: self.payment_ids)
    @rule(data=st.data())
    def credit_is_refunded_but_never_more_than_it(self, data):
        payment = Payment.objects.get(pk=data.draw(st.sampled_from(self.payment_ids)))
        credit = payment_credit(payment).unapplied
        amount = data.draw(st.decimals(min_value=Decimal("0.01"), max_value=credit + 10, places=2))
        if amount > credit or payment.status != Payment.Status.RECEIVED:
            before = self.rows()
            with pytest.raises(ValidationError):
                payment_refund(
                    acting_user=self.desk,
                    payment=payment,
                    amount=amount,
                    method="check",
                    reason="x",
                )
            assert self.rows() == before
            return
        payment_refund(
            acting_user=self.desk, payment=payment, amount=amount, method="check", reason="x"
        )
        self.track_new()
        assert payment_credit(payment).unapplied == credit - amount

    @precondition(lambda self: self.checks_received)
    @rule(data=st.data())
    def returned_check_is_reversed_exactly(self, data):
        payment = Payment.objects.get(pk=data.draw(st.sampled_from(self.checks_received)))
        self.checks_received.remove(payment.pk)
        before = patient_balance(self.patient.pk)
        held = balance(
            payment.ledger_entries.filter(kind=LedgerEntry.Kind.PAYMENT, reversed_by__isnull=True)
        )
        by_charge = {
            entry.charge_id: charge_balance(entry.charge_id, PATIENT)
            for entry in payment.ledger_entries.filter(charge__isnull=False)
        }
        payment_return_nsf(acting_user=self.desk, payment=payment)
        self.track_new()
        assert patient_balance(self.patient.pk) == before - held + returned_check_fee()
        for charge_id, owed in by_charge.items():
            paid = balance(
                payment.ledger_entries.filter(charge_id=charge_id, reverses__isnull=True)
            )
            assert charge_balance(charge_id, PATIENT) == owed - paid
        before_rows = self.rows()
        with pytest.raises(ValidationError):
            payment_return_nsf(acting_user=self.desk, payment=payment)
        assert self.rows() == before_rows

    @precondition(lambda self: self.charges)
    @rule(data=st.data(), approved=st.booleans())
    def balance_is_written_off_only_with_approval(self, data, approved):
        charge = data.draw(st.sampled_from(self.charges))
        owed = charge_balance(charge.pk, PATIENT)
        if owed <= 0:
            return
        amount = data.draw(st.decimals(min_value=Decimal("0.01"), max_value=owed, places=2))
        if not approved:
            before = self.rows()
            with pytest.raises(ValidationError):
                write_off(
                    acting_user=self.desk,
                    approver=self.desk,
                    charge=charge,
                    amount=amount,
                    reason="Hardship",
                )
            assert self.rows() == before
            return
        write_off(
            acting_user=self.desk,
            approver=self.manager,
            charge=charge,
            amount=amount,
            reason="Hardship",
        )
        self.track_new()
        assert charge_balance(charge.pk, PATIENT) == owed - amount

    @precondition(lambda self: self.expected[PATIENT] > 0)
    @rule()
    def plan_instalment_is_paid(self):
        live = self.plan is not None and self.plan.status in PaymentPlan.LIVE_STATUSES
        if not live:
            owed = patient_balance(self.patient.pk)
            if PaymentPlan.objects.filter(
                patient=self.patient, status__in=PaymentPlan.LIVE_STATUSES
            ).exists():
                return
            instalment = max((owed / 3).quantize(Decimal("0.01")), Decimal("0.01"))
            if owed / instalment > 100:
                return
            self.plan = payment_plan_propose(
                acting_user=self.desk,
                patient=self.patient,
                down_payment=Decimal("0.00"),
                instalment_amount=instalment,
                frequency=PaymentPlan.Frequency.MONTHLY,
                start_date=timezone.localdate(),
            )
            assert sum(self.plan.instalments.values_list("amount", flat=True)) == owed
            self.plan = payment_plan_authorize(acting_user=self.manager, plan=self.plan)
        if self.plan.status not in (PaymentPlan.Status.ACTIVE, PaymentPlan.Status.DELINQUENT):
            return
        due = next(line for line in plan_schedule(self.plan) if line.remaining > 0)
        self.receive(due.remaining, plan=self.plan)
        self.track_new()
        self.plan.refresh_from_db()
        paid = plan_paid_total(self.plan)
        assert sum(line.paid for line in plan_schedule(self.plan)) == min(paid, self.plan.total)

    @invariant()
    def a_payment_is_never_applied_beyond_its_amount(self):
        allocation = Q(
            ledger_entries__kind=LedgerEntry.Kind.PAYMENT, ledger_entries__charge__isnull=False
        )
        payments = Payment.objects.filter(patient=self.patient).annotate(
            allocated=MoneySum("ledger_entries__amount", filter=allocation),
            positive_allocations=Count(
                "ledger_entries", filter=allocation & Q(ledger_entries__amount__gte=0)
            ),
            **payment_sums("ledger_entries__"),
        )
        for payment in payments:  # one query for all of them
            assert payment.positive_allocations == 0
            assert -payment.allocated <= payment.amount
            credit = credit_from_sums(
                payment.status,
                payment.on_charges_sum,
                payment.on_account_sum,
                payment.refunded_sum,
            )
            if payment.status == Payment.Status.RECEIVED:
                assert credit.applied + credit.unapplied + credit.refunded == payment.amount
            else:
                assert credit.applied == 0 and credit.unapplied == 0

    @invariant()
    def every_balance_is_the_sum_of_its_entries(self):
        assert insurance_balance(self.patient.pk) == self.expected[INSURANCE]
        assert patient_balance(self.patient.pk) == self.expected[PATIENT]
        assert payer_balance(self.payer.pk) == self.expected[INSURANCE]
        for (charge_id, responsibility), total in self.expected_by_charge.items():
            if charge_id is not None:
                assert charge_balance(charge_id, responsibility) == total

    @invariant()
    def amounts_are_exact_cents(self):
        for entry in self.entries[-3:]:
            stored = LedgerEntry.objects.get(pk=entry.pk)
            assert stored.amount == stored.amount.quantize(Decimal("0.01"))


LedgerMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_ledger_balances_hold_under_any_sequence_of_postings(db):
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(LedgerMachine, settings=LedgerMachine.TestCase.settings)


def test_ledger_entries_cannot_be_edited_or_deleted(db):
    charge = factories.ChargeFactory()
    entry = entry_post(
        kind=LedgerEntry.Kind.CHARGE,
        amount=Decimal("10.00"),
        responsibility=PATIENT,
        patient_id=charge.patient_id,
        charge=charge,
    )
    entry.amount = Decimal("1.00")
    with pytest.raises(ValidationError, match="append-only"):
        entry.save()
    with pytest.raises(ValidationError, match="append-only"):
        entry.delete()
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("10.00")


def test_money_is_never_a_float(db):
    charge = factories.ChargeFactory()
    with pytest.raises(TypeError):
        entry_post(
            kind=LedgerEntry.Kind.CHARGE,
            amount=10.10,
            responsibility=PATIENT,
            patient_id=charge.patient_id,
            charge=charge,
        )
    with pytest.raises(ValidationError, match="2 decimal places"):
        entry_post(
            kind=LedgerEntry.Kind.CHARGE,
            amount=Decimal("10.105"),
            responsibility=PATIENT,
            patient_id=charge.patient_id,
            charge=charge,
        )
