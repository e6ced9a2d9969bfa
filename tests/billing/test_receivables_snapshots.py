"""Month-end A/R snapshots: the A/R read through them is, to the cent, the A/R summed from
every ledger entry — on the closed days, between them, per location, after a late posting."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from practicedesk.billing import receivables
from practicedesk.billing.ledger import entry_post, entry_reverse
from practicedesk.billing.models import LedgerEntry, ReceivablesSnapshot
from practicedesk.billing.snapshots import (
    month_ends,
    receivables_close,
    receivables_close_due,
    snapshot_before,
)
from tests import factories

pytestmark = pytest.mark.django_db

D = Decimal
KINDS = ("payment", "adjustment", "write_off")


def live(as_of, location_id=None) -> dict:
    """The A/R summed from every entry: what a snapshot must reproduce."""
    values = receivables.ar_entries(as_of, location_id).aggregate(**receivables.bucket_sums(as_of))
    return receivables.sums_added([values])


def through_snapshots(as_of, location_id=None) -> dict:
    parts = receivables.ar_parts(as_of, location_id)
    return receivables.sums_added(
        [part.aggregate(**receivables.bucket_sums(as_of)) for part in parts]
    )


def visit_charge(location, patient, amount, day, payer=None):
    appointment = factories.AppointmentFactory(location=location, patient=patient)
    charge = factories.ChargeFactory(
        appointment=appointment,
        patient=patient,
        amount=D(amount),
        unit_price=D(amount),
        date_of_service=day,
    )
    entry_post(
        kind="charge",
        amount=D(amount),
        responsibility="insurance" if payer else "patient",
        patient_id=patient.pk,
        charge=charge,
        payer=payer,
        posted_on=day,
    )
    return charge


def test_an_entry_carries_its_visit_location_and_date_of_service():
    location = factories.LocationFactory()
    patient = factories.PatientFactory()
    charge = visit_charge(location, patient, "80.00", datetime.date(2026, 8, 3))
    paid = entry_post(
        kind="payment",
        amount=D("-30.00"),
        responsibility="patient",
        patient_id=patient.pk,
        charge=charge,
        posted_on=datetime.date(2026, 9, 1),
    )
    assert (paid.location_id, paid.aged_from) == (location.pk, datetime.date(2026, 8, 3))
    elsewhere = factories.LocationFactory()
    payment = factories.PaymentFactory(patient=patient, location=elsewhere, amount=D("5.00"))
    credit = entry_post(
        kind="payment",
        amount=D("-5.00"),
        responsibility="patient",
        patient_id=patient.pk,
        payment=payment,
        posted_on=datetime.date(2026, 9, 2),
    )
    assert (credit.location_id, credit.aged_from) == (elsewhere.pk, datetime.date(2026, 9, 2))
    reversal = entry_reverse(entry=paid)
    assert (reversal.location_id, reversal.aged_from) == (paid.location_id, paid.aged_from)


def test_month_ends_are_the_last_days_of_each_month():
    assert month_ends(datetime.date(2026, 1, 15), datetime.date(2026, 4, 29)) == [
        datetime.date(2026, 1, 31),
        datetime.date(2026, 2, 28),
        datetime.date(2026, 3, 31),
    ]


def test_a_day_not_over_cannot_be_closed():
    with pytest.raises(ValidationError, match="once the day is over"):
        receivables_close(timezone.localdate())


def test_closing_is_incremental_and_idempotent():
    location = factories.LocationFactory()
    patient = factories.PatientFactory()
    payer = factories.PayerFactory()
    for month in (6, 7, 8):
        charge = visit_charge(location, patient, "100.00", datetime.date(2026, month, 10), payer)
        entry_post(
            kind="payment",
            amount=D("-100.00"),
            responsibility="insurance",
            patient_id=patient.pk,
            charge=charge,
            payer=payer,
            posted_on=datetime.date(2026, month, 28),
        )
    visit_charge(location, patient, "40.00", datetime.date(2026, 9, 5))
    closed = receivables_close_due()
    assert closed[0] == datetime.date(2026, 6, 30) and closed[-1] < timezone.localdate()
    assert receivables_close_due() == []
    september = ReceivablesSnapshot.objects.get(as_of=datetime.date(2026, 9, 30))
    assert september.entries == LedgerEntry.objects.filter(posted_on__lte=september.as_of).count()
    # Charges paid in full leave no row behind: only September's open 40.00 is kept.
    assert through_snapshots(september.as_of)["total"] == D("40.00")


def test_a_late_posting_drops_the_snapshots_it_falls_inside():
    location = factories.LocationFactory()
    patient = factories.PatientFactory()
    visit_charge(location, patient, "60.00", datetime.date(2026, 7, 1))
    receivables_close_due()
    assert snapshot_before(datetime.date(2026, 9, 30)).as_of == datetime.date(2026, 9, 30)
    visit_charge(location, patient, "25.00", datetime.date(2026, 8, 15))  # entered late
    assert snapshot_before(datetime.date(2026, 9, 30)).as_of == datetime.date(2026, 7, 31)
    assert through_snapshots(datetime.date(2026, 9, 30)) == live(datetime.date(2026, 9, 30))
    assert through_snapshots(datetime.date(2026, 9, 30))["total"] == D("85.00")


def test_a_posting_dated_today_costs_one_query_less_than_a_late_one():
    patient = factories.PatientFactory()
    payment = factories.PaymentFactory(patient=patient, amount=D("5.00"))
    with CaptureQueriesContext(connection) as today:
        entry_post(
            kind="payment",
            amount=D("-5.00"),
            responsibility="patient",
            patient_id=patient.pk,
            payment=payment,
        )
    with CaptureQueriesContext(connection) as late:
        entry_post(
            kind="payment",
            amount=D("-5.00"),
            responsibility="patient",
            patient_id=patient.pk,
            payment=payment,
            posted_on=timezone.localdate() - datetime.timedelta(days=3),
        )
    assert len(late) == len(today) + 1  # the look for stale snapshots


postings = st.lists(
    st.tuples(
        st.integers(0, 1),  # location
        st.integers(0, 200),  # day of service, from 2026-03-01
        st.integers(0, 120),  # days until it is paid or adjusted
        st.integers(1, 50_000),  # cents charged
        st.integers(0, 100),  # percent taken off
        st.sampled_from(KINDS),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(postings=postings, cut=st.integers(0, 5))
def test_aging_through_snapshots_equals_aging_from_every_entry(postings, cut):
    """Whatever was posted, on each month end and days between, per location and in all:
    the snapshots' A/R, bucket by bucket, is the A/R summed from the whole ledger."""
    ReceivablesSnapshot.objects.all().delete()
    locations = [factories.LocationFactory(), factories.LocationFactory()]
    patient = factories.PatientFactory()
    start = datetime.date(2026, 3, 1)
    for place, served, delay, cents, share, kind in postings:
        day = start + datetime.timedelta(days=served)
        charge = visit_charge(locations[place], patient, D(cents) / 100, day)
        taken = (D(cents) * share / 100).quantize(D(1)) / 100
        if taken:
            entry_post(
                kind=kind,
                amount=-taken,
                responsibility="patient",
                patient_id=patient.pk,
                charge=charge,
                posted_on=min(day + datetime.timedelta(days=delay), datetime.date(2026, 11, 1)),
            )
    closed = receivables_close_due()
    # Drop some snapshots, as late postings would, so reads start from an older one.
    for as_of in closed[len(closed) - cut :]:
        ReceivablesSnapshot.objects.filter(as_of=as_of).delete()
    days = [*closed, datetime.date(2026, 6, 17), datetime.date(2026, 10, 5)]
    for as_of in days:
        for location in (None, locations[0].pk, locations[1].pk):
            assert through_snapshots(as_of, location) == live(as_of, location), (as_of, location)
