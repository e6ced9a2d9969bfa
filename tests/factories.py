"""Factories for every model the tests build; one place, shared by all areas."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth.hashers import make_password

from practicedesk.core.models import Document, Location, Organization, User
from practicedesk.core.validators import npi_from_prefix

TEST_PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    password = factory.LazyFunction(lambda: make_password(TEST_PASSWORD))


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("singleton",)

    singleton = 1
    name = "Test Practice"
    tax_id = "12-3456789"
    phone = "(555) 201-3344"
    address_line1 = "1 Test Way"
    city = "Springfield"
    state = "IL"
    postal_code = "62701"


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    code = factory.Sequence(lambda n: f"loc{n}")
    name = factory.Sequence(lambda n: f"Clinic {n}")
    phone = "(555) 201-3344"
    npi = factory.Sequence(lambda n: npi_from_prefix(f"{100000000 + n}"))
    tax_id = "12-3456789"
    address_line1 = "1 Test Way"
    city = "Springfield"
    state = "IL"
    postal_code = "62701"


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    title = factory.Sequence(lambda n: f"Document {n}")
    document_type = Document.Type.CONTRACT
    file = factory.django.FileField(filename="lease.pdf", data=b"%PDF-1.4\n%test\n")
    original_name = "lease.pdf"
    content_type_name = "application/pdf"
    size_bytes = 15
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    owner = factory.SubFactory(UserFactory)
    uploaded_by = factory.SelfAttribute("owner")
    retain_until = datetime.date(2033, 12, 31)


class PayerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "patients.Payer"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Payer {n}")
    payer_type = "commercial"
    payer_id = factory.Sequence(lambda n: f"PAY{n:04d}")
    address_line1 = "PO Box 100"
    city = "Chicago"
    state = "IL"
    postal_code = "60601"


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "patients.Patient"

    mrn = factory.Sequence(lambda n: f"T{n:07d}")
    first_name = factory.Sequence(lambda n: f"Pat{n}")
    last_name = "Example"
    date_of_birth = datetime.date(1980, 5, 17)
    sex_at_birth = "F"
    mobile_phone = factory.Sequence(lambda n: f"(555) 300-{n % 10000:04d}")
    email = factory.LazyAttribute(lambda o: f"{o.first_name.lower()}@patients.test")
    address_line1 = "9 Patient Road"
    city = "Springfield"
    state = "IL"
    postal_code = "62701"


class CoverageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "patients.Coverage"

    patient = factory.SubFactory(PatientFactory)
    payer = factory.SubFactory(PayerFactory)
    member_id = factory.Sequence(lambda n: f"M{n:08d}")
    effective_date = datetime.date(2020, 1, 1)


class ReferralSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "patients.ReferralSource"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Referral source {n}")
    kind = "physician"


class PatientAlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "patients.PatientAlert"

    patient = factory.SubFactory(PatientFactory)
    kind = "checks_not_accepted"
    severity = "warning"
    text = "Cash or card only"


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scheduling.Provider"
        skip_postgeneration_save = True

    first_name = "Dana"
    last_name = factory.Sequence(lambda n: f"Doctor{n}")
    credentials = "MD"
    npi = factory.Sequence(lambda n: npi_from_prefix(f"{200000000 + n}"))
    taxonomy_code = "207Q00000X"
    specialty = "Family medicine"

    @factory.post_generation
    def locations(self, create, extracted, **kwargs):
        if create and extracted:
            self.locations.set(extracted)


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scheduling.Room"

    location = factory.SubFactory(LocationFactory)
    name = factory.Sequence(lambda n: f"Exam {n}")


class AppointmentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scheduling.AppointmentType"
        django_get_or_create = ("name",)

    name = "Follow-up"
    duration_minutes = 20
    colour = "#4c78a8"
    needs_room = False


class ScheduleTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scheduling.ScheduleTemplate"

    weekday = 0
    start_time = datetime.time(8, 0)
    end_time = datetime.time(17, 0)
    effective_from = datetime.date(2020, 1, 1)


def weekly_schedule(
    provider, location, *, start=datetime.time(8), end=datetime.time(17), weekdays=range(7)
):
    """Give a provider working hours at a location on the given weekdays."""
    provider.locations.add(location)
    for weekday in weekdays:
        ScheduleTemplateFactory(
            provider=provider, location=location, weekday=weekday, start_time=start, end_time=end
        )


class AppointmentFactory(factory.django.DjangoModelFactory):
    """A checked-out visit last month (no availability checks: for billing and reports)."""

    class Meta:
        model = "scheduling.Appointment"

    patient = factory.SubFactory(PatientFactory)
    location = factory.SubFactory(LocationFactory)
    provider = factory.SubFactory(ProviderFactory)
    appointment_type = factory.SubFactory(AppointmentTypeFactory)
    start = factory.LazyFunction(lambda: datetime.datetime(2026, 10, 1, 14, 0, tzinfo=datetime.UTC))
    end = factory.LazyAttribute(lambda o: o.start + datetime.timedelta(minutes=20))
    status = "checked_out"


class ServiceCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "billing.ServiceCode"
        django_get_or_create = ("code",)

    code = "99213"
    description = "Office visit, established, low"


class ChargeFactory(factory.django.DjangoModelFactory):
    """A posted charge row (ledger entries are posted by the test, not by this factory)."""

    class Meta:
        model = "billing.Charge"

    patient = factory.SubFactory(PatientFactory)
    appointment = factory.SubFactory(AppointmentFactory, patient=factory.SelfAttribute("..patient"))
    rendering_provider = factory.SelfAttribute("appointment.provider")
    date_of_service = datetime.date(2026, 10, 1)
    service_code = factory.SubFactory(ServiceCodeFactory)
    unit_price = Decimal("100.00")
    amount = Decimal("100.00")
    diagnosis_pointers = factory.LazyFunction(lambda: [1])
