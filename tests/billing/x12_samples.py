"""Writes 835 remittances for claims made in tests, so imports post against real Claim rows.

Only the tests use this writer; the importer reads with pyx12. A remittance is built from
``Clp`` (a claim) and ``Svc`` (a service line) values::

    text = remittance_835(
        Clp(claim.claim_number, "1", "180.00", "120.00", lines=[
            Svc("99214", "165.00", "110.00", adjustments=[("CO", "45", "55.00")]),
            Svc("36415", "15.00", "10.00", adjustments=[("CO", "45", "5.00")]),
        ]),
        payer_name="Acme Health", payer_id="ACME1",
    )

BPR02 is the claims' paid total minus the PLB amounts unless ``payment`` says otherwise.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

# The shared third-party samples, relative to the repository root (tests run from there).
SAMPLES = Path("../shared/samples/x12")
SAMPLE_835_FILES = ("pyx12-835_mult_loops.835", "lfh-demo.835", "lfh-secondary-payment.835")


@dataclass
class Svc:
    code: str
    billed: str
    paid: str
    adjustments: list[tuple[str, str, str]] = field(default_factory=list)
    allowed: str | None = None
    modifiers: tuple[str, ...] = ()
    units: str = "1"
    date: datetime.date | None = None


@dataclass
class Clp:
    number: str
    status: str
    billed: str
    paid: str
    patient_responsibility: str = "0"
    lines: list[Svc] = field(default_factory=list)
    adjustments: list[tuple[str, str, str]] = field(default_factory=list)
    patient: tuple[str, str] = ("DOE", "JANE")


def cas_segments(adjustments: list[tuple[str, str, str]]) -> list[str]:
    """One CAS per group, up to six reason/amount pairs each, in the order given."""
    groups: dict[str, list[str]] = {}
    for group, reason, amount in adjustments:
        groups.setdefault(group, []).extend([reason, amount, ""])
    segments = []
    for group, values in groups.items():
        segments.append("*".join(["CAS", group, *values]).rstrip("*"))
    return segments


def claim_segments(claim: Clp, default_date: datetime.date) -> list[str]:
    segments = [
        f"CLP*{claim.number}*{claim.status}*{claim.billed}*{claim.paid}*"
        f"{claim.patient_responsibility}*12*PAYER{claim.number}",
        *cas_segments(claim.adjustments),
        f"NM1*QC*1*{claim.patient[0]}*{claim.patient[1]}****MI*M00000001",
        f"DTM*232*{default_date:%Y%m%d}",
    ]
    for line in claim.lines:
        procedure = ":".join(["HC", line.code, *line.modifiers])
        segments += [
            f"SVC*{procedure}*{line.billed}*{line.paid}**{line.units}",
            f"DTM*472*{(line.date or default_date):%Y%m%d}",
            *cas_segments(line.adjustments),
        ]
        if line.allowed is not None:
            segments.append(f"AMT*B6*{line.allowed}")
    return segments


def remittance_835(
    *claims: Clp,
    payer_name: str = "Acme Health",
    payer_id: str = "ACME1",
    trace: str = "EFT0001",
    payment: str | None = None,
    payment_date: datetime.date = datetime.date(2026, 11, 20),
    service_date: datetime.date | None = None,
    plb: list[tuple[str, str]] = (),
    control_number: str = "0001",
    credit_debit: str = "C",
) -> str:
    if payment is None:
        total = sum((Decimal(c.paid) for c in claims), Decimal("0"))
        total -= sum((Decimal(amount) for _reason, amount in plb), Decimal("0"))
        payment = f"{total:.2f}"
    service_date = service_date or payment_date - datetime.timedelta(days=20)
    body = [
        f"ST*835*{control_number}*005010X221A1",
        f"BPR*I*{payment}*{credit_debit}*ACH*CCP*01*999999992*DA*123456*1512345678**01*"
        f"999988880*DA*98765*{payment_date:%Y%m%d}",
        f"TRN*1*{trace}*1512345678",
        f"DTM*405*{payment_date:%Y%m%d}",
        f"N1*PR*{payer_name}*XV*{payer_id}",
        "N3*PO BOX 100",
        "N4*CHICAGO*IL*60601",
        "PER*BL*PROVIDER SERVICES*TE*8005551212",
        "N1*PE*TEST PRACTICE*XX*1234567893",
        "LX*1",
    ]
    for claim in claims:
        body += claim_segments(claim, service_date)
    for reason, amount in plb:
        body.append(f"PLB*1234567893*{payment_date:%Y}1231*{reason}:REF1*{amount}")
    body.append(f"SE*{len(body) + 1}*{control_number}")
    isa = (
        "ISA*00*          *00*          *ZZ*ACMEHEALTH     *ZZ*PRACTICEDESK   *"
        f"{payment_date:%y%m%d}*1200*^*00501*000000101*0*T*:"
    )
    assert len(isa) == 105, len(isa)
    segments = [
        isa,
        f"GS*HP*ACMEHEALTH*PRACTICEDESK*{payment_date:%Y%m%d}*1200*101*X*005010X221A1",
        *body,
        "GE*1*101",
        "IEA*1*000000101",
    ]
    return "~\n".join(segments) + "~\n"


def sample(name: str) -> bytes | None:
    """A shared third-party sample file, or None when the samples are not checked out here."""
    path = SAMPLES / name
    if not path.exists():
        print(f"Skipping: the shared sample {path} is not present.")
        return None
    return path.read_bytes()


def submit(claim, user):
    """Move a draft claim to submitted, as the 837 export would."""
    from practicedesk.billing.services import claim_status_set

    for status in ("ready", "submitted"):
        claim_status_set(acting_user=user, claim=claim, to_status=status)
    claim.refresh_from_db()
    return claim
