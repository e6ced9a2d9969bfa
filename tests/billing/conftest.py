import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from practicedesk.billing.models import Fee, FeeSchedule, ServiceCode
from practicedesk.billing.services import ChargeLine, charges_post, visit_diagnoses_set
from practicedesk.scheduling.models import Appointment
from tests import factories


@pytest.fixture
def service_codes(db):
    codes = {
        "99213": ("Office visit, established, low", "110.00"),
        "99214": ("Office visit, established, moderate", "165.00"),
        "36415": ("Venipuncture", "15.00"),
    }
    practice = FeeSchedule.objects.create(
        name="Practice fees", effective_from=datetime.date(2020, 1, 1)
    )
    result = {}
    for code, (description, amount) in codes.items():
        result[code] = ServiceCode.objects.create(code=code, description=description)
        Fee.objects.create(fee_schedule=practice, service_code=result[code], amount=Decimal(amount))
    return result


@pytest.fixture
def checked_out_visit(db, make_user):
    """A visit last week, checked out, billed to the patient's primary coverage."""
    location = factories.LocationFactory()
    provider = factories.ProviderFactory(locations=[location])
    coverage = factories.CoverageFactory(
        payer=factories.PayerFactory(name="Acme Health", payer_id="ACME1")
    )
    start = timezone.now().replace(microsecond=0) - datetime.timedelta(days=7)
    visit_type = factories.AppointmentTypeFactory(name="Follow-up")
    return Appointment.objects.create(
        patient=coverage.patient,
        provider=provider,
        location=location,
        appointment_type=visit_type,
        coverage=coverage,
        start=start,
        end=start + datetime.timedelta(minutes=20),
        status=Appointment.Status.CHECKED_OUT,
        arrived_at=start,
        checked_out_at=start + datetime.timedelta(minutes=25),
    )


@pytest.fixture
def billed_visit(checked_out_visit, service_codes, make_user):
    """The visit with two diagnoses and two posted charges (99214 and 36415)."""
    biller = make_user("biller", two_factor_exempt=True)
    visit_diagnoses_set(acting_user=biller, appointment=checked_out_visit, codes=["E11.9", "I10"])
    charges_post(
        acting_user=biller,
        appointment=checked_out_visit,
        lines=[
            ChargeLine(service_codes["99214"], diagnosis_pointers=(1, 2)),
            ChargeLine(service_codes["36415"], diagnosis_pointers=(1,)),
        ],
    )
    return checked_out_visit
