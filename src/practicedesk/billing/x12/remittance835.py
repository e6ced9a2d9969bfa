"""Read an ASC X12 005010X221A1 (835) remittance into plain dataclasses.

pyx12's ``X12Reader`` reads the interchange: it finds the element, component and segment
separators in the ISA header and checks the envelope (ST/SE, GS/GE, ISA/IEA pairs and
counts). This module only walks the segments it yields, by segment id, into the loops of the
835 (header, 1000A payer, 1000B payee, 2100 claim, 2110 service line, PLB), and converts
values: amounts to ``Decimal`` (never float), dates to ``datetime.date``.

What it refuses (``RemittanceFileError``, nothing is read): a file that is not X12, is not
an 835, is truncated (a transaction, group or interchange has no trailer), or has a segment
this importer cannot read safely (a claim without a patient control number, an amount that is
not a number, a negative payment outside a reversal). What it reads with a warning: anything
else unusual (an unknown segment, an odd date, a composite written with the wrong separator).
"""

import datetime
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import pyx12.errors
from pyx12.segment import Composite, Segment
from pyx12.x12file import X12Reader

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)$")
# Characters some payers use as the component separator whatever the ISA says.
STRAY_COMPONENT_SEPARATORS = (">", ":", "^", "\\")
ADJUSTMENT_GROUPS = ("CO", "PR", "OA", "PI")
REVERSAL_STATUS = "22"


class RemittanceFileError(ValueError):
    """The file cannot be read as an 835; the message says why, in plain words."""


@dataclass
class Adjustment:
    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None

    @property
    def code(self) -> str:
        return f"{self.group}-{self.reason}"

    def as_list(self) -> list[str]:
        return [self.group, self.reason, str(self.amount)]


@dataclass
class ServiceLine:
    """One 2110 loop: SVC and the DTM, CAS, REF, AMT and LQ segments that follow it."""

    segment_number: int
    qualifier: str
    procedure_code: str
    modifiers: tuple[str, ...]
    billed: Decimal
    paid: Decimal
    units: Decimal | None = None
    revenue_code: str = ""
    submitted_procedure_code: str = ""
    submitted_modifiers: tuple[str, ...] = ()
    service_date: datetime.date | None = None
    service_date_end: datetime.date | None = None
    allowed: Decimal | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    remark_codes: list[str] = field(default_factory=list)
    line_control_number: str = ""

    @property
    def matching_code(self) -> str:
        """The code as the practice sent it: SVC06 when the payer changed it, else SVC01."""
        return self.submitted_procedure_code or self.procedure_code

    @property
    def matching_modifiers(self) -> tuple[str, ...]:
        return self.submitted_modifiers if self.submitted_procedure_code else self.modifiers

    @property
    def procedure_label(self) -> str:
        return ":".join((self.procedure_code, *self.modifiers)) or self.revenue_code

    @property
    def patient_responsibility(self) -> Decimal:
        return sum((a.amount for a in self.adjustments if a.group == "PR"), ZERO)


@dataclass
class ClaimPayment:
    """One 2100 loop: CLP, its claim-level CAS, patient name, dates and its service lines."""

    segment_number: int
    patient_control_number: str
    status_code: str
    billed: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    filing_indicator: str = ""
    payer_claim_number: str = ""
    patient_name: str = ""
    statement_from: datetime.date | None = None
    statement_to: datetime.date | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    lines: list[ServiceLine] = field(default_factory=list)

    @property
    def is_reversal(self) -> bool:
        return self.status_code == REVERSAL_STATUS

    @property
    def all_adjustments(self) -> list[Adjustment]:
        return self.adjustments + [a for line in self.lines for a in line.adjustments]


@dataclass
class ProviderAdjustment:
    """One reason/amount pair of a PLB segment. A positive amount reduces the payment."""

    segment_number: int
    provider_id: str
    fiscal_period_end: datetime.date | None
    reason: str
    reference: str
    amount: Decimal


@dataclass
class Transaction835:
    """One ST..SE transaction: one payment (BPR/TRN) and the claims it explains."""

    control_number: str
    segment_number: int
    handling_code: str = ""
    payment_amount: Decimal | None = None
    credit_debit: str = "C"
    payment_method: str = ""
    payment_date: datetime.date | None = None
    trace_number: str = ""
    originator_id: str = ""
    production_date: datetime.date | None = None
    payer_name: str = ""
    payer_id_qualifier: str = ""
    payer_id: str = ""
    payer_reference_ids: list[str] = field(default_factory=list)
    payee_name: str = ""
    payee_id: str = ""
    claims: list[ClaimPayment] = field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment] = field(default_factory=list)
    closed: bool = False

    @property
    def net_payment(self) -> Decimal:
        """BPR02 signed: a debit (BPR03 D) takes money back from the practice."""
        amount = self.payment_amount or ZERO
        return -amount if self.credit_debit == "D" else amount

    @property
    def claims_paid(self) -> Decimal:
        return sum((claim.paid for claim in self.claims), ZERO)

    @property
    def provider_adjustment_total(self) -> Decimal:
        return sum((plb.amount for plb in self.provider_adjustments), ZERO)

    @property
    def accounted_total(self) -> Decimal:
        """What the claims and provider adjustments add up to: Σ CLP04 − Σ PLB amounts."""
        return self.claims_paid - self.provider_adjustment_total

    @property
    def identifiers(self) -> list[str]:
        """Every id this payer gave itself in the file, most specific first."""
        values = [self.payer_id, *self.payer_reference_ids, self.originator_id]
        if len(self.originator_id) == 10 and self.originator_id[0] in "123459":
            values.append(self.originator_id[1:])  # TRN03 is "1" + the payer's EIN
        return [value for value in dict.fromkeys(values) if value]


@dataclass
class Remittance835File:
    transactions: list[Transaction835]
    sender_id: str = ""
    receiver_id: str = ""
    interchange_control_number: str = ""
    warnings: list[str] = field(default_factory=list)


def decode(content: bytes | str) -> str:
    """X12 is ASCII; a file with other bytes (a name with an accent) is read as Latin-1."""
    if isinstance(content, str):
        return content
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("latin-1")


class _Reader:
    """Walks the segments once, keeping the loop it is in."""

    def __init__(self) -> None:
        self.transactions: list[Transaction835] = []
        self.warnings: list[str] = []
        self.transaction: Transaction835 | None = None
        self.claim: ClaimPayment | None = None
        self.line: ServiceLine | None = None
        self.party = ""  # "PR" after N1*PR, "PE" after N1*PE: which 1000 loop a REF is in
        self.number = 0
        self.subele_term = ":"
        self.header = {"sender_id": "", "receiver_id": "", "interchange_control_number": ""}

    # Values

    def where(self, seg: Segment) -> str:
        return f"segment {self.number} ({seg.get_seg_id()})"

    def value(self, seg: Segment, ref: str) -> str:
        return (seg.get_value(ref) or "").strip()

    def amount(self, seg: Segment, ref: str, *, label: str, required: bool = False) -> Decimal:
        text = self.value(seg, ref)
        if not text:
            if required:
                raise RemittanceFileError(f"{self.where(seg)}: the {label} ({ref}) is missing.")
            return ZERO
        if not NUMBER.match(text):
            raise RemittanceFileError(
                f"{self.where(seg)}: the {label} ({ref}) “{text}” is not a number."
            )
        value = Decimal(text)
        if value != value.quantize(CENT):
            raise RemittanceFileError(
                f"{self.where(seg)}: the {label} ({ref}) “{text}” has more than 2 decimal places."
            )
        return value.quantize(CENT)

    def quantity(self, seg: Segment, ref: str) -> Decimal | None:
        text = self.value(seg, ref)
        if not text:
            return None
        try:
            return Decimal(text) if NUMBER.match(text) else None
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            return None

    def date(self, seg: Segment, ref: str, *, label: str) -> datetime.date | None:
        text = self.value(seg, ref)
        if not text:
            return None
        try:
            return datetime.datetime.strptime(text, "%Y%m%d").date()
        except ValueError:
            self.warnings.append(
                f"{self.where(seg)}: the {label} “{text}” is not a CCYYMMDD date; ignored."
            )
            return None

    def composite(self, seg: Segment, ref: str) -> list[str]:
        """The components of a composite element (SVC01, SVC06, PLB03)."""
        element = seg.get(ref)
        if element is None:
            return []
        parts = [element[i].get_value() for i in range(len(element))]
        first = parts[0] if parts else ""
        if len(parts) == 1:
            for separator in STRAY_COMPONENT_SEPARATORS:
                if separator != self.subele_term and separator in first:
                    reread = Composite(first, separator)
                    parts = [reread[i].get_value() for i in range(len(reread))]
                    self.warnings.append(
                        f"{self.where(seg)}: {ref} is written with “{separator}” between its "
                        f"parts although the interchange declares “{self.subele_term}”; read "
                        f"as {' '.join(parts)}."
                    )
                    break
        return [part.strip() for part in parts]

    # Loops

    def require_transaction(self, seg: Segment) -> Transaction835:
        if self.transaction is None:
            raise RemittanceFileError(
                f"{self.where(seg)} is outside a transaction (no ST*835 before it)."
            )
        return self.transaction

    def close_claim(self) -> None:
        self.claim = None
        self.line = None

    def read(self, seg: Segment) -> None:
        handler = getattr(self, f"seg_{seg.get_seg_id()}", None)
        if handler is not None:
            handler(seg)

    def seg_ISA(self, seg: Segment) -> None:
        self.header["sender_id"] = self.value(seg, "ISA06")
        self.header["receiver_id"] = self.value(seg, "ISA08")
        self.header["interchange_control_number"] = self.value(seg, "ISA13")

    def seg_GS(self, seg: Segment) -> None:
        code = self.value(seg, "GS01")
        if code != "HP":
            raise RemittanceFileError(
                f"This is not a remittance (835): its functional group is “{code}”, "
                "not HP (health care claim payment)."
            )
        version = self.value(seg, "GS08")
        if not version.startswith("005010X221"):
            self.warnings.append(
                f"{self.where(seg)}: version {version or '(none)'} is not 005010X221A1; read as "
                "005010X221A1."
            )

    def seg_ST(self, seg: Segment) -> None:
        if self.transaction is not None and not self.transaction.closed:
            raise RemittanceFileError(
                f"{self.where(seg)}: transaction {self.transaction.control_number} has no SE "
                "trailer before the next ST."
            )
        code = self.value(seg, "ST01")
        if code != "835":
            raise RemittanceFileError(
                f"This is not a remittance (835): transaction {self.value(seg, 'ST02')} is a "
                f"{code or 'transaction without a type'}."
            )
        control = self.value(seg, "ST02")
        if not control:
            raise RemittanceFileError(f"{self.where(seg)}: the transaction has no control number.")
        self.transaction = Transaction835(control_number=control, segment_number=self.number)
        self.transactions.append(self.transaction)
        self.party = ""
        self.close_claim()

    def seg_BPR(self, seg: Segment) -> None:
        txn = self.require_transaction(seg)
        txn.handling_code = self.value(seg, "BPR01")
        txn.payment_amount = self.amount(seg, "BPR02", label="payment amount", required=True)
        if txn.payment_amount < ZERO:
            raise RemittanceFileError(
                f"{self.where(seg)}: the payment amount (BPR02) is negative "
                f"({txn.payment_amount}); an 835 states it as a positive amount with BPR03 "
                "saying credit or debit."
            )
        txn.credit_debit = self.value(seg, "BPR03") or "C"
        if txn.credit_debit not in ("C", "D"):
            raise RemittanceFileError(
                f"{self.where(seg)}: BPR03 “{txn.credit_debit}” is neither C (credit) nor D "
                "(debit)."
            )
        txn.payment_method = self.value(seg, "BPR04")[:3]
        txn.payment_date = self.date(seg, "BPR16", label="payment date (BPR16)")

    def seg_TRN(self, seg: Segment) -> None:
        txn = self.require_transaction(seg)
        if not txn.trace_number:
            txn.trace_number = self.value(seg, "TRN02")
            txn.originator_id = self.value(seg, "TRN03")

    def seg_DTM(self, seg: Segment) -> None:
        qualifier = self.value(seg, "DTM01")
        if self.line is not None:
            if qualifier in ("472", "150"):
                self.line.service_date = self.date(seg, "DTM02", label="service date")
            elif qualifier == "151":
                self.line.service_date_end = self.date(seg, "DTM02", label="service end date")
        elif self.claim is not None:
            if qualifier == "232":
                self.claim.statement_from = self.date(seg, "DTM02", label="statement start")
            elif qualifier == "233":
                self.claim.statement_to = self.date(seg, "DTM02", label="statement end")
        elif self.transaction is not None and qualifier == "405":
            self.transaction.production_date = self.date(seg, "DTM02", label="production date")

    def seg_N1(self, seg: Segment) -> None:
        txn = self.require_transaction(seg)
        self.party = self.value(seg, "N101")
        if self.party == "PR":
            txn.payer_name = self.value(seg, "N102")
            txn.payer_id_qualifier = self.value(seg, "N103")
            txn.payer_id = self.value(seg, "N104")
        elif self.party == "PE":
            txn.payee_name = self.value(seg, "N102")
            txn.payee_id = self.value(seg, "N104")

    def seg_REF(self, seg: Segment) -> None:
        qualifier = self.value(seg, "REF01")
        if self.line is not None:
            if qualifier == "6R":
                self.line.line_control_number = self.value(seg, "REF02")
        elif (
            self.claim is None
            and self.transaction is not None
            and self.party == "PR"
            and qualifier in ("2U", "NF", "EO", "HI")
        ):
            self.transaction.payer_reference_ids.append(self.value(seg, "REF02"))

    def seg_LX(self, seg: Segment) -> None:
        self.require_transaction(seg)
        self.party = ""
        self.close_claim()

    def seg_CLP(self, seg: Segment) -> None:
        txn = self.require_transaction(seg)
        self.party = ""
        self.line = None
        number = self.value(seg, "CLP01")
        if not number:
            raise RemittanceFileError(
                f"{self.where(seg)}: the claim has no patient control number (CLP01), so it "
                "cannot be matched to a claim."
            )
        status = self.value(seg, "CLP02")
        if not status:
            raise RemittanceFileError(
                f"{self.where(seg)}: claim {number} has no claim status code (CLP02)."
            )
        claim = ClaimPayment(
            segment_number=self.number,
            patient_control_number=number,
            status_code=status,
            billed=self.amount(seg, "CLP03", label=f"claim {number} billed amount", required=True),
            paid=self.amount(seg, "CLP04", label=f"claim {number} paid amount", required=True),
            patient_responsibility=self.amount(
                seg, "CLP05", label=f"claim {number} patient responsibility"
            ),
            filing_indicator=self.value(seg, "CLP06"),
            payer_claim_number=self.value(seg, "CLP07"),
        )
        if status != REVERSAL_STATUS and (claim.paid < ZERO or claim.billed < ZERO):
            raise RemittanceFileError(
                f"{self.where(seg)}: claim {number} has a negative amount (billed "
                f"{claim.billed}, paid {claim.paid}) but is not a reversal (CLP02 22)."
            )
        txn.claims.append(claim)
        self.claim = claim

    def seg_CAS(self, seg: Segment) -> None:
        target = self.line or self.claim
        if target is None:
            self.warnings.append(f"{self.where(seg)}: an adjustment outside a claim; ignored.")
            return
        group = self.value(seg, "CAS01")
        number = self.claim.patient_control_number if self.claim else ""
        # Up to six reason/amount/quantity triplets: CAS02-04, CAS05-07, ... CAS17-19.
        for start in range(2, 20, 3):
            reason = self.value(seg, f"CAS{start:02d}")
            if not reason:
                continue
            amount = self.amount(
                seg,
                f"CAS{start + 1:02d}",
                label=f"claim {number} adjustment {group}-{reason} amount",
                required=True,
            )
            target.adjustments.append(
                Adjustment(
                    group=group,
                    reason=reason,
                    amount=amount,
                    quantity=self.quantity(seg, f"CAS{start + 2:02d}"),
                )
            )

    def seg_NM1(self, seg: Segment) -> None:
        if self.claim is not None and self.line is None and self.value(seg, "NM101") == "QC":
            last, first = self.value(seg, "NM103"), self.value(seg, "NM104")
            self.claim.patient_name = f"{last}, {first}".strip(", ")

    def seg_SVC(self, seg: Segment) -> None:
        if self.claim is None:
            raise RemittanceFileError(
                f"{self.where(seg)}: a service line outside a claim (no CLP before it)."
            )
        number = self.claim.patient_control_number
        procedure = self.composite(seg, "SVC01")
        submitted = self.composite(seg, "SVC06")
        billed = self.amount(
            seg, "SVC02", label=f"claim {number} line billed amount", required=True
        )
        paid = self.amount(seg, "SVC03", label=f"claim {number} line paid amount", required=True)
        if not self.claim.is_reversal and (billed < ZERO or paid < ZERO):
            raise RemittanceFileError(
                f"{self.where(seg)}: a service line of claim {number} has a negative amount "
                f"(billed {billed}, paid {paid}) but the claim is not a reversal (CLP02 22)."
            )
        line = ServiceLine(
            segment_number=self.number,
            qualifier=procedure[0] if procedure else "",
            procedure_code=procedure[1].upper() if len(procedure) > 1 else "",
            modifiers=tuple(m.upper() for m in procedure[2:6] if m),
            billed=billed,
            paid=paid,
            revenue_code=self.value(seg, "SVC04"),
            units=self.quantity(seg, "SVC05"),
            submitted_procedure_code=submitted[1].upper() if len(submitted) > 1 else "",
            submitted_modifiers=tuple(m.upper() for m in submitted[2:6] if m),
        )
        self.claim.lines.append(line)
        self.line = line

    def seg_AMT(self, seg: Segment) -> None:
        if self.line is not None and self.value(seg, "AMT01") == "B6":
            self.line.allowed = self.amount(seg, "AMT02", label="allowed amount (AMT*B6)")

    def seg_LQ(self, seg: Segment) -> None:
        if self.line is not None:
            self.line.remark_codes.append(self.value(seg, "LQ02"))

    def seg_PLB(self, seg: Segment) -> None:
        txn = self.require_transaction(seg)
        self.close_claim()
        provider = self.value(seg, "PLB01")
        period_end = self.date(seg, "PLB02", label="fiscal period date")
        for start in range(3, 15, 2):
            parts = self.composite(seg, f"PLB{start:02d}")
            if not parts or not parts[0]:
                continue
            txn.provider_adjustments.append(
                ProviderAdjustment(
                    segment_number=self.number,
                    provider_id=provider,
                    fiscal_period_end=period_end,
                    reason=parts[0],
                    reference=parts[1] if len(parts) > 1 else "",
                    amount=self.amount(
                        seg,
                        f"PLB{start + 1:02d}",
                        label=f"provider adjustment {parts[0]} amount",
                        required=True,
                    ),
                )
            )

    def seg_SE(self, seg: Segment) -> None:
        txn = self.require_transaction(seg)
        txn.closed = True
        self.close_claim()
        self.party = ""


def parse_835(content: bytes | str) -> Remittance835File:
    """Read every transaction of an 835 file; raises ``RemittanceFileError`` with the reason."""
    text = decode(content)
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise RemittanceFileError("The file is empty.")
    if not stripped.startswith("ISA"):
        raise RemittanceFileError(
            "This is not an X12 file: it does not begin with an ISA interchange header."
        )
    reader_state = _Reader()
    if stripped != text:
        reader_state.warnings.append("Blank characters before the ISA header were skipped.")
    try:
        x12 = X12Reader(io.StringIO(stripped))
    except pyx12.errors.X12Error as error:
        raise RemittanceFileError(
            f"The ISA interchange header cannot be read ({error}); the file is not X12 or is "
            "damaged."
        ) from error
    reader_state.subele_term = x12.subele_term or ":"
    envelope_errors: list[tuple] = []
    try:
        for segment in x12:
            reader_state.number += 1
            if not segment.get_seg_id():
                continue
            reader_state.read(segment)
            envelope_errors.extend(x12.pop_errors())
    except pyx12.errors.X12Error as error:
        raise RemittanceFileError(
            f"Segment {reader_state.number + 1} cannot be read: {error}"
        ) from error
    finally:
        x12.close()
    x12.cleanup()
    envelope_errors.extend(x12.pop_errors())
    refusals = []
    for kind, _code, message, _value, line in envelope_errors:
        if "missing" in message or kind == "st":
            refusals.append(message)
        else:
            where = f"segment {line}: " if line else ""
            reader_state.warnings.append(f"{where}{message}.")
    if refusals:
        truncated = any("missing" in message for message in refusals)
        reason = "The file is truncated or damaged" if truncated else "The file is damaged"
        raise RemittanceFileError(f"{reason}: {'; '.join(refusals)}.")
    if not reader_state.transactions:
        raise RemittanceFileError("The file holds no 835 transaction (no ST*835 segment).")
    for txn in reader_state.transactions:
        if txn.payment_date is None and txn.production_date is not None:
            txn.payment_date = txn.production_date
            reader_state.warnings.append(
                f"Transaction {txn.control_number}: no payment date in BPR16; the production "
                f"date {txn.production_date:%Y-%m-%d} (DTM*405) is used instead."
            )
        missing = [
            label
            for label, present in (
                ("BPR (payment)", txn.payment_amount is not None),
                ("TRN (trace number)", bool(txn.trace_number)),
                ("N1*PR (payer)", bool(txn.payer_name or txn.payer_id)),
            )
            if not present
        ]
        if missing:
            raise RemittanceFileError(
                f"Transaction {txn.control_number} has no {' and no '.join(missing)} segment, "
                "which every 835 has."
            )
    return Remittance835File(
        transactions=reader_state.transactions,
        warnings=reader_state.warnings,
        **reader_state.header,
    )
