"""Posting an 835 remittance against claims made here: payments, adjustments, patient
responsibility, denials, reversals, reconciliation, totals, and posting each file once."""

import datetime
from decimal import Decimal

import pytest

from practicedesk.billing.models import (
    Claim,
    LedgerEntry,
    ReconciliationItem,
    Remittance,
    RemittanceLine,
)
from practicedesk.billing.remittances import RemittanceImportError, remittance_import
from practicedesk.billing.selectors import claim_balance, insurance_balance, patient_balance
from practicedesk.billing.services import claim_create
from practicedesk.core.models import AuditEvent
from tests import factories
from tests.billing.x12_samples import Clp, Svc, remittance_835, submit

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def biller(make_user):
    return make_user("biller", two_factor_exempt=True)


@pytest.fixture
def claim(billed_visit, biller):
    """A submitted claim to Acme Health (ACME1): 99214 $165 and 36415 $15."""
    return submit(claim_create(acting_user=biller, appointment=billed_visit), biller)


def paid_in_part(claim: Claim, **options) -> str:
    """Acme allows 120 + 10, the patient owes 20 coinsurance, Acme pays 100 + 10."""
    return remittance_835(
        Clp(
            claim.claim_number,
            "1",
            "180.00",
            "110.00",
            "20.00",
            lines=[
                Svc(
                    "99214",
                    "165.00",
                    "100.00",
                    adjustments=[("CO", "45", "45.00"), ("PR", "2", "20.00")],
                    allowed="120.00",
                ),
                Svc("36415", "15.00", "10.00", adjustments=[("CO", "45", "5.00")]),
            ],
        ),
        **options,
    )


def row_counts() -> tuple[int, ...]:
    return (
        Remittance.objects.count(),
        RemittanceLine.objects.count(),
        LedgerEntry.objects.count(),
        ReconciliationItem.objects.count(),
    )


def test_a_payment_posts_payments_co_adjustments_and_moves_pr_to_the_patient(claim, biller):
    patient_id = claim.patient_id
    assert insurance_balance(patient_id) == D("180.00")

    result = remittance_import(acting_user=biller, content=paid_in_part(claim), filename="a.835")

    report = result.transactions[0]
    assert report.balanced and report.claims_posted == 1 and report.lines_posted == 2
    assert insurance_balance(patient_id) == D("0.00")
    assert patient_balance(patient_id) == D("20.00")
    assert claim_balance(claim) == D("0.00")
    claim.refresh_from_db()
    assert claim.status == Claim.Status.PAID
    payments = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT, claim=claim)
    assert sorted(p.amount for p in payments) == [D("-100.00"), D("-10.00")]
    assert all(p.payer_id == claim.payer_id and p.remittance_line_id for p in payments)
    adjustments = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ADJUSTMENT, claim=claim)
    assert sorted((a.adjustment_group, a.adjustment_reason, a.amount) for a in adjustments) == [
        ("CO", "45", D("-45.00")),
        ("CO", "45", D("-5.00")),
    ]
    transfers = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.TRANSFER, claim=claim)
    assert sorted((t.responsibility, t.amount) for t in transfers) == [
        ("insurance", D("-20.00")),
        ("patient", D("20.00")),
    ]
    assert {(t.adjustment_group, t.adjustment_reason) for t in transfers} == {("PR", "2")}
    line = RemittanceLine.objects.get(procedure_code="99214")
    assert (line.billed, line.allowed, line.paid, line.patient_responsibility) == (
        D("165.00"),
        D("120.00"),
        D("100.00"),
        D("20.00"),
    )
    assert line.adjustments == [["CO", "45", "45.00"], ["PR", "2", "20.00"]]
    assert line.charge.service_code.code == "99214" and line.claim_id == claim.pk
    # Without AMT*B6 the allowed amount is what the payer paid plus the patient's share.
    assert RemittanceLine.objects.get(procedure_code="36415").allowed == D("10.00")
    remittance = Remittance.objects.get()
    assert remittance.payment_amount == remittance.posted_total == D("110.00")
    assert remittance.payer_id == claim.payer_id
    assert AuditEvent.objects.filter(name="remittance_import", user=biller).exists()


def test_a_claim_with_an_insurance_balance_left_is_partially_paid(claim, biller):
    text = remittance_835(
        Clp(
            claim.claim_number,
            "1",
            "180.00",
            "100.00",
            lines=[Svc("99214", "165.00", "100.00", adjustments=[("CO", "45", "65.00")])],
        )
    )
    remittance_import(acting_user=biller, content=text)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.PARTIALLY_PAID
    assert claim_balance(claim) == D("15.00")


def test_a_denial_sets_the_claim_denied_with_its_reasons_and_keeps_the_balance(claim, biller):
    text = remittance_835(
        Clp(
            claim.claim_number,
            "4",
            "180.00",
            "0.00",
            lines=[
                Svc("99214", "165.00", "0.00", adjustments=[("CO", "50", "165.00")]),
                Svc("36415", "15.00", "0.00", adjustments=[("CO", "50", "15.00")]),
            ],
        )
    )
    result = remittance_import(acting_user=biller, content=text)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.DENIED
    assert claim.denial_reason == "CO-50 not medically necessary"
    assert result.transactions[0].denials == 1
    # The denial is appealed or written off from the denial queue: nothing is adjusted off.
    assert claim_balance(claim) == D("180.00")
    assert not LedgerEntry.objects.filter(claim=claim).exclude(kind="charge").exists()
    assert RemittanceLine.objects.filter(claim=claim, claim_status_code="4").count() == 2


def test_importing_the_same_file_twice_posts_nothing_the_second_time(claim, biller):
    text = paid_in_part(claim)
    remittance_import(acting_user=biller, content=text, filename="era.835")
    before = row_counts()
    again = remittance_import(acting_user=biller, content=text.encode(), filename="era.835")
    assert row_counts() == before
    assert again.already_imported
    assert "already imported on" in again.summary()
    assert patient_balance(claim.patient_id) == D("20.00")


def test_a_resent_copy_of_a_payment_is_recognised_by_its_trace_number(claim, biller):
    text = paid_in_part(claim)
    remittance_import(acting_user=biller, content=text)
    before = row_counts()
    copy = text.replace("~\n", "~\r\n")  # another file (other sha256), the same payment
    again = remittance_import(acting_user=biller, content=copy)
    assert row_counts() == before
    assert again.already_imported


def test_claims_and_lines_that_match_nothing_go_to_reconciliation_never_dropped(claim, biller):
    text = remittance_835(
        Clp(
            claim.claim_number,
            "1",
            "180.00",
            "150.00",
            lines=[
                Svc("99214", "165.00", "100.00", adjustments=[("CO", "45", "65.00")]),
                Svc("36415", "15.00", "10.00", adjustments=[("CO", "45", "5.00")]),
                Svc("99213", "110.00", "40.00", adjustments=[("CO", "45", "70.00")]),
            ],
        ),
        Clp("NOTOURS1", "1", "90.00", "60.00", lines=[Svc("99213", "90.00", "60.00")]),
    )
    result = remittance_import(acting_user=biller, content=text)
    report = result.transactions[0]
    items = {item.claim_number: item for item in ReconciliationItem.objects.all()}
    assert items["NOTOURS1"].amount == D("60.00")
    assert "No claim here has patient control number NOTOURS1" in items["NOTOURS1"].description
    assert items[claim.claim_number].amount == D("40.00")
    assert "99213" in items[claim.claim_number].description
    # Every service line is recorded, placed or not.
    assert RemittanceLine.objects.count() == 4
    assert RemittanceLine.objects.filter(charge__isnull=True).count() == 2
    assert report.posted_to_claims == D("110.00")
    assert report.held_for_reconciliation == D("100.00")
    assert report.balanced


def test_a_claim_billed_to_another_payer_or_not_yet_sent_is_held_not_posted(billed_visit, biller):
    draft = claim_create(acting_user=biller, appointment=billed_visit)
    text = remittance_835(Clp(draft.claim_number, "1", "180.00", "50.00"))
    remittance_import(acting_user=biller, content=text)
    item = ReconciliationItem.objects.get()
    assert "draft" in item.description and item.amount == D("50.00")
    assert not LedgerEntry.objects.exclude(kind="charge").exists()
    draft.refresh_from_db()
    assert draft.status == Claim.Status.DRAFT

    other = factories.PayerFactory(name="Other Health", payer_id="OTHER1")
    submit(draft, biller)
    text = remittance_835(
        Clp(draft.claim_number, "1", "180.00", "50.00"),
        payer_name="Other Health",
        payer_id=other.payer_id,
        trace="EFT0002",
    )
    remittance_import(acting_user=biller, content=text)
    assert ReconciliationItem.objects.filter(description__contains="billed to Acme").exists()
    assert not LedgerEntry.objects.exclude(kind="charge").exists()


def test_a_negative_cas_amount_reverses_an_earlier_adjustment(claim, biller):
    text = remittance_835(
        Clp(
            claim.claim_number,
            "1",
            "180.00",
            "185.00",
            lines=[
                Svc("99214", "165.00", "165.00"),
                Svc("36415", "15.00", "20.00", adjustments=[("CO", "45", "-5.00")]),
            ],
        )
    )
    remittance_import(acting_user=biller, content=text)
    adjustment = LedgerEntry.objects.get(kind=LedgerEntry.Kind.ADJUSTMENT)
    assert adjustment.amount == D("5.00")
    assert claim_balance(claim) == D("0.00")


def test_a_reversal_reverses_the_earlier_posting_and_a_corrected_claim_posts_anew(claim, biller):
    remittance_import(acting_user=biller, content=paid_in_part(claim))
    corrected = remittance_835(
        Clp(
            claim.claim_number,
            "22",
            "-180.00",
            "-110.00",
            "-20.00",
            lines=[
                Svc(
                    "99214",
                    "-165.00",
                    "-100.00",
                    adjustments=[("CO", "45", "-45.00"), ("PR", "2", "-20.00")],
                ),
                Svc("36415", "-15.00", "-10.00", adjustments=[("CO", "45", "-5.00")]),
            ],
        ),
        Clp(
            claim.claim_number,
            "1",
            "180.00",
            "130.00",
            lines=[
                Svc("99214", "165.00", "120.00", adjustments=[("CO", "45", "45.00")]),
                Svc("36415", "15.00", "10.00", adjustments=[("CO", "45", "5.00")]),
            ],
        ),
        trace="EFT0002",
    )
    result = remittance_import(acting_user=biller, content=corrected)
    assert result.transactions[0].reversals == 1
    reversals = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL)
    # Two payments, two CO adjustments and both legs of the PR transfer, each reversed once.
    assert reversals.count() == 6
    assert all(entry.reverses_id for entry in reversals)
    assert patient_balance(claim.patient_id) == D("0.00")
    assert claim_balance(claim) == D("0.00")
    paid = LedgerEntry.objects.filter(claim=claim, kind__in=["payment", "reversal"])
    assert sum(e.amount for e in paid if e.kind == "payment" or e.reverses.kind == "payment") == (
        D("-130.00")
    )
    claim.refresh_from_db()
    assert claim.status == Claim.Status.PAID


def test_a_provider_level_adjustment_is_held_and_counted_in_the_payment_check(claim, biller):
    text = paid_in_part(claim, plb=[("L6", "-2.50")])  # interest the payer adds
    result = remittance_import(acting_user=biller, content=text)
    report = result.transactions[0]
    assert report.payment_amount == D("112.50") and report.balanced
    item = ReconciliationItem.objects.get()
    assert item.amount == D("2.50") and item.claim_number == ""
    assert "L6 (interest owed)" in item.description


def test_a_payment_that_differs_from_its_claims_is_posted_and_the_difference_explained(
    claim, biller
):
    result = remittance_import(acting_user=biller, content=paid_in_part(claim, payment="120.00"))
    report = result.transactions[0]
    assert not report.balanced and report.difference == D("10.00")
    assert "120.00" in report.discrepancies[0] and "110.00" in report.discrepancies[0]
    assert "10.00 more was paid" in result.summary()
    assert insurance_balance(claim.patient_id) == D("0.00")  # posted all the same


def test_a_claim_whose_lines_do_not_add_up_says_which_claim_and_holds_the_rest(claim, biller):
    text = remittance_835(
        Clp(
            claim.claim_number,
            "1",
            "180.00",
            "115.00",
            lines=[
                Svc("99214", "165.00", "100.00", adjustments=[("CO", "45", "65.00")]),
                Svc("36415", "15.00", "10.00", adjustments=[("CO", "45", "5.00")]),
            ],
        )
    )
    report = remittance_import(acting_user=biller, content=text).transactions[0]
    assert any(claim.claim_number in line and "115.00" in line for line in report.discrepancies)
    item = ReconciliationItem.objects.get()
    assert item.amount == D("5.00") and "not on any line" in item.description
    assert report.balanced  # the 5.00 is held, not lost


def test_an_unknown_payer_is_refused_and_nothing_is_posted(claim, biller):
    before = row_counts()
    text = remittance_835(
        Clp("NOTOURS1", "1", "90.00", "60.00"), payer_name="Nobody Health", payer_id="NOPE9"
    )
    with pytest.raises(RemittanceImportError, match="Unknown payer: “Nobody Health”"):
        remittance_import(acting_user=biller, content=text)
    assert row_counts() == before
    assert AuditEvent.objects.filter(name="remittance_import_refused").exists()


def test_an_unknown_payer_is_taken_from_its_claims_when_they_all_name_one(claim, biller):
    text = paid_in_part(claim, payer_name="ACME HEALTH PLAN OF ILLINOIS", payer_id="77777")
    result = remittance_import(acting_user=biller, content=text)
    assert Remittance.objects.get().payer_id == claim.payer_id
    assert result.transactions[0].payer_found_by == "its claims"
    assert any("not in the payer list" in warning for warning in result.warnings)


def test_an_import_that_fails_part_way_leaves_no_partial_posting(claim, biller, monkeypatch):
    from practicedesk.billing import remittances

    calls = []

    def fail_on_second_line(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")

    monkeypatch.setattr(remittances.TransactionPoster, "check_underpayment", fail_on_second_line)
    before = row_counts()
    with pytest.raises(RuntimeError):
        remittance_import(acting_user=biller, content=paid_in_part(claim))
    assert row_counts() == before
    claim.refresh_from_db()
    assert claim.status == Claim.Status.SUBMITTED


def test_a_claim_paid_as_a_whole_posts_to_its_only_line(biller, checked_out_visit, service_codes):
    from practicedesk.billing.services import ChargeLine, charges_post, visit_diagnoses_set

    visit_diagnoses_set(acting_user=biller, appointment=checked_out_visit, codes=["I10"])
    charges_post(
        acting_user=biller,
        appointment=checked_out_visit,
        lines=[ChargeLine(service_codes["99213"])],
    )
    claim = submit(claim_create(acting_user=biller, appointment=checked_out_visit), biller)
    text = remittance_835(
        Clp(claim.claim_number, "1", "110.00", "80.00", adjustments=[("CO", "45", "30.00")])
    )
    remittance_import(acting_user=biller, content=text)
    line = RemittanceLine.objects.get()
    assert line.charge.service_code.code == "99213"
    assert claim_balance(claim) == D("0.00")
    assert not ReconciliationItem.objects.exists()


def test_service_dates_come_from_the_line(claim, biller):
    day = claim.date_of_service
    remittance_import(
        acting_user=biller,
        content=paid_in_part(claim, service_date=day, payment_date=day + datetime.timedelta(30)),
    )
    assert set(RemittanceLine.objects.values_list("service_date", flat=True)) == {day}


def test_a_secondary_payers_835_does_not_post_the_primary_payers_part_again(claim, biller):
    """The secondary 835 reports the full charge with the primary's part as OA-23; only its
    own payment posts, so no payer balance goes below zero."""
    from practicedesk.billing.services import claim_secondary_create

    second = factories.PayerFactory(name="Second Health", payer_id="SEC22")
    factories.CoverageFactory(patient=claim.patient, payer=second, order=2)
    remittance_import(acting_user=biller, content=paid_in_part(claim), filename="primary.835")
    assert patient_balance(claim.patient_id) == D("20.00")
    claim.refresh_from_db()
    secondary = submit(claim_secondary_create(acting_user=biller, primary=claim), biller)
    text = remittance_835(
        Clp(
            secondary.claim_number,
            "2",
            "180.00",
            "20.00",
            lines=[
                Svc("99214", "165.00", "20.00", adjustments=[("OA", "23", "145.00")]),
                Svc("36415", "15.00", "0.00", adjustments=[("OA", "23", "15.00")]),
            ],
        ),
        payer_name="Second Health",
        payer_id="SEC22",
        trace="SECOND1",
    )
    result = remittance_import(acting_user=biller, content=text, filename="secondary.835")
    assert result.transactions[0].balanced
    assert insurance_balance(claim.patient_id) == D("0.00")
    assert patient_balance(claim.patient_id) == D("0.00")
    assert claim_balance(secondary) == D("0.00")
    assert not LedgerEntry.objects.filter(adjustment_reason="23").exists()
    assert RemittanceLine.objects.filter(claim=secondary, procedure_code="99214").get().adjustments
    secondary.refresh_from_db()
    assert secondary.status == Claim.Status.PAID
