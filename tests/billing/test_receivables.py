"""A/R aging and the revenue-cycle figures, each checked on hand-made ledger data with the
exact expected value; each None (never 0) when the period has nothing to measure."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from practicedesk.billing import receivables
from practicedesk.billing.kpis import KPIS
from practicedesk.billing.ledger import entry_post
from practicedesk.billing.models import ClaimLine, ClaimStatusChange, LedgerEntry
from practicedesk.billing.selectors import balance
from tests import factories

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 10, 31)
NOVEMBER = (datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
EMPTY = (datetime.date(2019, 1, 1), datetime.date(2019, 1, 31))
D = Decimal


def day(month: int, number: int) -> datetime.date:
    return datetime.date(2026, month, number)


def post(charge, kind, amount, posted_on, responsibility="insurance", payer=None, **links):
    return entry_post(
        kind=kind,
        amount=D(amount),
        responsibility=responsibility,
        patient_id=charge.patient_id if charge else links.pop("patient").pk,
        charge=charge,
        payer=payer,
        posted_on=posted_on,
        **links,
    )


@pytest.fixture
def ledger(db):
    """Nine charges spread over the age buckets on 2026-10-31, a payer payment and a
    contractual adjustment, a patient payment on account, and a payment after the day."""
    acme = factories.PayerFactory(name="Acme Health")
    beta = factories.PayerFactory(name="Beta Care")
    first, second = factories.PatientFactory(), factories.PatientFactory()

    def charge(patient, amount, service, responsibility="patient", payer=None):
        return factories.patient_charge(
            patient, amount, date_of_service=service, responsibility=responsibility, payer=payer
        )

    charges = {
        "c1": charge(first, "100.00", day(10, 20), "insurance", acme),  # 11 days
        "c2": charge(first, "200.00", day(9, 15), "insurance", acme),  # 46 days
        "c3": charge(second, "50.00", day(8, 20)),  # 72 days
        "c4": charge(second, "80.00", day(7, 10), "insurance", beta),  # 113 days
        "c5": charge(second, "40.00", day(5, 1)),  # 183 days
        "c6": charge(first, "10.00", day(10, 1)),  # 30 days: still 0-30
        "c7": charge(first, "20.00", day(9, 30)),  # 31 days
        "c8": charge(second, "5.00", day(8, 2)),  # 90 days: still 61-90
        "c9": charge(second, "7.00", day(8, 1)),  # 91 days
    }
    post(charges["c2"], "payment", "-120.00", day(10, 10), payer=acme)
    post(charges["c2"], "adjustment", "-30.00", day(10, 10), payer=acme, adjustment_group="CO")
    post(charges["c1"], "payment", "-20.00", day(11, 5), payer=acme)  # after the day
    payment = factories.PaymentFactory(patient=first, amount=D("10.00"))
    post(None, "payment", "-10.00", day(10, 25), "patient", patient=first, payment=payment)
    return {"acme": acme, "beta": beta, "first": first, "second": second, **charges}


def test_aging_buckets_follow_the_date_of_service_at_the_boundaries(ledger):
    totals = receivables.aging_totals(AS_OF)
    assert totals.buckets == {
        "0_30": D("100.00"),
        "31_60": D("70.00"),
        "61_90": D("55.00"),
        "91_120": D("87.00"),
        "over_120": D("40.00"),
    }
    assert totals.total == D("352.00")


def test_aging_bucket_totals_tie_to_the_ledger_balances(ledger):
    totals = receivables.aging_totals(AS_OF)
    ledger_total = balance(LedgerEntry.objects.filter(posted_on__lte=AS_OF))
    assert sum(totals.amounts, D("0")) == totals.total == ledger_total
    by_payer = receivables.aging_by_payer(AS_OF)
    by_patient = receivables.aging_by_patient(AS_OF)
    assert by_payer.total.total == by_patient.total.total == ledger_total
    assert by_payer.total.buckets == by_patient.total.buckets == totals.buckets


def test_aging_by_payer_keeps_each_payer_and_the_patients_apart(ledger):
    rows = {row.label: row for row in receivables.aging_by_payer(AS_OF).rows}
    assert rows["Acme Health"].amounts == [D("100.00"), D("50.00"), 0, 0, 0]
    assert rows["Beta Care"].amounts == [0, 0, 0, D("80.00"), 0]
    assert rows["Patients"].amounts == [0, D("20.00"), D("55.00"), D("7.00"), D("40.00")]
    assert rows["Patients"].total == D("122.00")


def test_aging_by_patient_lists_the_accounts_owing_over_90_days(ledger):
    aging = receivables.aging_by_patient(AS_OF, over_90_only=True)
    assert [row.object_id for row in aging.rows] == [ledger["second"].pk]
    assert aging.rows[0].over_90 == D("127.00")
    assert aging.rows[0].url


def test_aging_by_first_claim_date_counts_from_when_the_charge_was_claimed(ledger):
    claim = factories.ClaimFactory(
        first_submitted_at=timezone.make_aware(datetime.datetime(2026, 10, 15, 12)),
        patient=ledger["second"],
    )
    ClaimLine.objects.create(claim=claim, charge=ledger["c4"], line_number=1)
    totals = receivables.aging_totals(AS_OF, basis="claim")
    assert totals.buckets["91_120"] == D("7.00")
    assert totals.buckets["0_30"] == D("180.00")
    assert totals.total == D("352.00")


def test_days_in_ar_and_share_over_90_days(ledger):
    # A/R 352.00; charges of the 90 days to Oct 31 (Aug 3 on): 100 + 200 + 50 + 10 + 20.
    assert receivables.days_in_ar(day(10, 1), AS_OF) == D("83.4")
    assert receivables.ar_over_90_share(day(10, 1), AS_OF) == D("36.08")


@pytest.fixture
def november(db):
    """Charges of 1000.00 in November, payments, a refund, a returned payment, CO."""
    acme = factories.PayerFactory(name="Acme Health")
    patient = factories.PatientFactory()
    first = factories.patient_charge(
        patient, "600.00", date_of_service=day(11, 2), responsibility="insurance", payer=acme
    )
    second = factories.patient_charge(patient, "400.00", date_of_service=day(11, 5))
    earlier = factories.patient_charge(patient, "50.00", date_of_service=day(9, 1))
    post(first, "payment", "-500.00", day(11, 12), payer=acme)
    post(first, "payment", "-10.00", day(11, 20), payer=acme)  # not the first payment
    post(first, "adjustment", "-150.00", day(11, 12), payer=acme, adjustment_group="CO")
    post(second, "payment", "-190.00", day(11, 25), "patient")
    returned = post(second, "payment", "-100.00", day(11, 26), "patient")
    post(second, "reversal", "100.00", day(11, 27), "patient", reverses=returned)
    payment = factories.PaymentFactory(patient=patient, amount=D("50.00"))
    post(None, "refund", "20.00", day(11, 28), "patient", patient=patient, payment=payment)
    post(earlier, "payment", "-50.00", day(10, 1), "patient")  # first paid in October
    return {"first": first, "second": second}


def test_net_and_gross_collection_rates(november):
    # Payments 500 + 10 + 190 + 100 - 100 (returned) - 20 (refunded) = 680.
    totals = receivables.collections(*NOVEMBER)
    assert totals == receivables.Collections(D("1000.00"), D("680.00"), D("150.00"))
    assert receivables.net_collection_rate(*NOVEMBER) == D("80.00")
    assert receivables.gross_collection_rate(*NOVEMBER) == D("68.00")


def test_average_days_to_payment_counts_each_charge_from_its_first_payment(november):
    # 600.00 on Nov 2 first paid Nov 12 (10 days); 400.00 on Nov 5 first paid Nov 25 (20).
    assert receivables.average_days_to_payment(*NOVEMBER) == D("15.0")


def at(month: int, number: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(2026, month, number, 12))


def history(claim, *steps):
    previous = ""
    for when, status in steps:
        change = ClaimStatusChange.objects.create(
            claim=claim, from_status=previous, to_status=status
        )
        ClaimStatusChange.objects.filter(pk=change.pk).update(at=when)
        previous = status


@pytest.fixture
def adjudications(db):
    claims = [factories.ClaimFactory() for _ in range(5)]
    history(claims[0], (at(11, 1), "submitted"), (at(11, 10), "paid"))
    history(
        claims[1],
        (at(11, 1), "submitted"),
        (at(11, 12), "denied"),
        (at(11, 14), "appealed"),
        (at(11, 20), "paid"),
    )
    history(
        claims[2],
        (at(11, 1), "submitted"),
        (at(11, 3), "rejected"),
        (at(11, 4), "draft"),
        (at(11, 5), "submitted"),
        (at(11, 15), "paid"),
    )
    history(claims[3], (at(11, 2), "submitted"), (at(11, 18), "partially_paid"))
    history(claims[4], (at(10, 2), "submitted"), (at(10, 20), "paid"))
    return claims


def test_denial_rate_counts_each_adjudicated_claim_once(adjudications):
    assert receivables.denial_rate(*NOVEMBER) == D("25.00")
    denied = receivables.denied_claims(*NOVEMBER)
    assert [record.label.split(":")[0] for record in denied] == [
        f"Claim {adjudications[1].claim_number}"
    ]


def test_first_pass_acceptance_excludes_claims_rejected_or_denied_first(adjudications):
    assert receivables.first_pass_acceptance_rate(*NOVEMBER) == D("50.00")
    assert receivables.first_pass_acceptance_rate(day(10, 1), day(10, 31)) == D("100.00")
    assert len(receivables.claims_not_first_pass(*NOVEMBER)) == 2


def test_every_figure_is_none_for_a_period_without_data(db):
    for kpi in KPIS:
        assert kpi.selector(*EMPTY) is None, kpi.key
