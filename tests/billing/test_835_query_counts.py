"""An 835 import runs a fixed number of queries, however many claims and lines it posts: the
claims, their balances and the payer's fees are read once, and each kind of row it writes
(remittance lines, ledger entries, reconciliation items, underpayments, status changes) is
written in one statement. A 10,000-line remittance must post in seconds (bench/run.py)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from practicedesk.billing.models import (
    Claim,
    ClaimStatusChange,
    Fee,
    FeeSchedule,
    LedgerEntry,
    RemittanceLine,
    Underpayment,
)
from practicedesk.billing.remittances import remittance_import
from practicedesk.billing.selectors import claim_balance, patient_balance
from practicedesk.billing.services import (
    ChargeLine,
    charges_post,
    claim_create,
    visit_diagnoses_set,
)
from practicedesk.core.models import AuditEvent
from practicedesk.scheduling.models import Appointment
from tests import factories
from tests.billing.x12_samples import Clp, Svc, remittance_835, submit

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def biller(make_user):
    return make_user("biller", two_factor_exempt=True)


@pytest.fixture
def acme(service_codes):
    """Acme Health, contracted at 120.00 for 99214 and 10.00 for 36415."""
    payer = factories.PayerFactory(name="Acme Health", payer_id="ACME1")
    schedule = FeeSchedule.objects.create(
        name="Acme contract", payer=payer, effective_from=datetime.date(2020, 1, 1)
    )
    for code, amount in (("99214", "120.00"), ("36415", "10.00")):
        Fee.objects.create(
            fee_schedule=schedule, service_code=service_codes[code], amount=D(amount)
        )
    return payer


@pytest.fixture
def make_claims(biller, service_codes, acme):
    """``count`` submitted claims to Acme, each of a visit last week with 99214 and 36415."""

    def make(count: int) -> list[Claim]:
        location = factories.LocationFactory()
        provider = factories.ProviderFactory(locations=[location])
        kind = factories.AppointmentTypeFactory()
        claims = []
        for number in range(count):
            coverage = factories.CoverageFactory(payer=acme)
            start = timezone.now().replace(microsecond=0) - datetime.timedelta(days=7, hours=number)
            visit = Appointment.objects.create(
                patient=coverage.patient,
                provider=provider,
                location=location,
                appointment_type=kind,
                coverage=coverage,
                start=start,
                end=start + datetime.timedelta(minutes=20),
                status=Appointment.Status.CHECKED_OUT,
                arrived_at=start,
                checked_out_at=start + datetime.timedelta(minutes=25),
            )
            visit_diagnoses_set(acting_user=biller, appointment=visit, codes=["I10"])
            charges_post(
                acting_user=biller,
                appointment=visit,
                lines=[ChargeLine(service_codes["99214"]), ChargeLine(service_codes["36415"])],
            )
            claims.append(submit(claim_create(acting_user=biller, appointment=visit), biller))
        return claims

    return make


def paid(claim: Claim) -> Clp:
    """Paid in full as contracted, with 20.00 coinsurance moved to the patient."""
    return Clp(
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
    )


def underpaid(claim: Claim) -> Clp:
    """99214 paid 90.00 of its contracted 120.00: an underpayment, and 30.00 still owed."""
    return Clp(
        claim.claim_number,
        "1",
        "180.00",
        "100.00",
        lines=[
            Svc("99214", "165.00", "90.00", adjustments=[("CO", "45", "45.00")], allowed="90.00"),
            Svc("36415", "15.00", "10.00", adjustments=[("CO", "45", "5.00")]),
        ],
    )


def denied(claim: Claim) -> Clp:
    return Clp(
        claim.claim_number,
        "4",
        "180.00",
        "0.00",
        lines=[
            Svc("99214", "165.00", "0.00", adjustments=[("CO", "50", "165.00")]),
            Svc("36415", "15.00", "0.00", adjustments=[("CO", "50", "15.00")]),
        ],
    )


def remittance_of(claims: list[Claim], trace: str) -> str:
    """Every third claim paid, underpaid and denied, in turn; plus one unknown claim."""
    answers = (paid, underpaid, denied)
    return remittance_835(
        *(answers[number % 3](claim) for number, claim in enumerate(claims)),
        Clp("NOTOURS1", "1", "90.00", "60.00"),
        trace=trace,
        service_date=claims[0].date_of_service,
    )


def import_counting(biller, text: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        remittance_import(acting_user=biller, content=text, filename="count.835")
    return len(queries)


def test_an_835_import_runs_the_same_queries_for_three_claims_or_twelve(make_claims, biller):
    few = import_counting(biller, remittance_of(make_claims(3), trace="FEW1"))
    claims = make_claims(12)
    many = import_counting(biller, remittance_of(claims, trace="MANY1"))

    assert few <= 30
    assert many <= few
    # All of it posted, as the per-line rules say.
    statuses = dict(Claim.objects.filter(pk__in=[c.pk for c in claims]).values_list("pk", "status"))
    expected = (Claim.Status.PAID, Claim.Status.PARTIALLY_PAID, Claim.Status.DENIED)
    assert [statuses[claim.pk] for claim in claims] == [expected[n % 3] for n in range(12)]
    assert claim_balance(claims[0]) == D("0.00")
    assert patient_balance(claims[0].patient_id) == D("20.00")
    assert claim_balance(claims[1]) == D("30.00")
    assert claim_balance(claims[2]) == D("180.00")
    assert Claim.objects.get(pk=claims[2].pk).denial_reason == "CO-50 not medically necessary"
    assert Underpayment.objects.filter(claim__in=claims).count() == 4
    changes = ClaimStatusChange.objects.filter(claim__in=claims, note__startswith="ERA MANY1")
    assert changes.count() == 12
    # One audit event says what the import wrote: the bulk writes send no model signals.
    event = AuditEvent.objects.filter(name="remittance_import").latest("pk")
    lines = RemittanceLine.objects.filter(remittance_id=event.object_id)
    entries = LedgerEntry.objects.filter(remittance_line__remittance_id=event.object_id)
    # 12 claims × 2 lines, and the unknown claim's; paid: 2 payments, 2 CO, a PR transfer
    # pair; underpaid: 2 payments, 2 CO; denied: nothing.
    assert lines.count() == 25 and entries.count() == 4 * (6 + 4 + 0)
    assert event.detail["written"] == {
        "remittance_lines": 25,
        "ledger_entries": 40,
        "reconciliation_items": 1,
        "underpayments": 4,
        "claim_status_changes": 12,
    }
