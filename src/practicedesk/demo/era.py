"""Writes the demo payers' answers as ASC X12 005010X221A1 (835) remittance files.

The demo submits its claims through the real 837P export; each payer then "answers" with an
835 written here, which the demo imports through the real importer (`remittance_import`), so
every payment, adjustment and transfer to the patient is posted the way a real file is.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal("0.00")
# Claim filing indicator (CLP06) by payer type.
FILING = {"medicare": "MB", "medicaid": "MC", "commercial": "12", "workers_comp": "WC"}


@dataclass
class EraLine:
    code: str
    modifiers: tuple[str, ...]
    units: int
    billed: Decimal
    paid: Decimal
    service_date: datetime.date
    allowed: Decimal | None = None
    adjustments: list[tuple[str, str, Decimal]] = field(default_factory=list)
    remarks: tuple[str, ...] = ()


@dataclass
class EraClaim:
    claim_number: str
    status: str  # CLP02: 1 primary, 2 secondary, 4 denied
    payer_claim_number: str
    patient_last: str
    patient_first: str
    member_id: str
    filing_indicator: str
    lines: list[EraLine]

    @property
    def billed(self) -> Decimal:
        return sum((line.billed for line in self.lines), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((line.paid for line in self.lines), ZERO)

    @property
    def patient_responsibility(self) -> Decimal:
        shares = (a for line in self.lines for group, _, a in line.adjustments if group == "PR")
        return sum(shares, ZERO)


@dataclass
class EraPayer:
    name: str
    payer_id: str
    address: str = "PO Box 1000"
    city: str = "Chicago"
    state: str = "IL"
    postal_code: str = "60601"
    phone: str = "8005550100"


@dataclass
class EraPayee:
    name: str
    npi: str
    tax_id: str


def x12(value: str) -> str:
    """Text safe inside an element: no separators, upper case like payers write it."""
    return "".join(c for c in value.upper() if c not in "*~:^").strip()[:60]


def cas(adjustments: list[tuple[str, str, Decimal]]) -> list[str]:
    """One CAS per group, up to six reason/amount triplets each."""
    groups: dict[str, list[str]] = {}
    for group, reason, amount in adjustments:
        if amount != ZERO:
            groups.setdefault(group, []).extend([reason, f"{amount:.2f}", ""])
    return ["*".join(["CAS", group, *values]).rstrip("*") for group, values in groups.items()]


def remittance_file(
    *,
    payer: EraPayer,
    payee: EraPayee,
    claims: list[EraClaim],
    payment_date: datetime.date,
    trace_number: str,
    control_number: int,
    method: str = "ACH",
    check_number: str = "",
) -> str:
    """One interchange with one 835 transaction paying ``claims``."""
    total = sum((claim.paid for claim in claims), ZERO)
    if total == ZERO:
        bpr = f"BPR*H*0.00*C*NON************{payment_date:%Y%m%d}"
    elif method == "CHK":
        bpr = f"BPR*C*{total:.2f}*C*CHK************{payment_date:%Y%m%d}"
    else:
        bpr = (
            f"BPR*I*{total:.2f}*C*ACH*CCP*01*071000013*DA*5550001234*1{payer.payer_id:0>9.9}**"
            f"01*071000039*DA*9876543210*{payment_date:%Y%m%d}"
        )
    st = f"{control_number:04d}"
    body = [
        f"ST*835*{st}",
        bpr,
        f"TRN*1*{check_number or trace_number}*1{payer.payer_id:0>9.9}",
        f"DTM*405*{payment_date:%Y%m%d}",
        f"N1*PR*{x12(payer.name)}",
        f"N3*{x12(payer.address)}",
        f"N4*{x12(payer.city)}*{payer.state}*{payer.postal_code}",
        f"REF*2U*{payer.payer_id}",
        f"PER*BL*PROVIDER SERVICES*TE*{payer.phone}",
        f"N1*PE*{x12(payee.name)}*XX*{payee.npi}",
        f"REF*TJ*{payee.tax_id.replace('-', '')}",
        "LX*1",
    ]
    for claim in claims:
        body += [
            f"CLP*{claim.claim_number}*{claim.status}*{claim.billed:.2f}*{claim.paid:.2f}*"
            f"{claim.patient_responsibility:.2f}*{claim.filing_indicator}*"
            f"{claim.payer_claim_number}*11*1",
            f"NM1*QC*1*{x12(claim.patient_last)}*{x12(claim.patient_first)}****MI*"
            f"{claim.member_id}",
            f"DTM*232*{min(line.service_date for line in claim.lines):%Y%m%d}",
        ]
        for line in claim.lines:
            procedure = ":".join(["HC", line.code, *line.modifiers])
            body.append(f"SVC*{procedure}*{line.billed:.2f}*{line.paid:.2f}**{line.units}")
            body.append(f"DTM*472*{line.service_date:%Y%m%d}")
            body += cas(line.adjustments)
            if line.allowed is not None:
                body.append(f"AMT*B6*{line.allowed:.2f}")
            body += [f"LQ*HE*{remark}" for remark in line.remarks]
    body.append(f"SE*{len(body) + 1}*{st}")
    sender = f"{payer.payer_id:<15.15}"
    isa = (
        f"ISA*00*          *00*          *ZZ*{sender}*ZZ*{'PRACTICEDESK':<15}*"
        f"{payment_date:%y%m%d}*0600*^*00501*{control_number:09d}*0*P*:"
    )
    segments = [
        isa,
        f"GS*HP*{payer.payer_id}*PRACTICEDESK*{payment_date:%Y%m%d}*0600*{control_number}*X*"
        "005010X221A1",
        *body,
        f"GE*1*{control_number}",
        f"IEA*1*{control_number:09d}",
    ]
    return "~\n".join(segments) + "~\n"
