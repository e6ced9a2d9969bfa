"""Property tests of the ledger: whatever sequence of postings happens, every balance is the
sum of its entries, a reversal brings a balance back exactly, and entries never change."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from practicedesk.billing.ledger import entry_post, entry_reverse, transfer_to_patient
from practicedesk.billing.models import LedgerEntry
from practicedesk.billing.selectors import (
    charge_balance,
    insurance_balance,
    patient_balance,
    payer_balance,
)
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
        candidates = [
            e
            for e in self.entries
            if e.reverses_id is None and not LedgerEntry.objects.filter(reverses=e).exists()
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

    @invariant()
    def every_balance_is_the_sum_of_its_entries(self):
        assert insurance_balance(self.patient.pk) == self.expected[INSURANCE]
        assert patient_balance(self.patient.pk) == self.expected[PATIENT]
        assert payer_balance(self.payer.pk) == self.expected[INSURANCE]
        for (charge_id, responsibility), total in self.expected_by_charge.items():
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
