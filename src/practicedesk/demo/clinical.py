"""Demo patients, coverage, providers, schedules and appointments with their flow.

Built with bulk inserts in a fixed random order (seeded), so a size builds the same practice
every time and the `group` size (50,000 patients, 500,000+ appointments) takes a minute or two.
Each stage is skipped when its rows exist, so running the demo again adds nothing twice.
"""

import datetime
import random
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from practicedesk.core.models import Location, User
from practicedesk.core.validators import npi_from_prefix
from practicedesk.demo.names import CITIES, FIRST_NAMES, LAST_NAMES, SPECIALTIES, STREETS
from practicedesk.demo.sizes import DemoSize
from practicedesk.patients.models import Coverage, Patient, Payer, ReferralSource
from practicedesk.patients.services import mrns_reserve
from practicedesk.scheduling.models import (
    Appointment,
    AppointmentType,
    Encounter,
    Provider,
    Recall,
    RecordsRequest,
    Room,
    ScheduleTemplate,
    WaitlistEntry,
)

SEED = 20261127
BATCH = 5000
Progress = Callable[[str, int], None]

PAYERS = [
    ("Medicare Part B (Illinois)", Payer.Type.MEDICARE, "00952", 365),
    ("Illinois Medicaid", Payer.Type.MEDICAID, "IL621", 180),
    ("Blue Cross Blue Shield of Illinois", Payer.Type.COMMERCIAL, "00621", 180),
    ("Aetna", Payer.Type.COMMERCIAL, "60054", 120),
    ("UnitedHealthcare", Payer.Type.COMMERCIAL, "87726", 90),
    ("Cigna", Payer.Type.COMMERCIAL, "62308", 90),
    ("Humana", Payer.Type.COMMERCIAL, "61101", 180),
    ("Illinois Workers' Compensation Fund", Payer.Type.WORKERS_COMP, "WC001", 365),
]
PAYER_WEIGHTS = [22, 14, 24, 10, 12, 8, 6, 1]

APPOINTMENT_TYPES = [
    ("New patient visit", 40, "#4c78a8", AppointmentType.PatientKind.NEW, True),
    ("Follow-up", 20, "#59a14f", AppointmentType.PatientKind.ESTABLISHED, True),
    ("Annual physical", 40, "#b07aa1", AppointmentType.PatientKind.ESTABLISHED, True),
    ("Sick visit", 20, "#e15759", AppointmentType.PatientKind.ANY, True),
    ("Procedure", 30, "#f28e2b", AppointmentType.PatientKind.ESTABLISHED, True),
    ("Telehealth", 20, "#76b7b2", AppointmentType.PatientKind.ESTABLISHED, False),
]
TYPE_WEIGHTS = [8, 45, 12, 20, 5, 10]

REFERRAL_SOURCES = [
    ("Dr. Patel, Springfield Cardiology", ReferralSource.Kind.PHYSICIAN),
    ("Memorial Hospital discharge", ReferralSource.Kind.PHYSICIAN),
    ("Web search", ReferralSource.Kind.WEB),
    ("Practice website", ReferralSource.Kind.WEB),
    ("Friend or family member", ReferralSource.Kind.PATIENT),
    ("Insurance directory", ReferralSource.Kind.INSURANCE),
    ("Radio advertisement", ReferralSource.Kind.ADVERTISING),
]


def bulk(model, objects, progress: Progress, label: str) -> None:
    for start in range(0, len(objects), BATCH):
        model.objects.bulk_create(objects[start : start + BATCH], batch_size=BATCH)
        progress(label, min(start + BATCH, len(objects)))


def phone(rng: random.Random) -> str:
    return f"(217) {rng.randint(200, 989)}-{rng.randint(1000, 9999)}"


def build_reference_data() -> None:
    for name, payer_type, payer_id, filing in PAYERS:
        Payer.objects.get_or_create(
            name=name,
            defaults={
                "payer_type": payer_type,
                "payer_id": payer_id,
                "timely_filing_days": filing,
                "address_line1": "PO Box 1000",
                "city": "Chicago",
                "state": "IL",
                "postal_code": "60601",
                "phone": "(800) 555-0100",
            },
        )
    Payer.objects.get_or_create(
        name="Self-pay",
        defaults={
            "payer_type": Payer.Type.SELF_PAY,
            "address_line1": "—",
            "city": "Springfield",
            "state": "IL",
            "postal_code": "62701",
            "timely_filing_days": 3650,
        },
    )
    for name, kind in REFERRAL_SOURCES:
        ReferralSource.objects.get_or_create(name=name, defaults={"kind": kind})
    for name, minutes, colour, kind, room in APPOINTMENT_TYPES:
        AppointmentType.objects.get_or_create(
            name=name,
            defaults={
                "duration_minutes": minutes,
                "colour": colour,
                "patient_kind": kind,
                "needs_room": room,
            },
        )


def build_providers(
    size: DemoSize, rng: random.Random, locations: list[Location]
) -> list[Provider]:
    existing = list(Provider.objects.order_by("pk"))
    if existing:
        return existing
    clinician_role = Group.objects.get(name="Clinician")
    password = make_password(settings.DEMO_PASSWORD)
    providers = []
    for index in range(size.providers):
        specialty, taxonomy, credentials = SPECIALTIES[index % len(SPECIALTIES)]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        user, _ = User.objects.get_or_create(
            username=f"dr{index + 1:03d}",
            defaults={
                "first_name": first,
                "last_name": last,
                "password": password,
                "email": f"dr{index + 1:03d}@prairiehealth.example",
                "two_factor_exempt": True,
                "home_location": locations[index % len(locations)],
            },
        )
        user.groups.add(clinician_role)
        provider = Provider.objects.create(
            user=user,
            first_name=first,
            last_name=last,
            credentials=credentials,
            npi=npi_from_prefix(f"1{500000 + index:08d}"),
            taxonomy_code=taxonomy,
            specialty=specialty,
        )
        home = locations[index % len(locations)]
        provider.locations.add(home)
        days = dict.fromkeys(range(5), home)
        if len(locations) > 1 and index % 3 == 0:
            second = locations[(index + 1) % len(locations)]
            provider.locations.add(second)
            days[1] = days[3] = second
        for weekday, location in days.items():
            for start, end in (
                (datetime.time(8), datetime.time(12)),
                (datetime.time(13), datetime.time(17)),
            ):
                ScheduleTemplate.objects.create(
                    provider=provider,
                    location=location,
                    weekday=weekday,
                    start_time=start,
                    end_time=end,
                    effective_from=datetime.date(2020, 1, 1),
                )
        providers.append(provider)
    for location in locations:
        for number in range(location.providers.count() + 1):
            Room.objects.get_or_create(location=location, name=f"Exam {number + 1}")
    return providers


def build_patients(
    size: DemoSize, rng: random.Random, locations: list[Location], progress: Progress
) -> None:
    if Patient.objects.exists():
        return
    sources = list(ReferralSource.objects.all())
    mrns = mrns_reserve(size.patients)
    today = timezone.localdate()
    patients = []
    for index in range(size.patients):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, zip_code = rng.choice(CITIES)
        age_days = rng.randint(0, 92 * 365)
        patient = Patient(
            mrn=mrns[index],
            first_name=first,
            last_name=last,
            middle_name=rng.choice(FIRST_NAMES)[0] if rng.random() < 0.5 else "",
            preferred_name=first[:3] if rng.random() < 0.05 else "",
            date_of_birth=today - datetime.timedelta(days=age_days),
            sex_at_birth=rng.choice("FFMMU" if index % 97 == 0 else "FM"),
            address_line1=f"{rng.randint(10, 9999)} {rng.choice(STREETS)} Street",
            city=city,
            state="IL",
            postal_code=zip_code,
            mobile_phone=phone(rng) if rng.random() < 0.9 else "",
            home_phone=phone(rng) if rng.random() < 0.3 else "",
            email=f"{first}.{last}{index}@mail.example".lower() if rng.random() < 0.7 else "",
            preferred_language=rng.choice(["English"] * 12 + ["Spanish", "Polish", "Arabic"]),
            emergency_contact_name=f"{rng.choice(FIRST_NAMES)} {last}",
            emergency_contact_phone=phone(rng),
            emergency_contact_relationship="Family",
            referral_source=rng.choice(sources) if rng.random() < 0.6 else None,
            home_location=locations[index % len(locations)],
            reminder_email_consent=rng.random() < 0.65,
            marketing_email_consent=rng.random() < 0.3,
        )
        patient.refresh_search_fields()
        patients.append(patient)
    bulk(Patient, patients, progress, "patients")
    payers = list(Payer.objects.exclude(payer_type=Payer.Type.SELF_PAY).order_by("name"))
    weights = [PAYER_WEIGHTS[[p[0] for p in PAYERS].index(payer.name)] for payer in payers]
    medicare = next(p for p in payers if p.payer_type == Payer.Type.MEDICARE)
    coverages = []
    for patient_id, born in Patient.objects.values_list("pk", "date_of_birth").iterator():
        if rng.random() < 0.08:
            continue  # uninsured: self-pay
        payer = medicare if (today - born).days > 65 * 365 else rng.choices(payers, weights)[0]
        coverages.append(
            Coverage(
                patient_id=patient_id,
                payer=payer,
                member_id=f"{payer.payer_id}{patient_id:09d}",
                group_number=f"G{rng.randint(1000, 9999)}"
                if payer.payer_type == "commercial"
                else "",
                plan_name="PPO" if payer.payer_type == "commercial" else "",
                order=Coverage.Order.PRIMARY,
                effective_date=today - datetime.timedelta(days=900),
            )
        )
        if payer == medicare and rng.random() < 0.4:
            secondary = rng.choice([p for p in payers if p.payer_type == "commercial"])
            coverages.append(
                Coverage(
                    patient_id=patient_id,
                    payer=secondary,
                    member_id=f"S{patient_id:09d}",
                    plan_name="Medicare supplement",
                    order=Coverage.Order.SECONDARY,
                    effective_date=today - datetime.timedelta(days=900),
                )
            )
    bulk(Coverage, coverages, progress, "coverages")


def visit_flow(rng: random.Random, start, end, day, today, now):
    """Status and flow timestamps of one demo visit, by where it falls in time."""
    if day > today or (day == today and start > now + datetime.timedelta(minutes=30)):
        status = (
            Appointment.Status.CONFIRMED if rng.random() < 0.4 else Appointment.Status.SCHEDULED
        )
        return status, {}
    roll = rng.random()
    if roll < 0.06:
        return Appointment.Status.NO_SHOW, {}
    if roll < 0.13:
        late = rng.random() < 0.35
        cancelled = start - datetime.timedelta(
            hours=rng.randint(2, 20) if late else rng.randint(30, 200)
        )
        return Appointment.Status.CANCELLED, {
            "cancelled_at": cancelled,
            "cancel_reason": rng.choice(
                ["Feeling better", "Work conflict", "Transportation", "Childcare", "Weather"]
            ),
            "is_late_cancel": late,
        }
    arrived = start - datetime.timedelta(minutes=rng.randint(-5, 15))
    roomed = arrived + datetime.timedelta(minutes=rng.randint(2, 28))
    with_provider = roomed + datetime.timedelta(minutes=rng.randint(2, 18))
    checked_out = max(end, with_provider) + datetime.timedelta(minutes=rng.randint(3, 15))
    stamps = {
        "confirmed_at": start - datetime.timedelta(days=2),
        "arrived_at": arrived,
        "roomed_at": roomed,
        "provider_at": with_provider,
        "checked_out_at": checked_out,
    }
    if day == today:
        for status, field in (
            (Appointment.Status.ARRIVED, "roomed_at"),
            (Appointment.Status.ROOMED, "provider_at"),
            (Appointment.Status.WITH_PROVIDER, "checked_out_at"),
        ):
            if stamps[field] > now:
                keep = {"confirmed_at", "arrived_at", "roomed_at", "provider_at"}
                keep = {k for k in keep if stamps[k] <= now}
                if "arrived_at" not in keep:
                    return Appointment.Status.CONFIRMED, {"confirmed_at": stamps["confirmed_at"]}
                return status, {k: v for k, v in stamps.items() if k in keep}
    return Appointment.Status.CHECKED_OUT, stamps


def build_appointments(
    size: DemoSize, rng: random.Random, providers: list[Provider], progress: Progress
) -> None:
    if Appointment.objects.exists():
        return
    types = list(AppointmentType.objects.filter(name__in=[t[0] for t in APPOINTMENT_TYPES]))
    weights = [TYPE_WEIGHTS[[t[0] for t in APPOINTMENT_TYPES].index(t.name)] for t in types]
    patient_ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    primary = dict(Coverage.objects.filter(order=1).values_list("patient_id", "pk"))
    templates: dict[int, list[ScheduleTemplate]] = {}
    for template in ScheduleTemplate.objects.all():
        templates.setdefault(template.provider_id, []).append(template)
    rooms: dict[int, list[int]] = {}
    for room_id, location_id in Room.objects.order_by("name").values_list("pk", "location_id"):
        rooms.setdefault(location_id, []).append(room_id)
    room_of = {}
    for location_id, room_ids in rooms.items():
        at_location = [
            p
            for p in providers
            if any(t.location_id == location_id for t in templates.get(p.pk, ()))
        ]
        for index, provider in enumerate(at_location):
            room_of[(provider.pk, location_id)] = room_ids[index % len(room_ids)]
    now = timezone.now()
    today = timezone.localdate()
    first_day = today - datetime.timedelta(weeks=size.weeks_past)
    last_day = today + datetime.timedelta(weeks=size.weeks_future)
    panel = {
        provider.pk: patient_ids[index :: len(providers)]
        for index, provider in enumerate(providers)
    }
    fill = size.visits_per_provider_day / 24
    appointments = []
    total = 0
    day = first_day
    while day <= last_day:
        for provider in providers:
            pool = panel[provider.pk]
            for template in templates.get(provider.pk, ()):
                if not template.applies_on(day):
                    continue
                moment = timezone.make_aware(datetime.datetime.combine(day, template.start_time))
                window_end = timezone.make_aware(datetime.datetime.combine(day, template.end_time))
                while True:
                    kind = rng.choices(types, weights)[0]
                    end = moment + datetime.timedelta(minutes=kind.duration_minutes)
                    if end > window_end:
                        break
                    if rng.random() < fill:
                        status, stamps = visit_flow(rng, moment, end, day, today, now)
                        patient_id = rng.choice(pool)
                        appointments.append(
                            Appointment(
                                patient_id=patient_id,
                                provider_id=provider.pk,
                                location_id=template.location_id,
                                appointment_type=kind,
                                room_id=room_of.get((provider.pk, template.location_id))
                                if kind.needs_room
                                else None,
                                coverage_id=primary.get(patient_id),
                                start=moment,
                                end=end,
                                status=status,
                                **stamps,
                            )
                        )
                    moment = end
        if len(appointments) >= BATCH:
            Appointment.objects.bulk_create(appointments, batch_size=BATCH)
            total += len(appointments)
            progress("appointments", total)
            appointments = []
        day += datetime.timedelta(days=1)
    Appointment.objects.bulk_create(appointments, batch_size=BATCH)
    progress("appointments", total + len(appointments))


def build_encounters(rng: random.Random, progress: Progress) -> None:
    if Encounter.objects.exists():
        return
    signer = dict(Provider.objects.values_list("pk", "user_id"))
    now = timezone.now()
    encounters = []
    rows = Appointment.objects.filter(status=Appointment.Status.CHECKED_OUT).values_list(
        "pk", "patient_id", "provider_id", "start", "checked_out_at"
    )
    for pk, patient_id, provider_id, start, checked_out in rows.iterator(chunk_size=BATCH):
        lag = datetime.timedelta(hours=rng.choice([2, 6, 20, 30, 50, 80, 200]))
        signed = checked_out + lag < now and rng.random() < 0.97
        encounters.append(
            Encounter(
                appointment_id=pk,
                patient_id=patient_id,
                provider_id=provider_id,
                date_of_service=timezone.localdate(start),
                opened_at=checked_out,
                status=Encounter.Status.SIGNED if signed else Encounter.Status.OPEN,
                signed_at=checked_out + lag if signed else None,
                signed_by_id=signer.get(provider_id) if signed else None,
            )
        )
        if len(encounters) >= BATCH:
            Encounter.objects.bulk_create(encounters)
            progress("encounters", len(encounters))
            encounters = []
    Encounter.objects.bulk_create(encounters)


def build_followups(rng: random.Random, locations: list[Location]) -> None:
    if Recall.objects.exists():
        return
    today = timezone.localdate()
    physical = AppointmentType.objects.get(name="Annual physical")
    follow_up = AppointmentType.objects.get(name="Follow-up")
    patient_ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    sample = rng.sample(patient_ids, min(len(patient_ids), 400))
    Recall.objects.bulk_create(
        Recall(
            patient_id=pk,
            appointment_type=physical if i % 2 else follow_up,
            due_date=today + datetime.timedelta(days=rng.randint(-60, 120)),
            reason="Annual physical" if i % 2 else "Diabetes check (A1c)",
        )
        for i, pk in enumerate(sample[:300])
    )
    WaitlistEntry.objects.bulk_create(
        WaitlistEntry(
            patient_id=pk,
            appointment_type=follow_up,
            location=locations[i % len(locations)],
            wanted_before=today + datetime.timedelta(days=rng.randint(7, 40)),
            time_of_day=rng.choice(["any", "morning", "afternoon"]),
        )
        for i, pk in enumerate(sample[300:340])
    )
    for i, pk in enumerate(sample[340:370]):
        RecordsRequest.objects.create(
            patient_id=pk,
            requested_by="Patient" if i % 3 else "Attorney on patient's behalf",
            received_date=today - datetime.timedelta(days=rng.randint(0, 45)),
            status=RecordsRequest.Status.FULFILLED
            if i % 4 == 0
            else RecordsRequest.Status.RECEIVED,
        )


def build_clinical(size: DemoSize, progress: Progress) -> dict[str, int]:
    rng = random.Random(SEED)
    locations = list(Location.objects.order_by("pk"))[: size.locations]
    with transaction.atomic():
        build_reference_data()
        providers = build_providers(size, rng, locations)
    with transaction.atomic():
        build_patients(size, rng, locations, progress)
    with transaction.atomic():
        build_appointments(size, rng, providers, progress)
    with transaction.atomic():
        build_encounters(rng, progress)
        build_followups(rng, locations)
    return {
        "providers": Provider.objects.count(),
        "patients": Patient.objects.count(),
        "appointments": Appointment.objects.count(),
    }
