"""Real third-party 835 files, and bad input: each refused with a clear reason, nothing posted."""

from decimal import Decimal

import pytest

from practicedesk.billing.models import (
    LedgerEntry,
    ReconciliationItem,
    Remittance,
    RemittanceLine,
)
from practicedesk.billing.remittances import RemittanceImportError, remittance_import
from practicedesk.billing.x12.remittance835 import parse_835
from tests import factories
from tests.billing.x12_samples import SAMPLE_835_FILES, Clp, Svc, remittance_835, sample

pytestmark = pytest.mark.django_db

D = Decimal
# The payers the samples name, registered here so the samples' claims can be held.
SAMPLE_PAYERS = {
    "pyx12-835_mult_loops.835": "PAYER",
    "lfh-demo.835": "INSURANCE COMPANY OF TIMBUCKTU",
    "lfh-secondary-payment.835": "YOUR TAX DOLLARS AT WORK",
}


def row_counts() -> tuple[int, ...]:
    return (
        Remittance.objects.count(),
        RemittanceLine.objects.count(),
        LedgerEntry.objects.count(),
        ReconciliationItem.objects.count(),
    )


@pytest.mark.parametrize("name", SAMPLE_835_FILES)
def test_each_shared_sample_file_imports_its_claims_into_reconciliation_with_totals_explained(
    name, make_user
):
    content = sample(name)
    if content is None:
        pytest.skip(f"shared sample {name} not present")
    factories.PayerFactory(name=SAMPLE_PAYERS[name])
    parsed = parse_835(content)
    result = remittance_import(acting_user=make_user("biller"), content=content, filename=name)
    report = result.transactions[0]
    claims = parsed.transactions[0].claims
    # None of these claims is ours: each is held with its payment, none dropped.
    held = ReconciliationItem.objects.exclude(claim_number="")
    assert {item.claim_number for item in held} == {c.patient_control_number for c in claims}
    assert RemittanceLine.objects.count() == sum(max(1, len(c.lines)) for c in claims)
    assert not LedgerEntry.objects.exists()
    assert report.balanced, report.discrepancies
    assert report.held_for_reconciliation == report.payment_amount
    assert Remittance.objects.get().posted_total == report.payment_amount


def test_the_institutional_sample_keeps_its_provider_level_adjustment(make_user):
    content = sample("lfh-demo.835")
    if content is None:
        pytest.skip("shared sample not present")
    factories.PayerFactory(name="Timbuktu Insurance", payer_id="999")  # REF*2U identifies it
    result = remittance_import(acting_user=make_user("biller"), content=content)
    assert result.transactions[0].payer_found_by == "payer id 999"
    plb = ReconciliationItem.objects.get(claim_number="")
    assert plb.amount == D("1.27") and "CV (capital passthrough)" in plb.description


def test_a_composite_written_with_the_wrong_separator_is_read_and_reported(make_user):
    content = sample("lfh-secondary-payment.835")
    if content is None:
        pytest.skip("shared sample not present")
    parsed = parse_835(content)
    line = parsed.transactions[0].claims[1].lines[0]
    assert (line.procedure_code, line.modifiers, line.allowed) == ("12345", ("26",), D("150.00"))
    assert any("written with “>”" in warning for warning in parsed.warnings)


def test_a_denied_sample_claim_is_read_with_its_line_adjustments():
    content = sample("pyx12-835_mult_loops.835")
    if content is None:
        pytest.skip("shared sample not present")
    claim = parse_835(content).transactions[0].claims[0]
    assert claim.status_code == "4" and len(claim.lines) == 3
    assert [a.code for a in claim.all_adjustments] == ["CO-16", "OA-A7", "OA-A7"]


@pytest.fixture
def payer(db):
    return factories.PayerFactory(name="Acme Health", payer_id="ACME1")


def good_text() -> str:
    return remittance_835(
        Clp("NOTOURS1", "1", "100.00", "80.00", lines=[Svc("99213", "100.00", "80.00")])
    )


def assert_refused(content, match: str, user) -> None:
    before = row_counts()
    with pytest.raises(RemittanceImportError, match=match):
        remittance_import(acting_user=user, content=content, filename="bad.835")
    assert row_counts() == before


def test_a_truncated_file_is_refused_and_posts_nothing(payer, make_user):
    text = good_text()
    assert_refused(text[: len(text) * 2 // 3], "truncated", make_user("biller"))


def test_a_file_that_is_not_x12_is_refused_and_posts_nothing(payer, make_user):
    user = make_user("biller")
    assert_refused(b"Dear provider, please find your payment enclosed.", "not an X12", user)
    assert_refused(b"", "empty", user)
    assert_refused(b"ISA*00*short", "ISA", user)


def test_another_x12_transaction_is_refused_as_not_a_remittance(payer, make_user):
    content = sample("lfh-demo.example1.837")
    if content is None:
        pytest.skip("shared sample not present")
    assert_refused(content, r"not a remittance \(835\)", make_user("biller"))


def test_a_negative_payment_amount_is_refused_and_posts_nothing(payer, make_user):
    text = remittance_835(Clp("NOTOURS1", "1", "100.00", "80.00"), payment="-80.00")
    assert_refused(text, "payment amount .BPR02. is negative", make_user("biller"))


def test_a_negative_claim_payment_outside_a_reversal_is_refused(payer, make_user):
    text = remittance_835(Clp("NOTOURS1", "1", "100.00", "-80.00"), payment="0.00")
    assert_refused(text, "negative amount", make_user("biller"))


def test_a_malformed_claim_segment_is_refused_with_where_it_is(payer, make_user):
    user = make_user("biller")
    not_a_number = good_text().replace("CLP*NOTOURS1*1*100.00*80.00", "CLP*NOTOURS1*1*100.00*8O.00")
    assert_refused(not_a_number, r"segment \d+ \(CLP\).*“8O.00” is not a number", user)
    no_number = good_text().replace("CLP*NOTOURS1*", "CLP**")
    assert_refused(no_number, "no patient control number", user)
    three_decimals = good_text().replace("*80.00*", "*80.005*")
    assert_refused(three_decimals, "more than 2 decimal places", user)


def test_a_file_without_a_payment_segment_is_refused(payer, make_user):
    lines = [
        "REF*EV*RECEIVER" if line.startswith("BPR") else line for line in good_text().split("~\n")
    ]
    assert_refused("~\n".join(lines), r"no BPR \(payment\) segment", make_user("biller"))


def test_a_transaction_whose_trailer_count_is_wrong_is_refused(payer, make_user):
    text = good_text().replace("SE*", "SE*9", 1)
    assert_refused(text, "damaged", make_user("biller"))


def test_a_bad_date_is_read_with_a_warning(payer, make_user):
    text = good_text().replace("DTM*405*20261120", "DTM*405*20261340")
    result = remittance_import(acting_user=make_user("biller"), content=text)
    assert any("not a CCYYMMDD date" in warning for warning in result.warnings)
    assert Remittance.objects.count() == 1
