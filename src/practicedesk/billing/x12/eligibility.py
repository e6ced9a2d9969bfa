"""ASC X12 005010X279A1 eligibility: the 270 inquiries we write and the 271 answers we read.

Both directions go through pyx12: the 270 is built from pyx12 segments by its ``X12Writer``
(which also counts and closes SE/GE/IEA) and checked by pyx12's validator (``x12.validate``)
against the 270 map of ``eligibility_map``; the 271 is read by pyx12's ``X12Reader``, whose
envelope checks (counts, control numbers, missing trailers of a truncated file) refuse a
damaged file before anything is read from it. Nothing here touches the database.
"""

import datetime
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import pyx12.errors
import pyx12.segment
import pyx12.x12file

from practicedesk.billing.x12.eligibility_map import GS08, map_directory
from practicedesk.billing.x12.validate import x12_errors

SEGMENT_TERMINATOR = "~"
ELEMENT_SEPARATOR = "*"
COMPONENT_SEPARATOR = ":"
REPETITION_SEPARATOR = "^"
# What X12's basic and extended character sets allow in a value, less our separators.
UNSAFE = re.compile(r"[^A-Z0-9 !&'()+,\-./;?=%@\[\]_{}\\|<>#$]")

ACTIVE_CODES = {"1", "2", "3", "4", "5"}
INACTIVE_CODES = {"6", "7", "8"}
REMAINING = "29"
REJECT_REASONS = {
    "15": "required application data missing",
    "41": "authorization/access restrictions",
    "42": "the payer's system is unable to respond now",
    "43": "invalid or missing provider identification",
    "44": "invalid or missing provider name",
    "45": "invalid or missing provider specialty",
    "47": "invalid or missing provider state",
    "48": "invalid or missing referring provider id",
    "50": "provider not eligible for inquiries",
    "51": "provider not on file",
    "52": "service dates not within provider plan enrollment",
    "56": "inappropriate date",
    "57": "invalid or missing date(s) of service",
    "58": "invalid or missing date of birth",
    "60": "date of birth follows date(s) of service",
    "61": "date of death precedes date(s) of service",
    "62": "date of service not within allowable inquiry period",
    "63": "date of service in future",
    "64": "invalid or missing patient id",
    "65": "invalid or missing patient name",
    "66": "invalid or missing patient gender",
    "67": "patient not found",
    "68": "duplicate patient id number",
    "71": "patient birth date does not match that for the patient on the database",
    "72": "invalid or missing subscriber/insured id",
    "73": "invalid or missing subscriber/insured name",
    "74": "invalid or missing subscriber/insured gender",
    "75": "subscriber/insured not found",
    "76": "duplicate subscriber/insured id number",
    "78": "subscriber/insured not in group/plan identified",
}


class X12FileError(ValueError):
    """The file is not a readable 271 (or a 270 we wrote failed validation); says why."""


# The 270


@dataclass(frozen=True)
class Person:
    last_name: str
    first_name: str
    date_of_birth: datetime.date | None
    sex: str = ""


@dataclass(frozen=True)
class Inquiry:
    """One coverage to ask about: who, with which payer, for which date of service."""

    trace_number: str
    payer_name: str
    payer_id: str
    member_id: str
    subscriber: Person
    service_date: datetime.date
    patient: Person | None = None  # set when the patient is a dependent of the subscriber


@dataclass(frozen=True)
class Envelope:
    sender_id: str
    receiver_id: str
    usage_indicator: str
    interchange_control_number: int
    group_control_number: int
    created: datetime.datetime
    provider_name: str
    provider_npi: str
    trace_assigner: str  # TRN03: "1" + the practice's tax id digits, 10 characters


def clean(value: str, length: int | None = None) -> str:
    """A value X12 can carry: upper case, none of our separators, trimmed to ``length``."""
    text = UNSAFE.sub("", (value or "").upper()).strip()
    return text[:length] if length else text


def segment(seg_id: str, *values: str) -> pyx12.segment.Segment:
    seg = pyx12.segment.Segment(seg_id, SEGMENT_TERMINATOR, ELEMENT_SEPARATOR, COMPONENT_SEPARATOR)
    for index, value in enumerate(values, start=1):
        if value:
            seg.set(f"{seg_id}{index:02d}", value)
    return seg


def person_segments(person: Person, entity: str, member_id: str = "") -> list:
    segments = [
        segment(
            "NM1",
            entity,
            "1",
            clean(person.last_name, 60),
            clean(person.first_name, 35),
            "",
            "",
            "",
            "MI" if member_id else "",
            clean(member_id, 80),
        )
    ]
    if person.date_of_birth:
        sex = person.sex if person.sex in ("F", "M") else ""
        segments.append(segment("DMG", "D8", f"{person.date_of_birth:%Y%m%d}", sex))
    return segments


def inquiries_270(*, envelope: Envelope, inquiries: list[Inquiry]) -> str:
    """One interchange with one 270 transaction: a 2000A per payer, the practice as receiver
    (2000B, organisation NPI), and a 2000C subscriber (plus 2000D when the patient is a
    dependent) per inquiry, each with its TRN trace number and an EQ*30 (health benefit plan
    coverage) for the date of service."""
    if not inquiries:
        raise ValueError("There is nothing to ask about.")
    out = io.StringIO()
    writer = pyx12.x12file.X12Writer(
        out,
        seg_term=SEGMENT_TERMINATOR,
        ele_term=ELEMENT_SEPARATOR,
        subele_term=COMPONENT_SEPARATOR,
        repetition_term=REPETITION_SEPARATOR,
    )
    created = envelope.created
    writer.Write(
        segment(
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            clean(envelope.sender_id, 15).ljust(15),
            "ZZ",
            clean(envelope.receiver_id, 15).ljust(15),
            f"{created:%y%m%d}",
            f"{created:%H%M}",
            REPETITION_SEPARATOR,
            "00501",
            f"{envelope.interchange_control_number:09d}",
            "0",
            envelope.usage_indicator,
            COMPONENT_SEPARATOR,
        )
    )
    writer.Write(
        segment(
            "GS",
            "HS",
            clean(envelope.sender_id, 15),
            clean(envelope.receiver_id, 15),
            f"{created:%Y%m%d}",
            f"{created:%H%M}",
            str(envelope.group_control_number),
            "X",
            GS08,
        )
    )
    writer.Write(segment("ST", "270", "0001", GS08))
    writer.Write(
        segment(
            "BHT",
            "0022",
            "13",
            str(envelope.interchange_control_number),
            f"{created:%Y%m%d}",
            f"{created:%H%M}",
        )
    )
    number = 0
    by_payer: dict[tuple[str, str], list[Inquiry]] = {}
    for inquiry in inquiries:
        by_payer.setdefault((inquiry.payer_id, inquiry.payer_name), []).append(inquiry)
    for (payer_id, payer_name), asked in by_payer.items():
        number += 1
        source = number
        writer.Write(segment("HL", str(source), "", "20", "1"))
        writer.Write(
            segment("NM1", "PR", "2", clean(payer_name, 60), "", "", "", "", "PI", payer_id)
        )
        number += 1
        receiver = number
        writer.Write(segment("HL", str(receiver), str(source), "21", "1"))
        writer.Write(
            segment(
                "NM1",
                "1P",
                "2",
                clean(envelope.provider_name, 60),
                "",
                "",
                "",
                "",
                "XX",
                envelope.provider_npi,
            )
        )
        for inquiry in asked:
            number += 1
            subscriber = number
            dependent = inquiry.patient is not None
            writer.Write(
                segment("HL", str(subscriber), str(receiver), "22", "1" if dependent else "0")
            )
            trace = segment("TRN", "1", clean(inquiry.trace_number, 50), envelope.trace_assigner)
            eligibility = [
                segment("DTP", "291", "D8", f"{inquiry.service_date:%Y%m%d}"),
                segment("EQ", "30"),
            ]
            if not dependent:
                writer.Write(trace)
            for seg in person_segments(inquiry.subscriber, "IL", inquiry.member_id):
                writer.Write(seg)
            if dependent:
                number += 1
                writer.Write(segment("HL", str(number), str(subscriber), "23", "0"))
                writer.Write(trace)
                for seg in person_segments(inquiry.patient, "03"):
                    writer.Write(seg)
            for seg in eligibility:
                writer.Write(seg)
    writer.Write(segment("SE", "0", "0001"))
    writer.Write(segment("GE", "0", str(envelope.group_control_number)))
    writer.Write(segment("IEA", "0", f"{envelope.interchange_control_number:09d}"))
    writer.close()
    return out.getvalue()


def validate_270(text: str) -> list[str]:
    """Every problem pyx12 finds in a 270 we wrote, against our 270 map (empty: valid)."""
    return x12_errors(text, map_path=map_directory())


# The 271


@dataclass
class Answer:
    """What a 271 says about one subscriber or dependent (an HL 22 or 23 and its loops)."""

    payer_name: str = ""
    payer_id: str = ""
    trace_numbers: list[str] = field(default_factory=list)
    member_id: str = ""
    last_name: str = ""
    first_name: str = ""
    eligibility_codes: list[str] = field(default_factory=list)
    plan_begin: datetime.date | None = None
    plan_end: datetime.date | None = None
    copay: Decimal | None = None
    deductible: Decimal | None = None
    deductible_remaining: Decimal | None = None
    rejections: list[str] = field(default_factory=list)
    plan_description: str = ""
    segments: list[str] = field(default_factory=list)
    has_dependents: bool = False
    # Amounts seen out of network are kept only when nothing in network is given.
    _out_of_network: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        """ "active", "inactive" or "error" (the payer rejected the inquiry or said nothing)."""
        if any(code in INACTIVE_CODES for code in self.eligibility_codes):
            return "inactive"
        if any(code in ACTIVE_CODES for code in self.eligibility_codes):
            return "active"
        return "error"

    @property
    def message(self) -> str:
        if self.rejections:
            return "The payer could not answer: " + "; ".join(self.rejections)
        if self.status == "error":
            return "The answer has no coverage status."
        return self.plan_description

    def finish(self) -> None:
        for name, amount in self._out_of_network.items():
            if getattr(self, name) is None:
                setattr(self, name, amount)


@dataclass
class Response271:
    interchange_control_number: str
    answers: list[Answer]
    text: str


def x12_date(value: str | None, where: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(value or "", "%Y%m%d").date()
    except ValueError:
        raise X12FileError(f"{where}: {value!r} is not a date (CCYYMMDD).") from None


def x12_amount(value: str | None, where: str) -> Decimal:
    try:
        amount = Decimal(value or "")
    except InvalidOperation:
        raise X12FileError(f"{where}: {value!r} is not an amount.") from None
    if not amount.is_finite():
        raise X12FileError(f"{where}: {value!r} is not an amount.")
    if amount < 0:
        raise X12FileError(f"{where}: the amount {amount} is negative; a 271 never has one.")
    if amount != amount.quantize(Decimal("0.01")):
        raise X12FileError(f"{where}: {amount} has more than 2 decimal places.")
    return amount.quantize(Decimal("0.01"))


def read_plan_dates(answer: Answer, seg, where: str) -> None:
    qualifier, form, value = (seg.get_value(f"DTP0{i}") for i in (1, 2, 3))
    if qualifier not in ("291", "346", "347", "307", "356", "357"):
        return
    if form == "RD8":
        begin, _, end = (value or "").partition("-")
        if qualifier in ("291", "307"):
            answer.plan_begin = answer.plan_begin or x12_date(begin, where)
            answer.plan_end = answer.plan_end or x12_date(end, where)
        return
    day = x12_date(value, where)
    if qualifier in ("346", "356"):
        answer.plan_begin = answer.plan_begin or day
    elif qualifier in ("347", "357"):
        answer.plan_end = answer.plan_end or day
    else:
        answer.plan_begin = answer.plan_begin or day


def read_benefit(answer: Answer, seg, where: str) -> None:
    code = seg.get_value("EB01") or ""
    answer.eligibility_codes.append(code)
    if code in ACTIVE_CODES and not answer.plan_description:
        answer.plan_description = clean(seg.get_value("EB05") or "", 120)
    amount_text = seg.get_value("EB07")
    if code not in ("B", "C") or not amount_text:
        if amount_text:
            x12_amount(amount_text, where)  # every amount is checked, even one we don't keep
        return
    amount = x12_amount(amount_text, where)
    if code == "B":
        name = "copay"
    else:
        name = "deductible_remaining" if seg.get_value("EB06") == REMAINING else "deductible"
    if seg.get_value("EB12") == "N":
        answer._out_of_network.setdefault(name, amount)
    elif getattr(answer, name) is None:
        setattr(answer, name, amount)


def read_271(data: bytes | str) -> Response271:
    """Read a 271 file; raises ``X12FileError`` saying why when it is not a sound 271."""
    if isinstance(data, bytes):
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            raise X12FileError(
                "This is not an X12 file: it has characters X12 never uses."
            ) from None
    else:
        text = data
    stripped = text.lstrip("\ufeff\r\n\t ")
    if not stripped.startswith("ISA"):
        raise X12FileError("This is not an X12 file: it does not begin with an ISA segment.")
    try:
        reader = pyx12.x12file.X12Reader(io.StringIO(stripped))
        segments = list(reader)
        reader.cleanup()
    except pyx12.errors.X12Error as error:
        raise X12FileError(f"This is not a readable X12 file: {error}.") from None
    except (IndexError, KeyError, TypeError, ValueError, AttributeError):
        # pyx12's reader trips over some broken envelopes (e.g. a GE with no GS open).
        raise X12FileError(
            "The file is damaged: its ISA/GS/ST … SE/GE/IEA envelope does not hold together."
        ) from None
    problems = [message for _, _, message, _, _ in reader.pop_errors()]
    if problems:
        raise X12FileError("The file is damaged or incomplete: " + "; ".join(problems[:5]))
    interchange = ""
    answers: list[Answer] = []
    context: dict[str, str] = {}
    header: list[str] = []
    current: Answer | None = None
    subscriber: Answer | None = None
    level = ""
    loop = ""
    for number, seg in enumerate(segments, start=1):
        seg_id = seg.get_seg_id()
        where = f"Segment {number} ({seg_id})"
        text_of_segment = seg.format()
        if seg_id == "ISA":
            interchange = seg.get_value("ISA13") or ""
        elif seg_id == "GS":
            if seg.get_value("GS01") != "HB":
                raise X12FileError(
                    f"This is not an eligibility response (271): its group is "
                    f"{seg.get_value('GS01')!r}, a 271 group is 'HB'."
                )
        elif seg_id == "ST":
            if seg.get_value("ST01") != "271":
                raise X12FileError(
                    f"This is not an eligibility response (271) but a {seg.get_value('ST01')}."
                )
            header = []
        elif seg_id == "HL":
            level = seg.get_value("HL03") or ""
            loop = ""
            if level in ("20", "21"):
                current = None
                if level == "20":
                    header = []
                    context.clear()
                context.pop("receiver_rejection", None)
                header.append(text_of_segment)
            elif level in ("22", "23"):
                current = Answer(
                    payer_name=context.get("payer_name", ""),
                    payer_id=context.get("payer_id", ""),
                )
                if level == "22":
                    subscriber = current
                elif subscriber is not None:
                    current.member_id = subscriber.member_id
                    subscriber.has_dependents = True
                current.segments = [*header, text_of_segment]
                answers.append(current)
            else:
                raise X12FileError(f"{where}: unknown hierarchical level {level!r}.")
            continue
        if seg_id in ("ISA", "GS", "ST", "BHT", "SE", "GE", "IEA"):
            continue
        if seg_id == "LS":
            loop = "benefit-related entity"
        elif seg_id == "LE":
            loop = ""
        if current is None:
            if seg_id in ("NM1", "AAA", "PER", "REF", "PRV"):
                header.append(text_of_segment)
            if seg_id == "NM1" and level == "20":
                context["payer_name"] = seg.get_value("NM103") or ""
                context["payer_id"] = seg.get_value("NM109") or ""
            elif seg_id == "AAA" and seg.get_value("AAA01") == "N":
                reason = seg.get_value("AAA03") or ""
                key = "source_rejection" if level == "20" else "receiver_rejection"
                context[key] = REJECT_REASONS.get(reason, f"reason {reason}")
            continue
        current.segments.append(text_of_segment)
        for key in ("source_rejection", "receiver_rejection"):
            if context.get(key) and context[key] not in current.rejections:
                current.rejections.append(context[key])
        if loop:
            continue  # names of other entities (e.g. the primary care provider), not ours
        if seg_id == "TRN" and seg.get_value("TRN02"):
            # TRN01 2 echoes the trace of our inquiry; 1 is one the payer adds.
            current.trace_numbers.append(seg.get_value("TRN02"))
        elif seg_id == "NM1" and seg.get_value("NM101") in ("IL", "03"):
            current.last_name = seg.get_value("NM103") or ""
            current.first_name = seg.get_value("NM104") or ""
            if seg.get_value("NM109"):
                current.member_id = seg.get_value("NM109")
        elif seg_id == "AAA" and seg.get_value("AAA01") == "N":
            reason = seg.get_value("AAA03") or ""
            current.rejections.append(REJECT_REASONS.get(reason, f"reason {reason}"))
        elif seg_id == "DTP":
            read_plan_dates(current, seg, where)
        elif seg_id == "EB":
            read_benefit(current, seg, where)
    # A subscriber level that only carries its dependents' answers says nothing itself.
    answers = [
        answer
        for answer in answers
        if not (answer.has_dependents and not answer.eligibility_codes and not answer.rejections)
    ]
    for answer in answers:
        answer.finish()
    if not answers:
        raise X12FileError("The 271 answers about no subscriber: there is nothing to record.")
    return Response271(interchange_control_number=interchange, answers=answers, text=text)
