"""Eligibility by file: the 270 we write (validated by pyx12) and the 271 answers we record."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from practicedesk.billing.models import EligibilityCheck
from practicedesk.billing.services import eligibility_import, eligibility_request
from practicedesk.billing.x12.eligibility import read_271, validate_270
from practicedesk.core.models import AuditEvent
from practicedesk.core.validators import npi_from_prefix
from practicedesk.scheduling.models import Appointment
from tests import factories
from tests.billing import eligibility_files as files

pytestmark = pytest.mark.django_db

SAMPLE_271 = files.SAMPLE_271
ACTIVE = files.ACTIVE
answer = files.answer
make_271 = files.make_271
practice = files.practice
tomorrow = files.tomorrow
tomorrow_at = files.tomorrow_at


def requested(visits, user=None) -> list[EligibilityCheck]:
    return eligibility_request(acting_user=user, appointments=visits).checks


def test_the_270_validates_with_pyx12_against_the_005010x279a1_map(tomorrow):
    result = eligibility_request(acting_user=None, appointments=tomorrow)
    assert validate_270(result.text) == []
    text = result.text
    assert "GS*HS*PRACTICEDESK*CLEARINGHOUSE*" in text and "*005010X279A1~" in text
    assert "ST*270*0001*005010X279A1~" in text
    assert "NM1*PR*2*ACME HEALTH*****PI*ACME1~" in text
    assert f"NM1*1P*2*TEST PRACTICE*****XX*{npi_from_prefix('123456789')}~" in text
    assert "NM1*IL*1*EXAMPLE*PAT" in text and "*MI*ACM0001~" in text
    assert "NM1*03*1*EXAMPLE" in text  # the child, as a dependent of the subscriber
    assert "HL*4*2*22*1~" in text and "HL*5*4*23*0~" in text
    assert text.count("EQ*30~") == 2
    for check in result.checks:
        assert f"TRN*1*{check.trace_number}*1123456789~" in text


def test_the_270_validator_finds_what_is_wrong(tomorrow):
    text = eligibility_request(acting_user=None, appointments=tomorrow).text
    broken = text.replace("EQ*30~", "EQ*ZZ~", 1)
    problems = validate_270(broken)
    assert any("ZZ" in problem and "Service Type Code" in problem for problem in problems)
    missing = text.replace("BHT*0022*13", "BHT*0022*99", 1)
    assert validate_270(missing)


def test_a_270_records_one_check_per_coverage_with_its_trace_number(tomorrow, manager):
    checks = requested(tomorrow, manager)
    assert len(checks) == 2
    assert {check.appointment for check in checks} == set(tomorrow)
    assert all(check.status == EligibilityCheck.Status.REQUESTED for check in checks)
    assert len({check.trace_number for check in checks}) == 2
    assert AuditEvent.objects.filter(name="eligibility_request", user=manager).exists()


def test_appointments_that_cannot_be_asked_about_are_skipped_with_the_reason(tomorrow, practice):
    self_pay = factories.AppointmentFactory(start=tomorrow_at(11), status="scheduled")
    result = eligibility_request(acting_user=None, appointments=[*tomorrow, self_pay])
    assert len(result.checks) == 2
    assert len(result.skipped) == 1 and "no insurance coverage" in result.skipped[0]


def test_a_270_needs_the_practice_npi(tomorrow, practice):
    practice.npi = ""
    practice.save()
    with pytest.raises(ValidationError, match="group NPI"):
        eligibility_request(acting_user=None, appointments=tomorrow)
    assert not EligibilityCheck.objects.exists()


def test_an_active_271_records_copay_and_deductible_and_notes_the_appointment(tomorrow):
    own, _child = requested(tomorrow)
    result = eligibility_import(
        acting_user=None, data=make_271(answer(own.trace_number, "ACM0001", *ACTIVE))
    )
    assert result.recorded == [own] and not result.unmatched
    own.refresh_from_db()
    assert own.status == EligibilityCheck.Status.ACTIVE
    assert (own.plan_begin, own.plan_end) == (
        datetime.date(2026, 1, 1),
        datetime.date(2026, 12, 31),
    )
    assert own.copay == Decimal("25.00")  # in network, not the 60.00 out of network
    assert (own.deductible, own.deductible_remaining) == (Decimal("1500.00"), Decimal("312.40"))
    assert own.answered_at is not None and "EB*1*IND*30" in own.response
    assert "GOLD PLAN" in own.message
    visit = Appointment.objects.get(pk=own.appointment_id)
    today = timezone.localdate()
    assert visit.eligibility_note.startswith(
        f"Eligibility checked on {today:%Y-%m-%d}: active, copay $25.00"
    )
    assert not visit.needs_attention


def test_an_inactive_271_flags_the_appointment_for_the_front_desk(tomorrow):
    own, _child = requested(tomorrow)
    eligibility_import(
        acting_user=None,
        data=make_271(answer(own.trace_number, "ACM0001", "EB*6**30**GOLD PLAN")),
    )
    own.refresh_from_db()
    visit = Appointment.objects.get(pk=own.appointment_id)
    assert own.status == EligibilityCheck.Status.INACTIVE
    assert visit.needs_attention
    assert "INACTIVE" in visit.eligibility_note


def test_a_rejected_inquiry_is_recorded_as_an_error_and_flags_the_appointment(tomorrow):
    own, _child = requested(tomorrow)
    eligibility_import(
        acting_user=None,
        data=make_271(answer(own.trace_number, "ACM0001", "AAA*N**75*C")),
    )
    own.refresh_from_db()
    assert own.status == EligibilityCheck.Status.ERROR
    assert "subscriber/insured not found" in own.message
    assert Appointment.objects.get(pk=own.appointment_id).needs_attention


def test_an_answer_without_our_trace_is_matched_by_member_id_and_payer(tomorrow):
    own, _child = requested(tomorrow)
    text = make_271(
        ["NM1*IL*1*EXAMPLE*PAT****MI*ACM0001", "EB*1**30"],
    )
    result = eligibility_import(acting_user=None, data=text)
    assert result.recorded == [own]


def test_a_dependent_answer_is_recorded_on_the_childs_check(tomorrow):
    _own, child = requested(tomorrow)
    text = make_271(
        [
            "NM1*IL*1*EXAMPLE*PARENT****MI*ACM0002",
            "HL*4*3*23*0",
            f"TRN*2*{child.trace_number}*9123456789",
            "NM1*03*1*EXAMPLE*KID",
            "EB*1**30",
            "EB*B**98****15.00",
        ]
    )
    result = eligibility_import(acting_user=None, data=text)
    assert result.recorded == [child] and not result.unmatched
    child.refresh_from_db()
    assert child.copay == Decimal("15.00")


def test_the_same_271_imported_twice_is_recorded_once(tomorrow):
    own, _child = requested(tomorrow)
    text = make_271(answer(own.trace_number, "ACM0001", *ACTIVE))
    eligibility_import(acting_user=None, data=text)
    answered_at = EligibilityCheck.objects.get(pk=own.pk).answered_at
    again = eligibility_import(acting_user=None, data=text)
    assert not again.recorded and len(again.already) == 1
    assert EligibilityCheck.objects.get(pk=own.pk).answered_at == answered_at


@pytest.mark.skipif(
    not SAMPLE_271.exists(), reason=f"NOTICE: the shared sample {SAMPLE_271} is absent"
)
def test_the_shared_sample_271_imports_and_is_reported_unmatched(tomorrow):
    requested(tomorrow)
    result = eligibility_import(acting_user=None, data=SAMPLE_271.read_bytes())
    assert result.recorded == []
    assert len(result.unmatched) == 1
    assert "93175-012547" in result.unmatched[0] and "ABC COMPANY" in result.unmatched[0]
    assert not EligibilityCheck.objects.exclude(status="requested").exists()
    answer_read = read_271(SAMPLE_271.read_bytes()).answers[0]
    assert (answer_read.status, answer_read.copay) == ("active", Decimal("10.00"))
    assert answer_read.plan_begin == datetime.date(2006, 1, 1)


def bad_files(trace: str) -> dict[str, tuple[bytes | str, str]]:
    good = make_271(answer(trace, "ACM0001", *ACTIVE))
    return {
        "not x12": (b"Name,Member\nPat,ACM0001\n", "not an X12 file"),
        "binary": (b"\x89PNG\r\n\x1a\n\x00\x00", "not an X12 file"),
        "truncated": (good[: len(good) // 2], "damaged or incomplete"),
        "cut in the header": (good[:60], "not a readable X12 file"),
        "negative amount": (good.replace("*25.00*", "*-25.00*"), "negative"),
        "bad amount": (good.replace("*25.00*", "*2S.00*"), "not an amount"),
        "bad date": (good.replace("20261231", "20261331"), "not a date"),
        "wrong count": (good.replace("SE*", "SE*9", 1), "damaged or incomplete"),
        "an 835": (good.replace("GS*HB", "GS*HP"), "not an eligibility response"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "not x12",
        "binary",
        "truncated",
        "cut in the header",
        "negative amount",
        "bad amount",
        "bad date",
        "wrong count",
        "an 835",
    ],
)
def test_a_bad_271_is_refused_with_the_reason_and_changes_nothing(tomorrow, case):
    own, _child = requested(tomorrow)
    data, reason = bad_files(own.trace_number)[case]
    with pytest.raises(ValidationError) as raised:
        eligibility_import(acting_user=None, data=data)
    assert reason in " ".join(raised.value.messages)
    own.refresh_from_db()
    assert own.status == EligibilityCheck.Status.REQUESTED and own.answered_at is None
    visit = Appointment.objects.get(pk=own.appointment_id)
    assert visit.eligibility_note == "" and not visit.needs_attention
