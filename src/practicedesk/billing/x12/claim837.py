"""ASC X12 005010X222A1 (837P): the professional claims the practice sends its clearinghouse.

Two halves. ``claims_837`` writes one interchange (ISA/IEA) with one functional group
(GS/GE, GS08 005010X222A1) and one transaction (ST/SE) from plain dataclasses; it touches no
database. ``claim_837_data`` reads one ``Claim`` (its visit, lines, diagnoses, coverage and,
for a secondary claim, the primary payer's adjudication) into those dataclasses, from the
relations ``claims_with_837_data`` loads for a whole batch of claims in a fixed number of
queries.

The loops written:

* header: BHT, 1000A submitter (NM1*41, PER), 1000B receiver (NM1*40);
* 2000A/2010AA per billing provider (the claim's location: NPI, address, REF*EI tax id);
* 2000B/2010BA subscriber (SBR with the payer's responsibility P/S/T; NM1*IL with the member
  id; address and DMG when the patient is the subscriber) and 2010BB payer (NM1*PR, PI);
* 2000C/2010CA patient (PAT, NM1*QC, address, DMG) when the patient is not the subscriber;
* 2300 claim (CLM, HI with ABK then ABF), 2310B rendering provider (NM1*82, PRV*PE);
* 2320/2330A/2330B for every other payer: on a secondary claim the primary payer with what
  it paid (AMT*D), its remaining patient liability and adjudication date; on a primary claim
  a known secondary payer, without amounts, so the payer can coordinate benefits;
* 2400 service lines (LX, SV1, DTP*472) and, on a secondary claim, 2430 (SVD, CAS,
  DTP*573, AMT*EAF) with the primary payer's adjudication of each line.

Separators: segment ``~``, element ``*``, component ``:``, repetition ``^``. Names,
addresses and ids are upper-cased, reduced to the X12 character set and stripped of the
separators, so a value can never break the file's structure.
"""

import datetime
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from practicedesk.billing.models import Claim, ClaimLine, LedgerEntry, RemittanceLine
from practicedesk.core.models import Organization
from practicedesk.patients.models import Coverage

SEGMENT_TERMINATOR = "~"
ELEMENT_SEPARATOR = "*"
COMPONENT_SEPARATOR = ":"
REPETITION_SEPARATOR = "^"
GS08 = "005010X222A1"
MAX_LINES = 50  # 2400 repeats at most 50 times per claim
MAX_DIAGNOSES = 12
# What X12's basic and extended character sets allow in a value, less our separators.
UNSAFE = re.compile(r"[^A-Z0-9 !&'()+,\-./;?=%@\[\]_{}\\|<>#$\"]")
SELF = "18"
SEX_CODES = {"F", "M", "U"}
# SBR09, by the payer's type.
CLAIM_FILING_INDICATORS = {
    "commercial": "CI",
    "medicare": "MB",
    "medicaid": "MC",
    "workers_comp": "WC",
    "self_pay": "ZZ",
}
RESPONSIBILITY = {1: "P", 2: "S", 3: "T"}


# Values


def text(value: str | None, length: int | None = None) -> str:
    """A value X12 can carry: ASCII upper case, none of the separators, trimmed."""
    ascii_text = (
        unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode("ascii")
    )
    cleaned = re.sub(r"\s+", " ", UNSAFE.sub("", ascii_text.upper())).strip()
    return cleaned[:length].strip() if length else cleaned


def digits(value: str | None) -> str:
    return re.sub(r"\D", "", value or "")


def amount(value: Decimal) -> str:
    """An X12 decimal (R): no trailing zeros after the point, no point for whole amounts."""
    value = Decimal(value).quantize(Decimal("0.01"))
    formatted = f"{value:f}"
    if "." in formatted:
        formatted = formatted.rstrip("0").rstrip(".")
    return "0" if formatted in ("", "-0") else formatted


def date8(day: datetime.date) -> str:
    return f"{day:%Y%m%d}"


def diagnosis(code: str) -> str:
    """ICD-10-CM as claims carry it: without the dot."""
    return re.sub(r"[^0-9A-Z]", "", (code or "").upper())


# The data of a claim


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    state: str
    postal_code: str
    line2: str = ""


@dataclass(frozen=True)
class Person:
    last_name: str
    first_name: str
    date_of_birth: datetime.date | None = None
    sex: str = ""
    address: Address | None = None
    middle_name: str = ""
    suffix: str = ""


@dataclass(frozen=True)
class BillingProvider:
    name: str
    npi: str
    tax_id: str
    address: Address
    taxonomy_code: str = ""


@dataclass(frozen=True)
class RenderingProvider:
    last_name: str
    first_name: str
    npi: str
    taxonomy_code: str = ""
    middle_name: str = ""


@dataclass(frozen=True)
class PayerParty:
    name: str
    payer_id: str


@dataclass(frozen=True)
class Adjustment:
    """One CAS triple: group (CO, PR, OA, PI), reason (a CARC) and amount."""

    group: str
    reason: str
    amount: Decimal


@dataclass
class LineAdjudication:
    """How another payer adjudicated one service line (2430)."""

    payer_id: str
    paid: Decimal
    procedure_code: str
    modifiers: tuple[str, ...]
    units: int
    adjudicated_on: datetime.date
    adjustments: list[Adjustment] = field(default_factory=list)

    @property
    def patient_liability(self) -> Decimal:
        return sum((a.amount for a in self.adjustments if a.group == "PR"), Decimal("0"))


@dataclass
class ServiceLine:
    procedure_code: str
    amount: Decimal
    units: int
    place_of_service: str
    diagnosis_pointers: tuple[int, ...]
    date_of_service: datetime.date
    modifiers: tuple[str, ...] = ()
    adjudications: list[LineAdjudication] = field(default_factory=list)


@dataclass
class OtherPayer:
    """Another payer of the claim (2320/2330): who it is and, once it has paid, how much."""

    responsibility: str  # that payer's order: P, S or T
    relationship: str  # the patient's relationship to that payer's subscriber
    subscriber: Person
    member_id: str
    payer: PayerParty
    filing_indicator: str
    group_number: str = ""
    plan_name: str = ""
    paid: Decimal | None = None  # None: not adjudicated (yet)
    adjudicated_on: datetime.date | None = None
    adjustments: list[Adjustment] = field(default_factory=list)  # claim-level only
    patient_liability: Decimal | None = None


@dataclass
class Claim837:
    claim_number: str
    billing_provider: BillingProvider
    responsibility: str  # P, S or T: the order of the payer this claim goes to
    relationship: str  # the patient's relationship to the subscriber (18: self)
    subscriber: Person
    member_id: str
    payer: PayerParty
    filing_indicator: str
    patient: Person
    total_charge: Decimal
    diagnoses: list[str]
    rendering_provider: RenderingProvider
    lines: list[ServiceLine]
    group_number: str = ""
    plan_name: str = ""
    other_payers: list[OtherPayer] = field(default_factory=list)
    frequency: str = "1"  # original claim

    @property
    def place_of_service(self) -> str:
        """The claim's place of service: the one most of its lines share (the first on a tie)."""
        counts: dict[str, int] = {}
        for line in self.lines:
            counts[line.place_of_service] = counts.get(line.place_of_service, 0) + 1
        return max(counts, key=lambda code: counts[code]) if counts else "11"


@dataclass(frozen=True)
class Envelope:
    sender_id: str
    receiver_id: str
    receiver_name: str
    usage_indicator: str  # T test, P production
    interchange_control_number: int
    group_control_number: int
    created: datetime.datetime
    submitter_name: str
    submitter_contact: str
    submitter_phone: str
    submitter_email: str = ""


class ClaimFileError(ValueError):
    """A claim cannot be written as an 837P; the message says which and why."""


# Writing


class SegmentWriter:
    def __init__(self) -> None:
        self.segments: list[str] = []

    def add(self, *elements: str | Sequence[str] | None) -> None:
        values = []
        for element in elements:
            if isinstance(element, list | tuple):
                parts = [part or "" for part in element]
                while parts and not parts[-1]:
                    parts.pop()
                values.append(COMPONENT_SEPARATOR.join(parts))
            else:
                values.append(element or "")
        while values and not values[-1]:
            values.pop()
        self.segments.append(ELEMENT_SEPARATOR.join(values))

    def __len__(self) -> int:
        return len(self.segments)


def check_claim(claim: Claim837) -> None:
    where = f"Claim {claim.claim_number}"
    if not claim.lines:
        raise ClaimFileError(f"{where} has no service lines.")
    if len(claim.lines) > MAX_LINES:
        raise ClaimFileError(f"{where} has {len(claim.lines)} lines; an 837P claim takes 50.")
    if not 1 <= len(claim.diagnoses) <= MAX_DIAGNOSES:
        raise ClaimFileError(f"{where} needs 1 to 12 diagnoses.")
    if not claim.payer.payer_id:
        raise ClaimFileError(f"{where}: {claim.payer.name} has no payer id.")
    if not claim.member_id:
        raise ClaimFileError(f"{where}: the coverage has no member id.")
    if len(digits(claim.billing_provider.tax_id)) != 9:
        raise ClaimFileError(f"{where}: the billing provider's tax id is not 9 digits.")
    if claim.patient.date_of_birth is None:
        raise ClaimFileError(f"{where}: the patient has no date of birth.")
    for line in claim.lines:
        if not 1 <= len(line.diagnosis_pointers) <= 4 or any(
            not 1 <= pointer <= len(claim.diagnoses) for pointer in line.diagnosis_pointers
        ):
            raise ClaimFileError(f"{where}: a line points to a diagnosis the claim doesn't have.")


def person_name(person: Person, entity: str, qualifier: str = "", identifier: str = "") -> list:
    return [
        "NM1",
        entity,
        "1",
        text(person.last_name, 60),
        text(person.first_name, 35),
        text(person.middle_name, 25),
        "",
        text(person.suffix, 10),
        qualifier,
        text(identifier, 80) if identifier else "",
    ]


def address_segments(out: SegmentWriter, address: Address | None) -> None:
    if address is None:
        return
    out.add("N3", text(address.line1, 55), text(address.line2, 55))
    out.add("N4", text(address.city, 30), text(address.state, 2), digits(address.postal_code))


def demographics(out: SegmentWriter, person: Person) -> None:
    if person.date_of_birth is None:
        return
    sex = person.sex if person.sex in SEX_CODES else "U"
    out.add("DMG", "D8", date8(person.date_of_birth), sex)


def adjustment_segments(out: SegmentWriter, adjustments: Iterable[Adjustment]) -> None:
    """CAS segments: one per group, at most six reason/amount pairs each."""
    by_group: dict[str, list[Adjustment]] = defaultdict(list)
    for adjustment in adjustments:
        if adjustment.amount:
            by_group[adjustment.group].append(adjustment)
    for group, items in by_group.items():
        for start in range(0, len(items), 6):
            elements: list[str] = [group]
            for item in items[start : start + 6]:
                elements += [text(item.reason, 5), amount(item.amount), ""]
            out.add("CAS", *elements)


def procedure(code: str, modifiers: Sequence[str]) -> list[str]:
    return ["HC", text(code, 48), *(text(m, 2) for m in modifiers[:4])]


def other_payer_segments(out: SegmentWriter, other: OtherPayer, line_level: bool) -> None:
    # 2320
    out.add(
        "SBR",
        other.responsibility,
        other.relationship,
        text(other.group_number, 50),
        "" if other.group_number else text(other.plan_name, 60),
        "",
        "",
        "",
        "",
        other.filing_indicator,
    )
    adjudicated = other.paid is not None
    if adjudicated:
        adjustment_segments(out, other.adjustments)
        out.add("AMT", "D", amount(other.paid))
        if other.patient_liability is not None:
            out.add("AMT", "EAF", amount(other.patient_liability))
    out.add("OI", "", "", "Y", "P", "", "Y")
    # 2330A other subscriber
    out.add(*person_name(other.subscriber, "IL", "MI", other.member_id))
    # 2330B other payer
    out.add(
        "NM1", "PR", "2", text(other.payer.name, 60), "", "", "", "", "PI", other.payer.payer_id
    )
    if adjudicated and not line_level and other.adjudicated_on:
        out.add("DTP", "573", "D8", date8(other.adjudicated_on))


def claims_837(*, envelope: Envelope, claims: Sequence[Claim837]) -> str:
    """One 837P interchange carrying ``claims`` (grouped by billing provider)."""
    if not claims:
        raise ClaimFileError("There are no claims to write.")
    for claim in claims:
        check_claim(claim)
    created = envelope.created
    icn = f"{envelope.interchange_control_number:09d}"
    gcn = str(envelope.group_control_number)
    out = SegmentWriter()
    out.add(
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        "ZZ",
        text(envelope.sender_id, 15).ljust(15),
        "ZZ",
        text(envelope.receiver_id, 15).ljust(15),
        f"{created:%y%m%d}",
        f"{created:%H%M}",
        REPETITION_SEPARATOR,
        "00501",
        icn,
        "0",
        envelope.usage_indicator,
        COMPONENT_SEPARATOR,
    )
    out.add(
        "GS",
        "HC",
        text(envelope.sender_id, 15),
        text(envelope.receiver_id, 15),
        f"{created:%Y%m%d}",
        f"{created:%H%M}",
        gcn,
        "X",
        GS08,
    )
    first_in_transaction = len(out)
    out.add("ST", "837", "0001", GS08)
    out.add("BHT", "0019", "00", icn, f"{created:%Y%m%d}", f"{created:%H%M}", "CH")
    # 1000A submitter, 1000B receiver
    out.add(
        "NM1",
        "41",
        "2",
        text(envelope.submitter_name, 60),
        *[""] * 4,
        "46",
        text(envelope.sender_id, 80),
    )
    contact = ["PER", "IC", text(envelope.submitter_contact, 60)]
    phone = digits(envelope.submitter_phone)
    if phone:
        contact += ["TE", phone[-10:]]
    email = text(envelope.submitter_email, 256)
    if email:
        contact += ["EM", email]
    if len(contact) == 3:
        raise ClaimFileError("Enter the practice's phone (Administration → Organization) first.")
    out.add(*contact)
    out.add(
        "NM1",
        "40",
        "2",
        text(envelope.receiver_name, 60),
        *[""] * 4,
        "46",
        text(envelope.receiver_id, 80),
    )

    by_provider: dict[BillingProvider, list[Claim837]] = {}
    for claim in claims:
        by_provider.setdefault(claim.billing_provider, []).append(claim)
    hl = 0
    for provider, provider_claims in by_provider.items():
        # 2000A / 2010AA
        hl += 1
        provider_hl = hl
        out.add("HL", str(provider_hl), "", "20", "1")
        if provider.taxonomy_code:
            out.add("PRV", "BI", "PXC", text(provider.taxonomy_code, 10))
        out.add("NM1", "85", "2", text(provider.name, 60), "", "", "", "", "XX", provider.npi)
        address_segments(out, provider.address)
        out.add("REF", "EI", digits(provider.tax_id))
        for claim in provider_claims:
            hl = write_claim(out, claim, provider_hl, hl)

    out.add("SE", str(len(out) - first_in_transaction + 1), "0001")
    out.add("GE", "1", gcn)
    out.add("IEA", "1", icn)
    return SEGMENT_TERMINATOR.join(out.segments) + SEGMENT_TERMINATOR


def write_claim(out: SegmentWriter, claim: Claim837, provider_hl: int, hl: int) -> int:
    """2000B (and 2000C) with the claim's 2300/2400 loops; returns the last HL number used."""
    dependent = claim.relationship != SELF
    hl += 1
    subscriber_hl = hl
    out.add("HL", str(subscriber_hl), str(provider_hl), "22", "1" if dependent else "0")
    out.add(
        "SBR",
        claim.responsibility,
        "" if dependent else SELF,
        text(claim.group_number, 50),
        "" if claim.group_number else text(claim.plan_name, 60),
        "",
        "",
        "",
        "",
        claim.filing_indicator,
    )
    out.add(*person_name(claim.subscriber, "IL", "MI", claim.member_id))
    if not dependent:
        address_segments(out, claim.subscriber.address)
        demographics(out, claim.subscriber)
    out.add(
        "NM1", "PR", "2", text(claim.payer.name, 60), "", "", "", "", "PI", claim.payer.payer_id
    )
    if dependent:
        hl += 1
        out.add("HL", str(hl), str(subscriber_hl), "23", "0")
        out.add("PAT", claim.relationship)
        out.add(*person_name(claim.patient, "QC"))
        address_segments(out, claim.patient.address)
        demographics(out, claim.patient)

    # 2300
    place = claim.place_of_service
    out.add(
        "CLM",
        text(claim.claim_number, 38),
        amount(claim.total_charge),
        "",
        "",
        [place, "B", claim.frequency],
        "Y",
        "A",
        "Y",
        "Y",
    )
    codes = [diagnosis(code) for code in claim.diagnoses]
    out.add("HI", ["ABK", codes[0]], *(["ABF", code] for code in codes[1:]))
    # 2310B: the rendering provider is a person, the billing provider an organisation.
    rendering = claim.rendering_provider
    rendering_person = Person(
        rendering.last_name, rendering.first_name, middle_name=rendering.middle_name
    )
    out.add(*person_name(rendering_person, "82", "XX", rendering.npi))
    if rendering.taxonomy_code:
        out.add("PRV", "PE", "PXC", text(rendering.taxonomy_code, 10))
    for other in claim.other_payers:
        line_level = any(
            adjudication.payer_id == other.payer.payer_id
            for line in claim.lines
            for adjudication in line.adjudications
        )
        other_payer_segments(out, other, line_level)

    # 2400
    for number, line in enumerate(claim.lines, start=1):
        out.add("LX", str(number))
        out.add(
            "SV1",
            procedure(line.procedure_code, line.modifiers),
            amount(line.amount),
            "UN",
            str(line.units),
            line.place_of_service if line.place_of_service != place else "",
            "",
            [str(pointer) for pointer in line.diagnosis_pointers],
        )
        out.add("DTP", "472", "D8", date8(line.date_of_service))
        for adjudication in line.adjudications:
            # 2430
            out.add(
                "SVD",
                adjudication.payer_id,
                amount(adjudication.paid),
                procedure(adjudication.procedure_code, adjudication.modifiers),
                "",
                str(adjudication.units),
            )
            adjustment_segments(out, adjudication.adjustments)
            out.add("DTP", "573", "D8", date8(adjudication.adjudicated_on))
            if adjudication.patient_liability:
                out.add("AMT", "EAF", amount(adjudication.patient_liability))
    return hl


# From the database


def address_of(record) -> Address:
    return Address(
        line1=record.address_line1,
        line2=record.address_line2,
        city=record.city,
        state=record.state,
        postal_code=record.postal_code,
    )


def patient_person(patient) -> Person:
    return Person(
        last_name=patient.last_name,
        first_name=patient.first_name,
        middle_name=patient.middle_name,
        suffix=patient.suffix,
        date_of_birth=patient.date_of_birth,
        sex=patient.sex_at_birth,
        address=address_of(patient),
    )


def subscriber_person(coverage) -> Person:
    if coverage.relationship == SELF:
        return patient_person(coverage.patient)
    return Person(
        last_name=coverage.subscriber_last_name,
        first_name=coverage.subscriber_first_name,
        date_of_birth=coverage.subscriber_date_of_birth,
        sex=coverage.subscriber_sex,
    )


def payer_party(payer) -> PayerParty:
    return PayerParty(name=payer.name, payer_id=payer.payer_id)


def filing_indicator(payer) -> str:
    return CLAIM_FILING_INDICATORS.get(payer.payer_type, "CI")


def other_payer_of(coverage, *, responsibility: str) -> OtherPayer:
    return OtherPayer(
        responsibility=responsibility,
        relationship=coverage.relationship,
        subscriber=subscriber_person(coverage),
        member_id=coverage.member_id,
        payer=payer_party(coverage.payer),
        filing_indicator=filing_indicator(coverage.payer),
        group_number=coverage.group_number,
        plan_name=coverage.plan_name,
    )


def claim_lines_prefetch() -> Prefetch:
    """A claim's lines in line order, with their charges and service codes."""
    return Prefetch(
        "lines",
        queryset=ClaimLine.objects.select_related("charge__service_code").order_by("line_number"),
    )


def claims_with_837_data(claims: QuerySet[Claim]) -> QuerySet[Claim]:
    """``claims`` with everything the scrubber and ``claim_837_data`` read, loaded in a fixed
    number of queries however many claims there are: the visit's diagnoses, the lines, the
    patient's other coverages and, for a secondary claim, its primary claim's remittance
    lines, payer payments and status changes."""
    payer_payments = LedgerEntry.objects.filter(
        responsibility=LedgerEntry.Responsibility.INSURANCE,
        kind__in=[LedgerEntry.Kind.PAYMENT, LedgerEntry.Kind.REVERSAL],
    ).select_related("reverses")
    return claims.select_related(
        "patient",
        "payer",
        "coverage__payer",
        "coverage__patient",
        "billing_location",
        "rendering_provider",
        "appointment",
        "primary_claim__payer",
        "primary_claim__coverage__payer",
        "primary_claim__coverage__patient",
    ).prefetch_related(
        "appointment__diagnoses",
        claim_lines_prefetch(),
        Prefetch("patient__coverages", queryset=Coverage.objects.select_related("payer")),
        Prefetch(
            "primary_claim__remittance_lines",
            queryset=RemittanceLine.objects.filter(charge__isnull=False)
            .select_related("remittance", "charge__service_code")
            .order_by("pk"),
        ),
        Prefetch("primary_claim__ledger_entries", queryset=payer_payments),
        "primary_claim__status_changes",
    )


def primary_adjudication(
    primary: Claim,
) -> tuple[dict[int, LineAdjudication], Decimal, datetime.date | None]:
    """What the primary payer decided: per charge (from its remittance lines) and in total.

    Returns (adjudication by charge id, amount paid, date adjudicated). Without remittance
    lines (a payment posted by hand), the amount is what the ledger holds as that payer's
    payments on the claim (reversals of payments included), dated by the latest of them.
    Reads the relations ``claims_with_837_data`` prefetches on the primary claim.
    """
    by_charge: dict[int, LineAdjudication] = {}
    adjustments: dict[int, dict[tuple[str, str], Decimal]] = defaultdict(dict)
    for line in primary.remittance_lines.all():
        remittance = line.remittance
        on = remittance.payment_date or remittance.imported_at.date()
        charge = line.charge
        current = by_charge.get(charge.pk)
        if current is None:
            current = by_charge[charge.pk] = LineAdjudication(
                payer_id=primary.payer.payer_id,
                paid=Decimal("0.00"),
                procedure_code=charge.service_code.code,
                modifiers=tuple(charge.modifiers),
                units=charge.units,
                adjudicated_on=on,
            )
        current.paid += line.paid
        current.adjudicated_on = max(current.adjudicated_on, on)
        for group, reason, value in line.adjustments or []:
            key = (str(group), str(reason))
            adjustments[charge.pk][key] = adjustments[charge.pk].get(key, Decimal("0.00")) + (
                Decimal(str(value))
            )
    for charge_id, adjudication in by_charge.items():
        adjudication.adjustments = [
            Adjustment(group, reason, value)
            for (group, reason), value in adjustments[charge_id].items()
            if value
        ]
    if by_charge:
        paid = sum((a.paid for a in by_charge.values()), Decimal("0.00"))
        return by_charge, paid, max(a.adjudicated_on for a in by_charge.values())
    payment = LedgerEntry.Kind.PAYMENT
    payments = [
        entry
        for entry in primary.ledger_entries.all()
        if entry.payer_id == primary.payer_id
        and (entry.kind == payment or (entry.reverses and entry.reverses.kind == payment))
    ]
    last_payment = max((entry.posted_on for entry in payments), default=None)
    decided = max(
        (
            change.at
            for change in primary.status_changes.all()
            if change.to_status
            in (Claim.Status.PAID, Claim.Status.PARTIALLY_PAID, Claim.Status.DENIED)
        ),
        default=None,
    )
    on = last_payment or (decided.date() if decided else None)
    return {}, -sum((entry.amount for entry in payments), Decimal("0.00")), on


def claim_837_data(claim: Claim, organization: Organization) -> Claim837:
    """The 837P data of one claim, from the relations ``claims_with_837_data`` loads (a claim
    loaded without them reads each relation with its own queries)."""
    location = claim.billing_location
    coverage = claim.coverage
    patient = claim.patient
    provider = claim.rendering_provider
    diagnoses = sorted(claim.appointment.diagnoses.all(), key=lambda d: d.position)
    codes = [d.code for d in diagnoses]
    # Lines point to visit diagnoses by position; on the claim they point into the HI list.
    index_of = {d.position: index for index, d in enumerate(diagnoses, start=1)}

    adjudications: dict[int, LineAdjudication] = {}
    other_payers: list[OtherPayer] = []
    primary = claim.primary_claim if claim.payer_order > 1 else None
    if primary is not None:
        adjudications, paid, on = primary_adjudication(primary)
        other = other_payer_of(primary.coverage, responsibility=RESPONSIBILITY[primary.payer_order])
        other.paid = paid
        other.adjudicated_on = on
        if adjudications:
            other.patient_liability = sum(
                (a.patient_liability for a in adjudications.values()), Decimal("0.00")
            )
        other_payers.append(other)
    else:
        for other_coverage in patient.coverages.all():
            if other_coverage.order > claim.payer_order and other_coverage.is_active_on(
                claim.date_of_service
            ):
                other_payers.append(
                    other_payer_of(
                        other_coverage,
                        responsibility=RESPONSIBILITY.get(other_coverage.order, "T"),
                    )
                )
                break

    lines = []
    for claim_line in claim.lines.all():
        charge = claim_line.charge
        adjudication = adjudications.get(charge.pk)
        lines.append(
            ServiceLine(
                procedure_code=charge.service_code.code,
                modifiers=tuple(charge.modifiers),
                amount=charge.amount,
                units=charge.units,
                place_of_service=charge.place_of_service,
                diagnosis_pointers=tuple(
                    index_of.get(pointer, 0) for pointer in charge.diagnosis_pointers or []
                ),
                date_of_service=charge.date_of_service,
                adjudications=[adjudication] if adjudication else [],
            )
        )
    return Claim837(
        claim_number=claim.claim_number,
        billing_provider=BillingProvider(
            name=organization.legal_name or organization.name,
            npi=location.npi or organization.npi,
            tax_id=location.tax_id or organization.tax_id,
            address=address_of(location),
        ),
        responsibility=RESPONSIBILITY.get(claim.payer_order, "T"),
        relationship=coverage.relationship,
        subscriber=subscriber_person(coverage),
        member_id=coverage.member_id,
        payer=payer_party(claim.payer),
        filing_indicator=filing_indicator(claim.payer),
        group_number=coverage.group_number,
        plan_name=coverage.plan_name,
        patient=patient_person(patient),
        total_charge=claim.total_charge,
        diagnoses=codes,
        rendering_provider=RenderingProvider(
            last_name=provider.last_name,
            first_name=provider.first_name,
            npi=provider.npi,
            taxonomy_code=provider.taxonomy_code,
        ),
        lines=lines,
        other_payers=other_payers,
    )
