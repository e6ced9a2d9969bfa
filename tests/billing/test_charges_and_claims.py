import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from practicedesk.billing.models import Charge, Claim, LedgerEntry
from practicedesk.billing.selectors import claim_balance, insurance_balance, patient_balance
from practicedesk.billing.services import (
    ChargeLine,
    charge_reverse,
    charges_post,
    claim_create,
    claim_mark_ready,
    claim_scrub,
    claim_status_set,
    visit_diagnoses_set,
)
from practicedesk.patients.models import Patient

pytestmark = pytest.mark.django_db


def test_charges_are_priced_from_the_fee_schedule_in_force(billed_visit):
    amounts = sorted(charge.amount for charge in billed_visit.charges.all())
    assert amounts == [Decimal("15.00"), Decimal("165.00")]
    assert insurance_balance(billed_visit.patient_id) == Decimal("180.00")
    assert patient_balance(billed_visit.patient_id) == Decimal("0.00")


def test_a_posted_charge_cannot_be_changed(billed_visit):
    charge = billed_visit.charges.first()
    charge.units = 3
    with pytest.raises(ValidationError, match="reverse it"):
        charge.save()


def test_a_correction_is_a_reversal_and_the_balance_returns_exactly(billed_visit, make_user):
    charge = billed_visit.charges.get(service_code__code="36415")
    reversal = charge_reverse(acting_user=make_user("biller"), charge=charge, reason="Not done")
    assert reversal.amount == Decimal("-15.00")
    assert insurance_balance(billed_visit.patient_id) == Decimal("165.00")
    with pytest.raises(ValidationError, match="already reversed"):
        charge_reverse(acting_user=make_user("biller"), charge=charge, reason="again")
    entry = LedgerEntry.objects.filter(charge=charge).first()
    with pytest.raises(ValidationError, match="append-only"):
        entry.delete()


def test_diagnoses_must_be_real_billable_icd10_codes(checked_out_visit, make_user):
    user = make_user("biller")
    with pytest.raises(ValidationError, match="not an ICD-10-CM code"):
        visit_diagnoses_set(acting_user=user, appointment=checked_out_visit, codes=["XYZ.1"])
    with pytest.raises(ValidationError, match="category"):
        visit_diagnoses_set(acting_user=user, appointment=checked_out_visit, codes=["E11"])
    assert not checked_out_visit.diagnoses.exists()


def test_a_pointer_to_a_missing_diagnosis_posts_nothing(
    checked_out_visit, service_codes, make_user
):
    user = make_user("biller")
    visit_diagnoses_set(acting_user=user, appointment=checked_out_visit, codes=["I10"])
    with pytest.raises(ValidationError, match="pointer"):
        charges_post(
            acting_user=user,
            appointment=checked_out_visit,
            lines=[
                ChargeLine(service_codes["99213"], diagnosis_pointers=(1,)),
                ChargeLine(service_codes["36415"], diagnosis_pointers=(2,)),
            ],
        )
    assert not Charge.objects.exists()
    assert not LedgerEntry.objects.exists()


def test_a_charge_on_a_merged_patient_is_refused(checked_out_visit, service_codes, make_user):
    target = Patient.objects.create(
        mrn="X1",
        first_name="A",
        last_name="B",
        date_of_birth=datetime.date(1990, 1, 1),
        sex_at_birth="F",
        address_line1="1",
        city="C",
        state="IL",
        postal_code="62701",
    )
    Patient.objects.filter(pk=checked_out_visit.patient_id).update(
        status=Patient.Status.MERGED, merged_into=target
    )
    checked_out_visit.refresh_from_db()
    with pytest.raises(ValidationError, match="merged"):
        charges_post(
            acting_user=make_user("biller"),
            appointment=checked_out_visit,
            lines=[ChargeLine(service_codes["99213"])],
        )


def test_a_claim_takes_the_visit_charges_and_primary_coverage(billed_visit, make_user):
    claim = claim_create(acting_user=make_user("biller"), appointment=billed_visit)
    assert claim.total_charge == Decimal("180.00")
    assert claim.lines.count() == 2
    assert claim.payer.name == "Acme Health"
    assert claim_balance(claim) == Decimal("180.00")
    assert claim.status_changes.get().to_status == Claim.Status.DRAFT


def test_a_clean_claim_passes_the_scrubber_and_becomes_ready(billed_visit, make_user):
    claim = claim_create(acting_user=make_user("biller"), appointment=billed_visit)
    assert claim_scrub(claim) == []
    claim = claim_mark_ready(acting_user=make_user("biller"), claim=claim)
    assert claim.status == Claim.Status.READY


def test_the_scrubber_names_each_problem_in_plain_words(billed_visit, make_user):
    claim = claim_create(acting_user=make_user("biller"), appointment=billed_visit)
    coverage = claim.coverage
    coverage.end_date = claim.date_of_service - datetime.timedelta(days=1)
    coverage.relationship = coverage.Relationship.CHILD
    coverage.save()
    claim.payer.timely_filing_days = 1
    claim.payer.save()
    provider = claim.rendering_provider
    provider.npi = "1234567890"
    provider.save()
    problems = " | ".join(claim_scrub(claim))
    assert "not active" in problems
    assert "Subscriber name" in problems
    assert "timely filing" in problems
    assert "NPI 1234567890 is invalid" in problems
    with pytest.raises(ValidationError):
        claim_mark_ready(acting_user=make_user("biller"), claim=claim)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.DRAFT


def test_claim_status_follows_the_lifecycle(billed_visit, make_user):
    user = make_user("biller")
    claim = claim_create(acting_user=user, appointment=billed_visit)
    with pytest.raises(ValidationError, match="cannot become paid"):
        claim_status_set(acting_user=user, claim=claim, to_status=Claim.Status.PAID)
    claim = claim_mark_ready(acting_user=user, claim=claim)
    claim_status_set(acting_user=user, claim=claim, to_status=Claim.Status.SUBMITTED)
    claim.refresh_from_db()
    assert claim.first_submitted_at is not None
    assert [c.to_status for c in claim.status_changes.all()] == ["draft", "ready", "submitted"]


def test_a_secondary_claim_bills_what_the_primary_left_to_the_patient(billed_visit, make_user):
    from practicedesk.billing.ledger import entry_post, transfer_to_patient
    from practicedesk.billing.services import claim_secondary_create
    from tests import factories

    user = make_user("biller")
    factories.CoverageFactory(
        patient=billed_visit.patient, order=2, payer=factories.PayerFactory(name="Second Payer")
    )
    primary = claim_mark_ready(
        acting_user=user, claim=claim_create(acting_user=user, appointment=billed_visit)
    )
    claim_status_set(acting_user=user, claim=primary, to_status=Claim.Status.SUBMITTED)
    for line in primary.lines.select_related("charge"):
        entry_post(
            kind=LedgerEntry.Kind.PAYMENT,
            amount=-line.charge.amount * Decimal("0.8"),
            responsibility=LedgerEntry.Responsibility.INSURANCE,
            patient_id=line.charge.patient_id,
            charge=line.charge,
            claim=primary,
            payer=primary.payer,
        )
        transfer_to_patient(
            charge=line.charge,
            claim=primary,
            payer=primary.payer,
            amount=line.charge.amount * Decimal("0.2"),
        )
    claim_status_set(acting_user=user, claim=primary, to_status=Claim.Status.PAID)
    assert patient_balance(billed_visit.patient_id) == Decimal("36.00")
    secondary = claim_secondary_create(acting_user=user, primary=primary)
    assert secondary.payer.name == "Second Payer"
    assert claim_balance(secondary) == Decimal("36.00")
    assert claim_balance(primary) == Decimal("0.00")
    assert patient_balance(billed_visit.patient_id) == Decimal("0.00")


def test_reversing_a_charge_the_patient_paid_leaves_their_money_as_credit(make_user):
    from practicedesk.billing.selectors import payment_credit
    from practicedesk.billing.services import payment_receive
    from tests import factories

    charge = factories.patient_charge(amount="60.00")
    payment = payment_receive(
        acting_user=make_user("front_desk"),
        amount=Decimal("60.00"),
        method="cash",
        location=factories.LocationFactory(),
        patient=charge.patient,
    )
    assert patient_balance(charge.patient_id) == Decimal("0.00")
    charge_reverse(acting_user=make_user("biller"), charge=charge, reason="Billed in error")
    assert patient_balance(charge.patient_id) == Decimal("-60.00")
    assert payment_credit(payment).unapplied == Decimal("60.00")
