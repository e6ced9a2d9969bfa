"""Posting to the ledger: the only code that writes LedgerEntry rows.

Every helper here appends entries; none updates one. Balances are sums (see selectors).
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from practicedesk.billing.models import ZERO, LedgerEntry
from practicedesk.billing.snapshots import receivables_changed

CENT = Decimal("0.01")
# What ``entries_post`` leaves to the database to check.
FOREIGN_KEYS = [field.name for field in LedgerEntry._meta.concrete_fields if field.is_relation]


def money(value) -> Decimal:
    """A Decimal with 2 places; floats are refused so binary rounding never enters."""
    if isinstance(value, float):
        raise TypeError("Money is never a float; pass a Decimal or a string.")
    amount = Decimal(value)
    if amount != amount.quantize(CENT):
        raise ValidationError(f"{value} has more than 2 decimal places.")
    return amount.quantize(CENT)


def round_money(value: Decimal) -> Decimal:
    """Round half-up to cents, for the rules that compute amounts (fee × units × percent)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def entry_post(
    *,
    kind: str,
    amount: Decimal,
    responsibility: str,
    patient_id: int,
    acting_user=None,
    posted_on: datetime.date | None = None,
    **links,
) -> LedgerEntry:
    entry = entry_new(
        kind=kind,
        amount=amount,
        responsibility=responsibility,
        patient_id=patient_id,
        acting_user=acting_user,
        posted_on=posted_on,
        **links,
    )
    entry.full_clean()
    entry.save()
    receivables_changed(entry.posted_on)
    return entry


def entry_new(
    *,
    kind: str,
    amount: Decimal,
    responsibility: str,
    patient_id: int,
    acting_user=None,
    posted_on: datetime.date | None = None,
    **links,
) -> LedgerEntry:
    """An entry ready to post, not saved: its amount checked, its place copied (``_place``).

    ``entry_post`` saves one at once; ``entries_post`` saves a batch of them.
    """
    amount = money(amount)
    if amount == ZERO and kind != LedgerEntry.Kind.TRANSFER:
        raise ValidationError("A ledger entry of 0.00 posts nothing.")
    entry = LedgerEntry(
        kind=kind,
        amount=amount,
        responsibility=responsibility,
        patient_id=patient_id,
        posted_by=acting_user,
        posted_on=posted_on or timezone.localdate(),
        **links,
    )
    _place(entry)
    return entry


def entries_post(entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """Post entries made by ``entry_new`` (or ``transfer_entries``) with one bulk INSERT.

    Each is validated as ``entry_post`` validates it, except that its foreign keys are not
    looked up one by one: the database refuses a missing row all the same. The related rows
    they name (a remittance line made in the same batch) must be saved first. No model signal
    is sent, so the caller records what it posted (an audit event of the business action).
    """
    for entry in entries:
        if entry.pk is not None:
            raise ValidationError("Ledger entries are append-only; post a reversal instead.")
        entry.full_clean(exclude=FOREIGN_KEYS, validate_constraints=False)
    LedgerEntry.objects.bulk_create(entries)
    if entries:
        receivables_changed(min(entry.posted_on for entry in entries))
    return entries


def _place(entry: LedgerEntry) -> None:
    """Copy onto the entry where its money belongs and the day its age counts from: its
    charge's visit location and date of service, else its payment's location and the day it
    is posted (a reversal is given its original's)."""
    if entry.charge_id is not None:
        charge = entry.charge
        entry.aged_from = entry.aged_from or charge.date_of_service
        if entry.location_id is None:
            entry.location_id = charge.appointment.location_id
        return
    entry.aged_from = entry.aged_from or entry.posted_on
    if entry.location_id is None and entry.payment_id is not None:
        entry.location_id = entry.payment.location_id


def entry_reverse(*, entry: LedgerEntry, acting_user=None, memo: str = "") -> LedgerEntry:
    """Post the exact opposite of ``entry``; an entry is reversed at most once."""
    if entry.reverses_id is not None:
        raise ValidationError("A reversal cannot itself be reversed; post a new entry instead.")
    if LedgerEntry.objects.filter(reverses=entry).exists():
        raise ValidationError("This entry has already been reversed.")
    return entry_post(
        kind=LedgerEntry.Kind.REVERSAL,
        amount=-entry.amount,
        responsibility=entry.responsibility,
        patient_id=entry.patient_id,
        acting_user=acting_user,
        charge=entry.charge,
        claim=entry.claim,
        payer=entry.payer,
        payment_id=entry.payment_id,
        reverses=entry,
        location_id=entry.location_id,
        aged_from=entry.aged_from,
        memo=memo or f"Reversal of {entry.get_kind_display().lower()}",
        adjustment_group=entry.adjustment_group,
        adjustment_reason=entry.adjustment_reason,
    )


def _transfer(
    *, charge, claim, payer, amount: Decimal, to: str, acting_user=None, memo: str = "", **links
) -> tuple[LedgerEntry, LedgerEntry]:
    """Move ``amount`` of a line between its payer and the patient: out of one, into the other."""
    pair = transfer_entries(
        charge=charge,
        claim=claim,
        payer=payer,
        amount=amount,
        to=to,
        acting_user=acting_user,
        memo=memo,
        **links,
    )
    for entry in pair:
        entry.full_clean()
        entry.save()
    receivables_changed(pair[0].posted_on)
    return pair


def transfer_entries(
    *, charge, claim, payer, amount: Decimal, to: str, acting_user=None, memo: str = "", **links
) -> tuple[LedgerEntry, LedgerEntry]:
    """The pair of entries (not saved) that moves ``amount`` of a line to ``to``'s side.

    The payer's side of the pair names ``payer``; the patient's side names no payer.
    """
    amount = money(amount)
    insurance, patient = LedgerEntry.Responsibility.INSURANCE, LedgerEntry.Responsibility.PATIENT
    source = insurance if to == patient else patient
    common = {
        "kind": LedgerEntry.Kind.TRANSFER,
        "patient_id": charge.patient_id,
        "charge": charge,
        "claim": claim,
        "acting_user": acting_user,
        "memo": memo,
        **links,
    }
    out = entry_new(
        amount=-amount,
        responsibility=source,
        payer=payer if source == insurance else None,
        **common,
    )
    into = entry_new(
        amount=amount, responsibility=to, payer=payer if to == insurance else None, **common
    )
    return out, into


def transfer_to_patient(
    *, charge, claim, payer, amount: Decimal, acting_user=None, memo: str = "", **links
) -> tuple[LedgerEntry, LedgerEntry]:
    """Move ``amount`` of a service line from the payer's responsibility to the patient's."""
    return _transfer(
        charge=charge,
        claim=claim,
        payer=payer,
        amount=amount,
        to=LedgerEntry.Responsibility.PATIENT,
        acting_user=acting_user,
        memo=memo,
        **links,
    )


def transfer_to_insurance(
    *, charge, claim, payer, amount: Decimal, acting_user=None, memo: str = ""
) -> tuple[LedgerEntry, LedgerEntry]:
    """Move ``amount`` of what the patient owes on a line to a (secondary) payer's claim."""
    return _transfer(
        charge=charge,
        claim=claim,
        payer=payer,
        amount=amount,
        to=LedgerEntry.Responsibility.INSURANCE,
        acting_user=acting_user,
        memo=memo,
    )
