"""Files and fixtures the eligibility tests share: 271 responses and tomorrow's appointments."""

import datetime
from pathlib import Path

import pytest
from django.utils import timezone

from practicedesk.core.validators import npi_from_prefix
from tests import factories

SAMPLE_271 = (
    Path(__file__).resolve().parents[2]
    / "../shared/samples/x12/lfh-subscriber-health-benefit-check.271"
)
ISA = (
    "ISA*00*          *00*          *ZZ*ACMEHEALTH     *ZZ*PRACTICEDESK   *261127*0900*^*00501*"
    "000000777*0*T*:~"
)


def make_271(*subscribers: list[str], payer=("ACME HEALTH", "ACME1")) -> str:
    """A 271 interchange: the payer, the practice, then each subscriber's own segments."""
    body = [
        "ST*271*0001*005010X279A1",
        "BHT*0022*11*777*20261127*0900",
        "HL*1**20*1",
        f"NM1*PR*2*{payer[0]}*****PI*{payer[1]}",
        "HL*2*1*21*1",
        "NM1*1P*2*TEST PRACTICE*****XX*1234567893",
    ]
    for number, segments in enumerate(subscribers, start=3):
        body.append(f"HL*{number}*2*22*0")
        body.extend(segments)
    body.append(f"SE*{len(body) + 1}*0001")
    return (
        ISA
        + "\n".join(
            f"{segment}~"
            for segment in [
                "GS*HB*ACMEHEALTH*PRACTICEDESK*20261127*0900*777*X*005010X279A1",
                *body,
                "GE*1*777",
                "IEA*1*000000777",
            ]
        )
        + "\n"
    )


def answer(trace: str, member: str, *benefits: str, last="EXAMPLE", first="PAT") -> list[str]:
    return [f"TRN*2*{trace}*9123456789", f"NM1*IL*1*{last}*{first}****MI*{member}", *benefits]


ACTIVE = (
    "DTP*291*RD8*20260101-20261231",
    "EB*1*IND*30**GOLD PLAN",
    "EB*B*IND*98*HM*GOLD PLAN*27*25.00*****Y",
    "EB*B*IND*98*HM*GOLD PLAN*27*60.00*****N",
    "EB*C*IND*30*HM*GOLD PLAN*23*1500.00*****Y",
    "EB*C*IND*30*HM*GOLD PLAN*29*312.40*****Y",
)


@pytest.fixture
def practice(db):
    return factories.OrganizationFactory(npi=npi_from_prefix("123456789"))


def tomorrow_at(hour: int) -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture
def tomorrow(practice):
    """Two appointments tomorrow: the subscriber herself, and a child on a parent's policy."""
    payer = factories.PayerFactory(name="Acme Health", payer_id="ACME1")
    own = factories.CoverageFactory(payer=payer, member_id="ACM0001")
    child = factories.CoverageFactory(
        payer=payer,
        member_id="ACM0002",
        relationship="19",
        subscriber_first_name="Parent",
        subscriber_last_name="Example",
        subscriber_date_of_birth=datetime.date(1975, 3, 2),
        subscriber_sex="M",
    )
    visits = []
    for hour, coverage in ((9, own), (10, child)):
        visits.append(
            factories.AppointmentFactory(
                patient=coverage.patient,
                coverage=coverage,
                start=tomorrow_at(hour),
                end=tomorrow_at(hour) + datetime.timedelta(minutes=20),
                status="scheduled",
            )
        )
    return visits
