"""Month-end A/R snapshots: the ledger summed once per closed month, so that the A/R on a day
is read from the snapshot before it plus the entries posted since, instead of every entry
ever posted (millions at a large group).

A snapshot is a copy, never the record: ``receivables_changed`` deletes the snapshots that an
entry dated on or before them makes stale, and ``receivables_close_due`` (a worker job, every
three hours) takes them again, each from the one before it plus the month's entries.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from practicedesk.billing.models import LedgerEntry, ReceivablesSnapshot, ReceivablesSnapshotRow

GROUPING = "location_id, responsibility, payer_id, aged_from"


def month_ends(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """The last day of each month from ``first``'s month, up to ``last`` (inclusive)."""
    ends = []
    day = first.replace(day=1)
    while True:
        following = (day + datetime.timedelta(days=32)).replace(day=1)
        end = following - datetime.timedelta(days=1)
        if end > last:
            return ends
        ends.append(end)
        day = following


def snapshot_before(as_of: datetime.date) -> ReceivablesSnapshot | None:
    """The latest snapshot taken at or before ``as_of``."""
    return ReceivablesSnapshot.objects.filter(as_of__lte=as_of).order_by("-as_of").first()


@transaction.atomic
def receivables_close(as_of: datetime.date) -> ReceivablesSnapshot:
    """Take the A/R snapshot at the end of ``as_of`` (a day that is over), replacing any.

    One INSERT … SELECT: the rows of the snapshot before it plus the entries posted since,
    summed by location, responsibility, payer and aging date; groups that net to zero (paid
    in full) are left out.
    """
    if as_of >= timezone.localdate():
        raise ValidationError(f"The A/R of {as_of} can be closed once the day is over.")
    ReceivablesSnapshot.objects.filter(as_of=as_of).delete()
    previous = snapshot_before(as_of)
    since = LedgerEntry.objects.filter(posted_on__lte=as_of)
    if previous is not None:
        since = since.filter(posted_on__gt=previous.as_of)
    snapshot = ReceivablesSnapshot.objects.create(
        as_of=as_of, entries=(previous.entries if previous else 0) + since.count()
    )
    rows, entries = ReceivablesSnapshotRow._meta.db_table, LedgerEntry._meta.db_table
    parts = [f"SELECT {GROUPING}, amount FROM {entries} WHERE posted_on <= %s"]  # noqa: S608
    params: list = [snapshot.pk, as_of]
    if previous is not None:
        parts[0] += " AND posted_on > %s"
        params.append(previous.as_of)
        parts.append(f"SELECT {GROUPING}, amount FROM {rows} WHERE snapshot_id = %s")  # noqa: S608
        params.append(previous.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {rows} (snapshot_id, {GROUPING}, amount) "  # noqa: S608
            f"SELECT %s, {GROUPING}, ROUND(SUM(amount), 2) "
            f"FROM ({' UNION ALL '.join(parts)}) parts GROUP BY {GROUPING} "
            "HAVING ROUND(SUM(amount), 2) <> 0",
            params,
        )
    return snapshot


def receivables_close_due(today: datetime.date | None = None) -> list[datetime.date]:
    """Close every month end since the first posting that has no snapshot (oldest first, so
    each is taken from the one before it); returns the days closed."""
    today = today or timezone.localdate()
    first = LedgerEntry.objects.order_by("posted_on").values_list("posted_on", flat=True).first()
    if first is None:
        return []
    closed = set(ReceivablesSnapshot.objects.values_list("as_of", flat=True))
    ends = month_ends(first, today - datetime.timedelta(days=1))
    due = [end for end in ends if end not in closed]
    for as_of in due:
        receivables_close(as_of)
    return due


def receivables_changed(posted_on: datetime.date) -> None:
    """An entry was posted on ``posted_on``: the snapshots it falls inside are stale."""
    if posted_on >= timezone.localdate():
        return
    stale = list(
        ReceivablesSnapshot.objects.filter(as_of__gte=posted_on).values_list("pk", flat=True)
    )
    if stale:
        ReceivablesSnapshotRow.objects.filter(snapshot_id__in=stale).delete()
        ReceivablesSnapshot.objects.filter(pk__in=stale).delete()
