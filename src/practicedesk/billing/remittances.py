"""Posting an 835 remittance, and the queues it feeds (reconciliation, underpayments).

``remittance_import`` reads the file with ``x12.remittance835`` and posts it in one database
transaction: anything that goes wrong posts nothing. The rules, in the order they apply:

* **Once per file.** A transaction already imported from the same file (sha256, ST02), or a
  payment with the same payer, trace number, amount and date from a re-sent copy, posts
  nothing and reports when it was imported.
* **The payer** is the ``Payer`` whose payer id is one the file gives (N1*PR N104, REF*2U,
  TRN03) or whose name is N1*PR's name. If none is, but every claim of the transaction is a
  claim here and they are all billed to one payer, that payer is taken (the claims identify
  it) and the import says so. Otherwise the whole file is refused: posting money from a payer
  the practice does not know would put it on the wrong accounts.
* **Claims** are found by the patient control number they were sent with (CLP01 = our
  ``claim_number``), billed to the remitting payer, in a status a payer answers (submitted,
  accepted, paid, partially paid, denied, appealed). **Service lines** (SVC, or SVC06 when
  the payer changed the code) are matched, in order, to the claim's lines by procedure code
  and modifiers; an SVC without modifiers matches on the code alone.
* **Per service line**: the payment (−paid, insurance); each CAS adjustment with its group
  and reason: PR moves that amount to the patient's responsibility (``transfer_to_patient``),
  CO/PI/OA post an ADJUSTMENT; a negative CAS amount reverses an earlier adjustment and posts
  the opposite sign. Allowed is AMT*B6, or paid + patient responsibility without it. On a
  secondary or tertiary claim a CARC 23 adjustment (the prior payer's part) is kept on the
  remittance line but not posted: that money was posted from the prior payer's 835, and the
  later payer only ever owed what was billed to it.
* **Claim status**: CLP02 1/19 → paid, or partially paid while the payer still owes on the
  claim; 2/3/20/21 (processed as secondary or tertiary) → paid; 4 → denied, with the CARC
  reasons in ``denial_reason``. A denial posts its payment (normally none) but not its
  adjustments: the balance stays with the payer while the denial is appealed or written off.
  22 (reversal) reverses the ledger entries of the payment it reverses (the latest earlier
  remittance line of the same claim and charge paying the opposite amount); when there is no
  such posting here it posts the reversal's own negative amounts. A status change the claim's
  lifecycle does not allow becomes a reconciliation item; the money still posts.
* **Nothing is dropped.** A claim or line that matches nothing, a claim-level adjustment that
  names no line, a difference between a claim's payment and its lines, a provider-level
  adjustment (PLB): each becomes a ``ReconciliationItem`` with its amount. Every remittance
  line is recorded, matched or not.
* **Totals.** ``posted_total`` is what the transaction accounts for, Σ CLP04 − Σ PLB (posted
  to claims or held in reconciliation); it must equal BPR02 (signed: a debit is negative).
  When it does not, the import still posts and says by how much, and which claims do not
  balance (billed ≠ paid + adjustments, or lines ≠ claim).
* **Underpayments** (claims processed as primary, lines posted to a charge): the payer should
  have paid its contracted amount for the code on the date of service (``fee_in_force`` with
  the payer; × units; at most what was billed) minus the patient's responsibility. When it
  paid less by more than ``settings.UNDERPAYMENT_TOLERANCE`` the line goes to the
  underpayment queue with the difference. That covers both an allowed amount below contract
  and a payment below the payer's own allowed amount.
"""

import datetime
import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from practicedesk.billing.ledger import (
    entries_post,
    entry_new,
    entry_reverse,
    round_money,
    transfer_entries,
)
from practicedesk.billing.models import (
    ZERO,
    Claim,
    ClaimLine,
    ClaimStatusChange,
    LedgerEntry,
    ReconciliationItem,
    Remittance,
    RemittanceLine,
    Underpayment,
)
from practicedesk.billing.remittance_selectors import ContractedFees
from practicedesk.billing.selectors import claim_balances
from practicedesk.billing.services import claim_move_refused
from practicedesk.billing.x12.remittance835 import (
    ADJUSTMENT_GROUPS,
    Adjustment,
    ClaimPayment,
    RemittanceFileError,
    ServiceLine,
    Transaction835,
    parse_835,
)
from practicedesk.core.models import AuditEvent, User
from practicedesk.core.services import audit_event_record
from practicedesk.patients.models import Payer

Status = Claim.Status
Kind = LedgerEntry.Kind
INSURANCE = LedgerEntry.Responsibility.INSURANCE
PATIENT = LedgerEntry.Responsibility.PATIENT

# Claims in these states are with the payer, so a remittance about them can be posted.
POSTABLE_STATUSES = {
    Status.SUBMITTED,
    Status.ACCEPTED,
    Status.PAID,
    Status.PARTIALLY_PAID,
    Status.DENIED,
    Status.APPEALED,
}
PRIMARY_CODES = {"1", "19"}
SECONDARY_CODES = {"2", "3", "20", "21"}
DENIED_CODE = "4"
REVERSAL_CODE = "22"
# CARC 23, "the impact of prior payer(s) adjudication": on a secondary claim's 835 the
# earlier payer's payment and adjustments, which were posted from that payer's own 835.
PRIOR_PAYER_REASON = "23"
CLAIM_STATUS_CODES = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "19": "processed as primary, forwarded to another payer",
    "20": "processed as secondary, forwarded to another payer",
    "21": "processed as tertiary, forwarded to another payer",
    "22": "reversal of a previous payment",
    "23": "not our claim, forwarded to another payer",
    "25": "predetermination pricing only, no payment",
}
GROUPS = {
    "CO": "contractual obligation",
    "PR": "patient responsibility",
    "OA": "other adjustment",
    "PI": "payer-initiated reduction",
}
# Claim adjustment reason codes (X12 CARC) met most often in a physician practice.
CARC = {
    "1": "deductible",
    "2": "coinsurance",
    "3": "co-payment",
    "4": "procedure code inconsistent with the modifier",
    "16": "claim lacks information or has billing errors",
    "18": "exact duplicate claim or service",
    "22": "may be covered by another payer (coordination of benefits)",
    "23": "impact of prior payer's adjudication",
    "27": "expenses incurred after coverage terminated",
    "29": "time limit for filing has expired",
    "45": "charge exceeds fee schedule or contracted amount",
    "50": "not medically necessary",
    "96": "non-covered charge",
    "97": "included in the payment for another service",
    "109": "not covered by this payer",
    "119": "benefit maximum reached",
    "197": "precertification or authorization absent",
    "204": "not covered under the patient's current benefit plan",
    "242": "services not provided by network providers",
    "253": "sequestration (reduction in federal payment)",
}
# Provider-level adjustment reasons (PLB03-1) met most often.
PLB_REASONS = {
    "72": "authorized return",
    "90": "early payment allowance",
    "AP": "acceleration of benefits",
    "B2": "rebate",
    "BD": "bad debt adjustment",
    "CS": "adjustment",
    "CV": "capital passthrough",
    "FB": "forwarding balance",
    "IR": "IRS withholding",
    "J1": "nonreimbursable",
    "L6": "interest owed",
    "LE": "levy",
    "OB": "offset for affiliated providers",
    "WO": "overpayment recovery",
    "WU": "unspecified recovery",
}
MAX_LISTED = 50


def carc_text(group: str, reason: str) -> str:
    description = CARC.get(reason)
    return f"{group}-{reason} {description}" if description else f"{group}-{reason}"


def underpayment_tolerance() -> Decimal:
    return Decimal(str(getattr(settings, "UNDERPAYMENT_TOLERANCE", "0.50")))


@dataclass
class TransactionReport:
    """What one 835 transaction (one payment) did here."""

    control_number: str
    trace_number: str
    payer_name: str
    payment_amount: Decimal
    accounted_total: Decimal
    payment_date: datetime.date | None = None
    payer_found_by: str = ""
    remittance_id: int | None = None
    already_imported_on: datetime.date | None = None
    claims: int = 0
    claims_posted: int = 0
    lines_posted: int = 0
    denials: int = 0
    reversals: int = 0
    posted_to_claims: Decimal = ZERO
    held_for_reconciliation: Decimal = ZERO
    reconciliation_items: int = 0
    underpayments: int = 0
    discrepancies: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def difference(self) -> Decimal:
        """BPR02 minus what the claims and provider adjustments account for."""
        return self.payment_amount - self.accounted_total

    @property
    def balanced(self) -> bool:
        return self.difference == ZERO

    def summary(self) -> str:
        if self.already_imported_on:
            return (
                f"Payment {self.trace_number} ({self.payer_name}) was already imported on "
                f"{self.already_imported_on:%Y-%m-%d}; nothing posted."
            )
        text = (
            f"Payment {self.trace_number} from {self.payer_name}: {self.payment_amount}. "
            f"{self.claims_posted} of {self.claims} claims posted ({self.lines_posted} lines, "
            f"{self.posted_to_claims} paid)"
        )
        if self.denials:
            text += f", {self.denials} denied"
        if self.reversals:
            text += f", {self.reversals} reversed"
        if self.reconciliation_items:
            text += (
                f"; {self.reconciliation_items} items to reconcile "
                f"({self.held_for_reconciliation} held)"
            )
        if self.underpayments:
            text += f"; {self.underpayments} underpaid lines"
        text += "."
        if not self.balanced:
            text += f" {self.difference_text()}"
        return text

    def difference_text(self) -> str:
        if self.balanced:
            return f"The payment {self.payment_amount} equals what its claims account for."
        more = "more" if self.difference > ZERO else "less"
        return (
            f"The payment (BPR02) is {self.payment_amount} but its claims and provider "
            f"adjustments account for {self.accounted_total}: {abs(self.difference)} {more} "
            "was paid than the remittance explains."
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, Decimal):
                data[key] = str(value)
            elif isinstance(value, datetime.date):
                data[key] = value.isoformat()
        data["difference"] = str(self.difference)
        data["balanced"] = self.balanced
        data["summary"] = self.summary()
        data["discrepancies"] = self.discrepancies[:MAX_LISTED]
        data["skipped"] = self.skipped[:MAX_LISTED]
        return data


@dataclass
class ImportResult:
    filename: str
    sha256: str
    transactions: list[TransactionReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def already_imported(self) -> bool:
        return bool(self.transactions) and all(t.already_imported_on for t in self.transactions)

    @property
    def remittance_ids(self) -> list[int]:
        return [t.remittance_id for t in self.transactions if t.remittance_id]

    def summary(self) -> str:
        if self.already_imported:
            day = self.transactions[0].already_imported_on
            name = self.filename or "This file"
            return f"{name} was already imported on {day:%Y-%m-%d}; nothing posted."
        return " ".join(t.summary() for t in self.transactions)

    def as_dict(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "sha256": self.sha256,
            "summary": self.summary(),
            "already_imported": self.already_imported,
            "remittance_ids": self.remittance_ids,
            "transactions": [t.as_dict() for t in self.transactions],
            "warnings": self.warnings[:MAX_LISTED],
            "warnings_total": len(self.warnings),
        }


Progress = Callable[[int, int, str], None]


def remittance_import(
    *,
    acting_user: User | None,
    content: bytes | str,
    filename: str = "",
    progress: Progress | None = None,
) -> ImportResult:
    """Import an 835 file: every transaction posted, or (on any error) nothing at all.

    Raises ``RemittanceImportError`` (a ``ValidationError``) with the reason when the file is
    refused; its ``message`` is written for the biller.
    """
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    digest = hashlib.sha256(data).hexdigest()

    def report(current: int, total: int, message: str) -> None:
        if progress is not None:
            progress(current, total, message)

    try:
        report(0, 3, "Reading the file")
        parsed = parse_835(data)
        claims = sum(len(t.claims) for t in parsed.transactions)
        report(1, 3, f"Read {len(parsed.transactions)} payments with {claims} claims; posting")
        result = ImportResult(filename=filename, sha256=digest, warnings=list(parsed.warnings))
        try:
            with transaction.atomic():
                for txn in parsed.transactions:
                    poster = TransactionPoster(
                        txn=txn, sha256=digest, acting_user=acting_user, result=result
                    )
                    result.transactions.append(poster.post())
        except IntegrityError as error:
            # Another import of the same file committed between our check and our insert.
            raise RemittanceFileError(
                "This file was imported by someone else a moment ago; nothing was posted twice."
            ) from error
    except RemittanceFileError as error:
        audit_event_record(
            action=AuditEvent.Action.ACTION,
            user=acting_user,
            name="remittance_import_refused",
            detail={"filename": filename[:200], "sha256": digest, "reason": str(error)[:500]},
        )
        raise RemittanceImportError(str(error)) from error
    report(3, 3, result.summary()[:200])
    return result


class RemittanceImportError(ValidationError):
    """The file was refused; nothing was posted."""


class TransactionPoster:
    """Posts one 835 transaction inside the caller's database transaction.

    It reads what it needs up front (the claims and their lines, their balances, the payer's
    fees) and keeps what it writes (remittance lines, ledger entries, reconciliation items,
    underpayments, claim status changes) until ``flush`` writes each kind in one statement, so
    the queries do not grow with the lines of the file. Those writes send no model signals:
    the ``remittance_import`` audit event says what was written.
    """

    def __init__(
        self, *, txn: Transaction835, sha256: str, acting_user: User | None, result: ImportResult
    ):
        self.txn = txn
        self.sha256 = sha256
        self.acting_user = acting_user
        self.today = timezone.localdate()  # the day every entry of the payment is posted
        self.warnings = result.warnings
        self.report = TransactionReport(
            control_number=txn.control_number,
            trace_number=txn.trace_number,
            payer_name=txn.payer_name,
            payment_amount=txn.net_payment,
            accounted_total=txn.accounted_total,
            payment_date=txn.payment_date,
            claims=len(txn.claims),
        )
        self.remittance: Remittance | None = None
        self.claims: dict[str, Claim] = {}
        self.claim_lines: dict[int, list[ClaimLine]] = {}
        # Read before posting: each claim's balance, and the fees of its payer.
        self.balances: dict[int, Decimal] = {}
        self.fees: ContractedFees | None = None
        # What this transaction posted to payers, by (charge id, payer id): with ``balances``,
        # every claim's balance as it is now.
        self.posted_to_payers: dict[tuple[int, int], Decimal] = {}
        # Made, not yet written (see ``flush``).
        self.new_lines: list[RemittanceLine] = []
        self.new_entries: list[LedgerEntry] = []
        self.new_items: list[ReconciliationItem] = []
        self.new_underpayments: list[Underpayment] = []
        self.new_status_changes: list[ClaimStatusChange] = []
        self.changed_claims: dict[int, Claim] = {}
        self.written: dict[str, int] = {}

    # Set-up

    def post(self) -> TransactionReport:
        earlier = Remittance.objects.filter(
            file_sha256=self.sha256, transaction_control_number=self.txn.control_number
        ).first()
        if earlier is not None:
            self.report.already_imported_on = timezone.localdate(earlier.imported_at)
            self.report.remittance_id = earlier.pk
            return self.report
        self.load_claims()
        payer = self.identify_payer()
        self.report.payer_name = payer.name
        # A re-sent copy (other line endings, other envelope) is another file, the same payment.
        # Some payers send notification-only remittances with a zero trace number: not checked.
        resent = (
            Remittance.objects.filter(
                payer=payer,
                trace_number=self.txn.trace_number[:50],
                payment_amount=self.txn.net_payment,
                payment_date=self.txn.payment_date,
            ).first()
            if self.txn.trace_number.strip("0")
            else None
        )
        if resent is not None:
            self.report.already_imported_on = timezone.localdate(resent.imported_at)
            self.report.remittance_id = resent.pk
            self.warnings.append(
                f"Payment {self.txn.trace_number} from {payer.name} ({self.txn.net_payment}) "
                f"was imported on {self.report.already_imported_on:%Y-%m-%d} from another copy "
                "of this file; nothing posted again."
            )
            return self.report
        self.payer = payer
        self.load_balances_and_fees()
        self.remittance = Remittance(
            file_sha256=self.sha256,
            transaction_control_number=self.txn.control_number[:30],
            payer=payer,
            payer_name=(self.txn.payer_name or payer.name)[:120],
            payment_method=self.txn.payment_method[:3],
            payment_amount=self.txn.net_payment,
            payment_date=self.txn.payment_date,
            trace_number=self.txn.trace_number[:50],
            posted_total=self.txn.accounted_total,
            imported_by=self.acting_user,
        )
        self.remittance.full_clean(validate_constraints=False)
        self.remittance.save()
        self.report.remittance_id = self.remittance.pk
        for claim_payment in self.txn.claims:
            self.post_claim(claim_payment)
        for plb in self.txn.provider_adjustments:
            self.post_provider_adjustment(plb)
        self.check_totals()
        self.flush()
        audit_event_record(
            action=AuditEvent.Action.ACTION,
            user=self.acting_user,
            obj=self.remittance,
            name="remittance_import",
            # Not the skipped list: its descriptions may name patients; the items keep them.
            detail={
                **{k: v for k, v in self.report.as_dict().items() if k != "skipped"},
                "warnings": self.warnings[:MAX_LISTED],
                # Written in bulk, which django-auditlog does not see: this event is their
                # record. Each row names the remittance (entries through their remittance
                # line); each claim's status change is a ClaimStatusChange row.
                "written": self.written,
            },
        )
        return self.report

    def load_claims(self) -> None:
        numbers = {c.patient_control_number for c in self.txn.claims}
        claims = (
            Claim.objects.select_for_update(of=("self",))
            .filter(claim_number__in=numbers)
            .select_related("payer")
        )
        self.claims = {claim.claim_number: claim for claim in claims}
        lines = (
            ClaimLine.objects.filter(claim__in=self.claims.values())
            .select_related("charge__service_code", "charge__appointment")
            .order_by("claim_id", "line_number")
        )
        for line in lines:
            self.claim_lines.setdefault(line.claim_id, []).append(line)

    def load_balances_and_fees(self) -> None:
        """What the payer's claims owe before this payment, and the payer's fees for them."""
        claims = [claim for claim in self.claims.values() if claim.payer_id == self.payer.pk]
        self.balances = claim_balances(claims)
        lines = [line for claim in claims for line in self.claim_lines.get(claim.pk, ())]
        codes = {line.charge.service_code_id for line in lines}
        self.fees = ContractedFees(self.payer.pk, codes)

    def flush(self) -> None:
        """Write what was made since the last flush, one statement per kind of row."""
        RemittanceLine.objects.bulk_create(self.new_lines)
        entries_post(self.new_entries)
        ReconciliationItem.objects.bulk_create(self.new_items)
        Underpayment.objects.bulk_create(self.new_underpayments)
        ClaimStatusChange.objects.bulk_create(self.new_status_changes)
        changes: dict[tuple[str, str], list[int]] = {}
        for claim in self.changed_claims.values():
            changes.setdefault((claim.status, claim.denial_reason), []).append(claim.pk)
        for (status, denial_reason), ids in changes.items():
            Claim.objects.filter(pk__in=ids).update(status=status, denial_reason=denial_reason)
        made = {
            "remittance_lines": self.new_lines,
            "ledger_entries": self.new_entries,
            "reconciliation_items": self.new_items,
            "underpayments": self.new_underpayments,
            "claim_status_changes": self.new_status_changes,
        }
        for name, rows in made.items():
            self.written[name] = self.written.get(name, 0) + len(rows)
            rows.clear()
        self.changed_claims.clear()

    def post_entries(self, *entries: LedgerEntry, saved: bool = False) -> None:
        """Count entries into the claims' balances; keep them for ``flush`` unless ``saved``."""
        for entry in entries:
            if entry.responsibility == INSURANCE and entry.payer_id is not None:
                key = (entry.charge_id, entry.payer_id)
                self.posted_to_payers[key] = self.posted_to_payers.get(key, ZERO) + entry.amount
        if not saved:
            self.new_entries.extend(entries)

    def claim_balance(self, claim: Claim) -> Decimal:
        """``selectors.claim_balance`` of the claim, read before posting plus what was posted."""
        posted = sum(
            (
                self.posted_to_payers.get((line.charge_id, claim.payer_id), ZERO)
                for line in self.claim_lines.get(claim.pk, ())
            ),
            ZERO,
        )
        return self.balances[claim.pk] + posted

    def identify_payer(self) -> Payer:
        txn = self.txn
        identifiers = txn.identifiers
        if identifiers:
            query = Q()
            for value in identifiers:
                query |= Q(payer_id__iexact=value)
            by_id = {p.payer_id.upper(): p for p in Payer.objects.filter(query)}
            for value in identifiers:
                if value.upper() in by_id:
                    self.report.payer_found_by = f"payer id {value}"
                    return by_id[value.upper()]
        if txn.payer_name:
            payer = Payer.objects.filter(name__iexact=txn.payer_name.strip()).first()
            if payer is not None:
                self.report.payer_found_by = "name"
                return payer
        matched = [self.claims.get(c.patient_control_number) for c in txn.claims]
        payer_ids = {claim.payer_id for claim in matched if claim is not None}
        if txn.claims and all(matched) and len(payer_ids) == 1:
            payer = matched[0].payer
            self.report.payer_found_by = "its claims"
            self.warnings.append(
                f"Payer “{txn.payer_name}” (id {', '.join(identifiers) or 'none'}) is not in "
                f"the payer list; every claim of payment {txn.trace_number} is billed to "
                f"{payer.name}, so the payment is posted as {payer.name}'s. Add the payer id to "
                "the payer to avoid this warning."
            )
            return payer
        ids = ", ".join(identifiers) or "none given"
        raise RemittanceFileError(
            f"Unknown payer: “{txn.payer_name or '(no name)'}” (payer id {ids}) matches no "
            "payer here by payer id or name, and its claims do not identify one. Add the payer "
            "(or its payer id) and import the file again. Nothing was posted."
        )

    # Claims

    def hold(
        self, *, claim_number: str, description: str, amount: Decimal, money: bool = True
    ) -> ReconciliationItem:
        """Keep something that cannot be placed for a biller; ``money``: it is payment money."""
        item = ReconciliationItem(
            remittance=self.remittance,
            claim_number=claim_number[:40],
            description=description[:300],
            amount=amount,
        )
        self.new_items.append(item)
        self.report.reconciliation_items += 1
        if money:
            self.report.held_for_reconciliation += amount
        self.report.skipped.append(f"{claim_number or 'Remittance'}: {description}")
        return item

    def record_line(
        self,
        claim_payment: ClaimPayment,
        line: ServiceLine | None,
        *,
        claim: Claim | None = None,
        claim_line: ClaimLine | None = None,
    ) -> RemittanceLine:
        if line is None:
            adjustments = claim_payment.adjustments
            billed, paid = claim_payment.billed, claim_payment.paid
            allowed = None
            responsibility = claim_payment.patient_responsibility
            procedure, service_date = "", claim_payment.statement_from
        else:
            adjustments = line.adjustments
            billed, paid = line.billed, line.paid
            responsibility = line.patient_responsibility
            allowed = line.allowed if line.allowed is not None else paid + responsibility
            procedure = line.procedure_label
            service_date = line.service_date or claim_payment.statement_from
        if service_date is None and claim_line is not None:
            service_date = claim_line.charge.date_of_service
        remittance_line = RemittanceLine(
            remittance=self.remittance,
            claim_number=claim_payment.patient_control_number[:40],
            claim=claim,
            charge=claim_line.charge if claim_line is not None else None,
            claim_status_code=claim_payment.status_code[:3],
            procedure_code=procedure[:48],
            billed=billed,
            allowed=allowed,
            paid=paid,
            patient_responsibility=responsibility,
            adjustments=[adjustment.as_list() for adjustment in adjustments],
            service_date=service_date,
        )
        self.new_lines.append(remittance_line)
        return remittance_line

    def hold_claim(self, claim_payment: ClaimPayment, claim: Claim | None, reason: str) -> None:
        for line in claim_payment.lines or [None]:
            self.record_line(claim_payment, line, claim=claim)
        self.hold(
            claim_number=claim_payment.patient_control_number,
            description=f"{reason} The payer paid {claim_payment.paid} on it "
            f"(billed {claim_payment.billed}); nothing posted.",
            amount=claim_payment.paid,
        )

    def post_claim(self, claim_payment: ClaimPayment) -> None:
        number = claim_payment.patient_control_number
        code = claim_payment.status_code
        claim = self.claims.get(number)
        self.check_claim_balances(claim_payment)
        if claim is None:
            who = f" ({claim_payment.patient_name})" if claim_payment.patient_name else ""
            return self.hold_claim(
                claim_payment, None, f"No claim here has patient control number {number}{who}."
            )
        if claim.payer_id != self.payer.pk:
            return self.hold_claim(
                claim_payment,
                claim,
                f"Claim {number} is billed to {claim.payer.name}, not to {self.payer.name}.",
            )
        if claim.status not in POSTABLE_STATUSES:
            return self.hold_claim(
                claim_payment,
                claim,
                f"Claim {number} is {claim.get_status_display().lower()}, not with the payer.",
            )
        if code not in PRIMARY_CODES | SECONDARY_CODES | {DENIED_CODE, REVERSAL_CODE}:
            meaning = CLAIM_STATUS_CODES.get(code, "a status this importer does not post")
            return self.hold_claim(claim_payment, claim, f"Claim status {code} ({meaning}).")
        lines = claim_payment.lines
        claim_lines = self.claim_lines.get(claim.pk, [])
        claim_level_adjustments = claim_payment.adjustments
        if not lines:
            if len(claim_lines) != 1:
                return self.hold_claim(
                    claim_payment,
                    claim,
                    f"Claim {number} is paid as a whole, without service lines, and has "
                    f"{len(claim_lines)} lines here; post it by hand.",
                )
            # One line here: the claim-level payment is that line's.
            only = claim_lines[0].charge
            lines = [
                ServiceLine(
                    segment_number=claim_payment.segment_number,
                    qualifier="HC",
                    procedure_code=only.service_code.code,
                    modifiers=tuple(only.modifiers),
                    billed=claim_payment.billed,
                    paid=claim_payment.paid,
                    service_date=claim_payment.statement_from,
                    adjustments=list(claim_payment.adjustments),
                )
            ]
            claim_level_adjustments = []
        matches = match_lines(lines, claim_lines)
        if not any(claim_line for _line, claim_line in matches):
            codes = ", ".join(line.procedure_label for line in lines)
            return self.hold_claim(
                claim_payment,
                claim,
                f"None of its service lines ({codes}) matches a line of claim {number}.",
            )
        self.report.claims_posted += 1
        lines_paid = ZERO
        for line, claim_line in matches:
            lines_paid += line.paid
            if claim_line is None:
                self.record_line(claim_payment, line, claim=claim)
                self.hold(
                    claim_number=number,
                    description=f"Service line {line.procedure_label} (billed {line.billed}) "
                    f"matches no line of claim {number}; its payment {line.paid} is not posted.",
                    amount=line.paid,
                )
                continue
            remittance_line = self.record_line(
                claim_payment, line, claim=claim, claim_line=claim_line
            )
            self.post_line(claim_payment, claim, line, claim_line, remittance_line)
        if lines_paid != claim_payment.paid:
            difference = claim_payment.paid - lines_paid
            self.hold(
                claim_number=number,
                description=f"Claim {number} pays {claim_payment.paid} but its service lines "
                f"add up to {lines_paid}; {difference} is not on any line.",
                amount=difference,
            )
        if code != DENIED_CODE:
            for adjustment in claim_level_adjustments:
                self.hold(
                    claim_number=number,
                    description=f"Claim-level adjustment "
                    f"{carc_text(adjustment.group, adjustment.reason)} of {adjustment.amount} "
                    "names no service line; post it by hand.",
                    amount=adjustment.amount,
                    money=False,
                )
        self.set_status(claim_payment, claim)

    def post_line(
        self,
        claim_payment: ClaimPayment,
        claim: Claim,
        line: ServiceLine,
        claim_line: ClaimLine,
        remittance_line: RemittanceLine,
    ) -> None:
        charge = claim_line.charge
        self.report.lines_posted += 1
        self.report.posted_to_claims += line.paid
        links = {"charge": charge, "claim": claim, "remittance_line": remittance_line}
        memo = f"ERA {self.txn.trace_number}"[:200]
        if claim_payment.is_reversal and self.reverse_earlier(claim, charge, line, memo):
            return
        if line.paid != ZERO:
            self.post_entries(
                entry_new(
                    kind=Kind.PAYMENT,
                    amount=-line.paid,
                    responsibility=INSURANCE,
                    patient_id=charge.patient_id,
                    acting_user=self.acting_user,
                    posted_on=self.today,
                    payer=claim.payer,
                    memo=memo,
                    **links,
                )
            )
        if claim_payment.status_code == DENIED_CODE:
            return  # the denial is worked from the denial queue; its balance stays with the payer
        for adjustment in line.adjustments:
            if claim.payer_order > 1 and adjustment.reason == PRIOR_PAYER_REASON:
                continue  # the earlier payer's part, already posted from its own remittance
            self.post_adjustment(claim, charge, adjustment, links, memo)
        if claim_payment.status_code in PRIMARY_CODES:
            self.check_underpayment(claim, claim_line, remittance_line)

    def post_adjustment(
        self, claim: Claim, charge, adjustment: Adjustment, links: dict, memo: str
    ) -> None:
        if adjustment.amount == ZERO:
            return
        text = f"{memo} {carc_text(adjustment.group, adjustment.reason)}"[:200]
        codes = {"adjustment_group": adjustment.group, "adjustment_reason": adjustment.reason[:5]}
        if adjustment.group == "PR":
            self.post_entries(
                *transfer_entries(
                    charge=charge,
                    claim=claim,
                    payer=claim.payer,
                    amount=adjustment.amount,
                    to=PATIENT,
                    acting_user=self.acting_user,
                    posted_on=self.today,
                    memo=text,
                    remittance_line=links["remittance_line"],
                    **codes,
                )
            )
        elif adjustment.group in ADJUSTMENT_GROUPS:
            self.post_entries(
                entry_new(
                    kind=Kind.ADJUSTMENT,
                    amount=-adjustment.amount,
                    responsibility=INSURANCE,
                    patient_id=charge.patient_id,
                    acting_user=self.acting_user,
                    posted_on=self.today,
                    payer=claim.payer,
                    memo=text,
                    **codes,
                    **links,
                )
            )
        else:
            self.hold(
                claim_number=claim.claim_number,
                description=f"Adjustment {adjustment.code} of {adjustment.amount} on "
                f"{charge.service_code.code}: group {adjustment.group} is not CO, PR, OA or "
                "PI; not posted.",
                amount=adjustment.amount,
                money=False,
            )

    def reverse_earlier(self, claim: Claim, charge, line: ServiceLine, memo: str) -> bool:
        """Reverse the entries of the earlier posting this reversal line undoes, if found.

        Rare, so posted one by one: what was made before is written first, so that an earlier
        reversal in the same file counts.
        """
        self.flush()
        earlier_lines = (
            RemittanceLine.objects.filter(claim=claim, charge=charge, paid=-line.paid)
            .exclude(claim_status_code=REVERSAL_CODE)
            .exclude(remittance=self.remittance)
            .order_by("-pk")
        )
        for earlier in earlier_lines:
            entries = list(
                earlier.ledger_entries.filter(reverses__isnull=True, reversed_by__isnull=True)
            )
            if not entries and earlier.ledger_entries.exists():
                continue  # already reversed by an earlier reversal
            for entry in entries:
                reversal = entry_reverse(
                    entry=entry,
                    acting_user=self.acting_user,
                    memo=f"{memo}: payer reversed its payment (CLP02 22)",
                )
                self.post_entries(reversal, saved=True)
            return True
        self.warnings.append(
            f"Claim {claim.claim_number}: the reversal of {charge.service_code.code} "
            f"({line.paid}) matches no earlier posting here; its amounts are posted as sent."
        )
        return False

    def set_status(self, claim_payment: ClaimPayment, claim: Claim) -> None:
        code = claim_payment.status_code
        if code == REVERSAL_CODE:
            self.report.reversals += 1
            return  # the corrected claim that follows a reversal sets the status
        reason = ""
        if code == DENIED_CODE:
            self.report.denials += 1
            target = Status.DENIED
            reasons = dict.fromkeys(
                carc_text(a.group, a.reason) for a in claim_payment.all_adjustments
            )
            reason = "; ".join(reasons) or "denied (no reason code given)"
        elif code in SECONDARY_CODES:
            target = Status.PAID
        else:
            target = Status.PAID if self.claim_balance(claim) <= ZERO else Status.PARTIALLY_PAID
        note = f"ERA {self.txn.trace_number}: {CLAIM_STATUS_CODES.get(code, code)}"
        if claim.status != target:
            refused = claim_move_refused(claim, target)
            if refused:
                self.hold(
                    claim_number=claim.claim_number,
                    description=f"{refused} The remittance says "
                    f"“{CLAIM_STATUS_CODES.get(code, code)}”; the money is posted, check the "
                    "claim's status.",
                    amount=ZERO,
                    money=False,
                )
                return
            self.change_status(claim, target, note)
        if reason:
            claim.denial_reason = reason[:200]
            self.changed_claims[claim.pk] = claim

    def change_status(self, claim: Claim, to_status: str, note: str) -> None:
        """``services.claim_status_set`` for a move it allows (checked by the caller), written
        by ``flush`` with the other claims' changes."""
        self.new_status_changes.append(
            ClaimStatusChange(
                claim=claim,
                from_status=claim.status,
                to_status=to_status,
                by=self.acting_user,
                note=note[:300],
            )
        )
        claim.status = to_status
        self.changed_claims[claim.pk] = claim

    def check_underpayment(
        self, claim: Claim, claim_line: ClaimLine, remittance_line: RemittanceLine
    ) -> None:
        charge = claim_line.charge
        on = remittance_line.service_date or charge.date_of_service
        fee = self.fees.in_force(charge.service_code_id, on)
        if fee is None:
            return
        contracted = round_money(fee.amount * charge.units)
        expected = min(contracted, remittance_line.billed) - remittance_line.patient_responsibility
        difference = expected - remittance_line.paid
        if difference > underpayment_tolerance():
            underpayment = Underpayment(
                remittance_line=remittance_line,
                claim=claim,
                contracted=contracted,
                allowed=remittance_line.allowed if remittance_line.allowed is not None else ZERO,
                paid=remittance_line.paid,
                difference=difference,
            )
            self.new_underpayments.append(underpayment)
            self.report.underpayments += 1

    # Totals

    def check_claim_balances(self, claim_payment: ClaimPayment) -> None:
        number = claim_payment.patient_control_number
        adjusted = sum((a.amount for a in claim_payment.all_adjustments), ZERO)
        if claim_payment.billed != claim_payment.paid + adjusted:
            self.report.discrepancies.append(
                f"Claim {number}: billed {claim_payment.billed} ≠ paid {claim_payment.paid} + "
                f"adjustments {adjusted} (off by "
                f"{claim_payment.billed - claim_payment.paid - adjusted})."
            )
        for line in claim_payment.lines:
            line_adjusted = sum((a.amount for a in line.adjustments), ZERO)
            if line.billed != line.paid + line_adjusted:
                self.report.discrepancies.append(
                    f"Claim {number} line {line.procedure_label}: billed {line.billed} ≠ paid "
                    f"{line.paid} + adjustments {line_adjusted}."
                )
        if claim_payment.lines:
            lines_paid = sum((line.paid for line in claim_payment.lines), ZERO)
            if lines_paid != claim_payment.paid:
                self.report.discrepancies.append(
                    f"Claim {number}: pays {claim_payment.paid} but its lines pay {lines_paid}."
                )

    def post_provider_adjustment(self, plb) -> None:
        meaning = PLB_REASONS.get(plb.reason, "provider-level adjustment")
        effect = "taken from" if plb.amount > ZERO else "added to"
        reference = f" ref {plb.reference}" if plb.reference else ""
        self.hold(
            claim_number="",
            description=f"Provider-level adjustment {plb.reason} ({meaning}){reference} for "
            f"provider {plb.provider_id}: {abs(plb.amount)} {effect} the payment.",
            amount=-plb.amount,
        )

    def check_totals(self) -> None:
        accounted = self.report.posted_to_claims + self.report.held_for_reconciliation
        if accounted != self.txn.accounted_total:  # pragma: no cover - a bug, not bad input
            raise RuntimeError(
                f"Posting lost money: {accounted} posted or held, "
                f"{self.txn.accounted_total} in the file."
            )
        if not self.report.balanced:
            self.report.discrepancies.insert(0, self.report.difference_text())


def match_lines(
    lines: list[ServiceLine], claim_lines: list[ClaimLine]
) -> list[tuple[ServiceLine, ClaimLine | None]]:
    """Pair each SVC with the first unused claim line of the same code (and modifiers)."""
    unused = list(claim_lines)
    pairs = []
    for line in lines:
        code, modifiers = line.matching_code, line.matching_modifiers
        same_code = [cl for cl in unused if cl.charge.service_code.code == code]
        found = next((cl for cl in same_code if tuple(cl.charge.modifiers) == modifiers), None)
        if found is None and not modifiers and same_code:
            found = same_code[0]
        if found is not None:
            unused.remove(found)
        pairs.append((line, found))
    return pairs


# Queues


@transaction.atomic
def reconciliation_item_resolve(
    *, acting_user: User, item: ReconciliationItem, resolution: str
) -> ReconciliationItem:
    """Close a reconciliation item, saying what was done about it."""
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationError({"resolution": "Say how the item was resolved."})
    item = ReconciliationItem.objects.select_for_update().get(pk=item.pk)
    if item.status == ReconciliationItem.Status.RESOLVED:
        raise ValidationError("This item is already resolved.")
    item.status = ReconciliationItem.Status.RESOLVED
    item.resolution = resolution[:300]
    item.resolved_by = acting_user
    item.full_clean()
    item.save(update_fields=["status", "resolution", "resolved_by"])
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=item,
        name="reconciliation_item_resolve",
        detail={"resolution": item.resolution},
    )
    return item


@transaction.atomic
def underpayment_decide(
    *, acting_user: User, underpayment: Underpayment, decision: str, note: str = ""
) -> Underpayment:
    """Appeal an underpaid line to the payer, or accept what was paid."""
    if decision not in (Underpayment.Status.APPEALED, Underpayment.Status.ACCEPTED):
        raise ValidationError("Choose appeal or accept.")
    underpayment = Underpayment.objects.select_for_update().get(pk=underpayment.pk)
    if underpayment.status != Underpayment.Status.OPEN:
        raise ValidationError(
            f"This underpayment is already {underpayment.get_status_display().lower()}."
        )
    underpayment.status = decision
    underpayment.note = (note or "").strip()[:300]
    underpayment.decided_by = acting_user
    underpayment.decided_at = timezone.now()
    underpayment.full_clean()
    underpayment.save(update_fields=["status", "note", "decided_by", "decided_at"])
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=underpayment,
        name=f"underpayment_{'appeal' if decision == Underpayment.Status.APPEALED else 'accept'}",
        detail={"difference": str(underpayment.difference), "note": underpayment.note},
    )
    return underpayment
