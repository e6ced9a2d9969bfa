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


class ScheduleExceptionFactory(factory.django.DjangoModelFactory):
    """A provider's day of leave (closed time)."""

    class Meta:
        model = "scheduling.ScheduleException"

    kind = "leave"
    provider = factory.SubFactory(ProviderFactory)
    start = datetime.datetime(2026, 12, 24, 0, 0, tzinfo=datetime.UTC)
    end = datetime.datetime(2026, 12, 25, 0, 0, tzinfo=datetime.UTC)
    reason = "Annual leave"


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


class WaitlistEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scheduling.WaitlistEntry"

    patient = factory.SubFactory(PatientFactory)
    appointment_type = factory.SubFactory(AppointmentTypeFactory)
    location = factory.SubFactory(LocationFactory)
    wanted_before = factory.LazyFunction(
        lambda: datetime.date.today() + datetime.timedelta(days=60)
    )


class RecallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scheduling.Recall"

    patient = factory.SubFactory(PatientFactory)
    appointment_type = factory.SubFactory(AppointmentTypeFactory)
    due_date = datetime.date(2026, 10, 1)
    reason = "Annual physical"


class EncounterFactory(factory.django.DjangoModelFactory):
    """The open encounter of a checked-out visit (as checkout opens it)."""

    class Meta:
        model = "scheduling.Encounter"

    appointment = factory.SubFactory(AppointmentFactory)
    patient = factory.SelfAttribute("appointment.patient")
    provider = factory.SelfAttribute("appointment.provider")
    date_of_service = factory.LazyAttribute(lambda o: o.appointment.start.date())
    opened_at = factory.LazyAttribute(lambda o: o.appointment.end)


class RecordsRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scheduling.RecordsRequest"

    patient = factory.SubFactory(PatientFactory)
    requested_by = "The patient"
    received_date = datetime.date(2026, 10, 1)


class ClaimFactory(factory.django.DjangoModelFactory):
    """A draft claim row (lines, status history and ledger are the test's business)."""

    class Meta:
        model = "billing.Claim"

    claim_number = factory.Sequence(lambda n: f"TC{n:08d}")
    appointment = factory.SubFactory(AppointmentFactory)
    patient = factory.SelfAttribute("appointment.patient")
    coverage = factory.SubFactory(CoverageFactory, patient=factory.SelfAttribute("..patient"))
    payer = factory.SelfAttribute("coverage.payer")
    billing_location = factory.SelfAttribute("appointment.location")
    rendering_provider = factory.SelfAttribute("appointment.provider")
    date_of_service = datetime.date(2026, 10, 1)
    total_charge = Decimal("100.00")


class ClaimBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "billing.ClaimBatch"

    # Far above the numbers sequence_next hands out, so an export in the same test never collides.
    interchange_control_number = factory.Sequence(lambda n: 900_000_000 + n)
    group_control_number = factory.Sequence(lambda n: 900_000_000 + n)
    claim_count = 0
    total_charge = Decimal("0.00")
    content = "ISA*00*~"


class RemittanceFactory(factory.django.DjangoModelFactory):
    """An imported 835 transaction row (lines, items and ledger are the test's business)."""

    class Meta:
        model = "billing.Remittance"

    file_sha256 = factory.Sequence(lambda n: f"{n:064x}")
    transaction_control_number = "0001"
    payer = factory.SubFactory(PayerFactory)
    payer_name = factory.SelfAttribute("payer.name")
    payment_method = "ACH"
    payment_amount = Decimal("100.00")
    payment_date = datetime.date(2026, 10, 20)
    trace_number = factory.Sequence(lambda n: f"EFT{n:06d}")
    posted_total = Decimal("100.00")


class RemittanceLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "billing.RemittanceLine"

    remittance = factory.SubFactory(RemittanceFactory)
    claim = factory.SubFactory(ClaimFactory)
    claim_number = factory.SelfAttribute("claim.claim_number")
    claim_status_code = "1"
    procedure_code = "99213"
    billed = Decimal("110.00")
    allowed = Decimal("90.00")
    paid = Decimal("70.00")
    patient_responsibility = Decimal("20.00")
    service_date = datetime.date(2026, 10, 1)


class ReconciliationItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "billing.ReconciliationItem"

    remittance = factory.SubFactory(RemittanceFactory)
    claim_number = "NOTOURS1"
    description = "No claim here has patient control number NOTOURS1."
    amount = Decimal("30.00")


class UnderpaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "billing.Underpayment"

    remittance_line = factory.SubFactory(RemittanceLineFactory)
    claim = factory.SelfAttribute("remittance_line.claim")
    contracted = Decimal("100.00")
    allowed = Decimal("90.00")
    paid = Decimal("70.00")
    difference = Decimal("10.00")


# Payments, plans, financial assistance, collections

VALID_ROUTING_NUMBER = "021000021"


def patient_charge(
    patient=None,
    amount="100.00",
    *,
    date_of_service=datetime.date(2026, 10, 1),
    responsibility="patient",
    payer=None,
):
    """A posted charge with its CHARGE ledger entry (the patient's balance, by default)."""
    from practicedesk.billing.ledger import entry_post

    patient = patient or PatientFactory()
    charge = ChargeFactory(
        patient=patient,
        amount=Decimal(amount),
        unit_price=Decimal(amount),
        date_of_service=date_of_service,
    )
    entry_post(
        kind="charge",
        amount=Decimal(amount),
        responsibility=responsibility,
        patient_id=patient.pk,
        charge=charge,
        payer=payer,
        posted_on=date_of_service,
    )
    return charge


class PaymentFactory(factory.django.DjangoModelFactory):
    """A payment row only: services post its ledger entries, this factory does not."""

    class Meta:
        model = "billing.Payment"

    receipt_number = factory.Sequence(lambda n: f"TR{n:08d}")
    patient = factory.SubFactory(PatientFactory)
    method = "check"
    amount = Decimal("50.00")
    check_number = factory.Sequence(lambda n: f"{1000 + n}")
    routing_number = VALID_ROUTING_NUMBER
    received_on = datetime.date(2026, 10, 2)
    location = factory.SubFactory(LocationFactory)


class CollectionCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "billing.CollectionCase"

    patient = factory.SubFactory(PatientFactory)
    balance_at_open = Decimal("120.00")
    reason = "Statement unpaid after 90 days"


class PaymentPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "billing.PaymentPlan"

    patient = factory.SubFactory(PatientFactory)
    total = Decimal("300.00")
    down_payment = Decimal("50.00")
    instalment_amount = Decimal("100.00")
    frequency = "monthly"
    start_date = datetime.date(2026, 10, 1)


class FinancialAssistanceBandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "billing.FinancialAssistanceBand"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Band {n}")
    poverty_level_max = 200
    discount_percent = Decimal("50.00")


class FinancialAssistanceApprovalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "billing.FinancialAssistanceApproval"

    patient = factory.SubFactory(PatientFactory)
    band = factory.SubFactory(FinancialAssistanceBandFactory)
    household_income = Decimal("30000.00")
    household_size = 3
    poverty_level_percent = Decimal("112.78")
    valid_from = datetime.date(2026, 1, 1)
    valid_until = datetime.date(2026, 12, 31)
    approved_by = factory.SubFactory(UserFactory)


class FeeScheduleFactory(factory.django.DjangoModelFactory):
    """The practice's own fee schedule (no payer) from 2020."""

    class Meta:
        model = "billing.FeeSchedule"

    name = factory.Sequence(lambda n: f"Practice fees {n}")
    effective_from = datetime.date(2020, 1, 1)


class FeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "billing.Fee"

    fee_schedule = factory.SubFactory(FeeScheduleFactory)
    service_code = factory.SubFactory(ServiceCodeFactory)
    amount = Decimal("110.00")


class EligibilityCheckFactory(factory.django.DjangoModelFactory):
    """A 270 inquiry awaiting its 271."""

    class Meta:
        model = "billing.EligibilityCheck"

    coverage = factory.SubFactory(CoverageFactory)
    trace_number = factory.Sequence(lambda n: f"T{n:010d}")
