"""Benchmark data at practice-group scale (issue #7): `practicedesk demo --size scale`.

200,000 patients, 150 providers in 10 locations, three years of appointments (2,000,000+)
with their diagnoses, encounters, charges, claims and lines, claim status history, payer
payments, contractual adjustments, transfers of patient responsibility and patient payments
as ledger entries (5,000,000+). Every balance is the sum of its entries; every charge is
priced from the practice's fee schedule; every claim line points at a charge of the claim's
visit. Payer payments carry no remittance lines (history was not imported from 835 files).

Built in phases. Each phase runs in one transaction and records itself in the marker table
``practicedesk_scale_build`` in that same transaction, so an interrupted build leaves either a
finished phase or nothing of it; running the command again continues with the first phase not
recorded. The ``complete`` marker is written last: the benchmarks refuse a dataset without it.

Rows are generated from seeded random streams (one per phase, so a resumed build makes what
an uninterrupted one would have) and written with COPY on PostgreSQL (psycopg 3's
``cursor.copy``) or ``executemany`` on SQLite, in chunks, with explicit primary keys; the
identity sequences are moved past them at the end. The data is laid out around the day the
build started (``anchor``), recorded with the first phase.
"""

import datetime
import itertools
import json
import queue
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from decimal import Decimal

from django.db import connection, models, transaction
from django.utils import timezone

from practicedesk.billing.models import (
    Charge,
    Claim,
    ClaimLine,
    ClaimStatusChange,
    Fee,
    FeeSchedule,
    LedgerEntry,
    Payment,
    ServiceCode,
    VisitDiagnosis,
    validate_icd10,
)
from practicedesk.core.models import Location, Sequence, User
from practicedesk.core.periodic import periodic_run_now
from practicedesk.core.validators import npi_from_prefix
from practicedesk.demo import clinical
from practicedesk.demo.foundation import build_foundation
from practicedesk.demo.names import CITIES, FIRST_NAMES, LAST_NAMES, STREETS
from practicedesk.demo.sizes import NIGHTLY_FIGURES, DemoSize
from practicedesk.patients.models import Coverage, Patient, Payer, ReferralSource
from practicedesk.patients.services import mrns_reserve
from practicedesk.scheduling.models import (
    Appointment,
    AppointmentType,
    Encounter,
    FlowEvent,
    Provider,
    Room,
    ScheduleTemplate,
)

VERSION = 1
MARKER_TABLE = "practicedesk_scale_build"
PHASES = ("foundation", "patients", "visits", "finish")
COMPLETE = "complete"
FLUSH_ROWS = 250_000
UTC = datetime.UTC
INSURANCE = LedgerEntry.Responsibility.INSURANCE
PATIENT = LedgerEntry.Responsibility.PATIENT


@dataclass(frozen=True)
class ScaleSize:
    name: str
    locations: int
    providers: int
    patients: int
    weeks_past: int
    weeks_future: int
    fill: float  # share of a provider's slots that are booked
    ready_days: int = 9  # claims of the visits of the last days are ready to send
    seed: int = 7_2026


SCALE_SIZES = {
    "scale": ScaleSize("scale", 10, 150, 200_000, 156, 4, 0.88),
    # The `group` demo's dimensions (8 locations, 60 providers, 50,000 patients, 100 weeks),
    # every provider billed: the benchmark's dashboard at the group size of issue #6.
    "scale-group": ScaleSize("scale-group", 8, 60, 50_000, 100, 6, 0.88),
    # For the benchmark's --quick runs and its SQLite part.
    "scale-quick": ScaleSize("scale-quick", 3, 24, 20_000, 26, 2, 0.9),
}

EXTRA_SITES = [
    ("AUB", "Auburn Family Medicine", "220 Jefferson Street", "Auburn", "IL", "62615"),
    ("PETE", "Petersburg Health Clinic", "9 Douglas Avenue", "Petersburg", "IL", "62675"),
]

# (code, description, practice fee in cents)
SERVICE_CODES = [
    ("99203", "Office visit, new patient, low complexity", 17500),
    ("99204", "Office visit, new patient, moderate complexity", 26000),
    ("99213", "Office visit, established patient, low complexity", 12500),
    ("99214", "Office visit, established patient, moderate complexity", 18000),
    ("99396", "Preventive visit, established patient, 40-64", 22000),
    ("36415", "Routine venipuncture", 1500),
    ("81002", "Urinalysis, non-automated, without microscopy", 1200),
    ("11102", "Tangential biopsy of skin, single lesion", 14000),
]
# appointment type -> (service codes to choose from for the first line)
TYPE_CODES = {
    "New patient visit": ("99203", "99204"),
    "Follow-up": ("99213", "99214"),
    "Annual physical": ("99396",),
    "Sick visit": ("99213", "99214"),
    "Procedure": ("11102",),
    "Telehealth": ("99213",),
}
SECOND_LINE = ("36415", "81002")
DIAGNOSES = ("I10", "E11.9", "J06.9", "Z00.00", "M54.50", "R05.9", "E78.5", "F41.1", "K21.9")
# payer id -> what the payer allows, as a share of the practice's fee
ALLOWED_SHARE = {
    "00952": 0.55,
    "IL621": 0.45,
    "00621": 0.75,
    "60054": 0.72,
    "87726": 0.70,
    "62308": 0.73,
    "61101": 0.65,
    "WC001": 0.90,
}
COPAYS = (2000, 2500, 3000, 4000)
CANCEL_REASONS = ("Feeling better", "Work conflict", "Transportation", "Childcare", "Weather")
SIGN_LAGS = (2, 6, 20, 30, 50, 80, 200)
# Encounters (chart closure) are kept for the recent visits only: the figures look back weeks.
ENCOUNTER_DAYS = 120
DENIAL_REASONS = (
    "CO-16 Claim lacks information needed for adjudication",
    "CO-197 Precertification/authorization absent",
    "CO-29 The time limit for filing has expired",
)

Progress = Callable[[str], None]


class ScaleBuildError(Exception):
    """The database cannot take (or continue) this scale build; the message says why."""


# The marker table


def _marker_sql() -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} "
        "(phase varchar(20) PRIMARY KEY, spec text NOT NULL, seconds real NOT NULL, "
        "finished_at varchar(40) NOT NULL)"
    )


def scale_markers() -> dict[str, dict]:
    """The recorded phases: {phase: {"spec": {...}, "seconds": s, "finished_at": iso}}."""
    with connection.cursor() as cursor:
        if MARKER_TABLE not in connection.introspection.table_names(cursor):
            return {}
        cursor.execute(f"SELECT phase, spec, seconds, finished_at FROM {MARKER_TABLE}")  # noqa: S608
        return {
            phase: {"spec": json.loads(spec), "seconds": seconds, "finished_at": finished}
            for phase, spec, seconds, finished in cursor.fetchall()
        }


def scale_complete(name: str | None = None) -> dict | None:
    """The spec of a complete scale dataset (of that size, if named), else None."""
    done = scale_markers().get(COMPLETE)
    if done is None or done["spec"].get("version") != VERSION:
        return None
    if name is not None and done["spec"].get("size") != name:
        return None
    return done["spec"]


def _mark(phase: str, spec: dict, seconds: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE} (phase, spec, seconds, finished_at) "  # noqa: S608
            "VALUES (%s, %s, %s, %s)",
            [phase, json.dumps(spec), seconds, timezone.now().isoformat()],
        )


# Writing rows


def _constant(field: models.Field):
    value = field.get_default()
    if value is None and not field.null:
        raise ScaleBuildError(f"{field.model.__name__}.{field.name} needs a value in scale.py.")
    if isinstance(field, models.JSONField):
        return json.dumps(value)
    return value


class Table:
    """A model's table as the generator writes it: the named columns in the given order, then
    every other column with its (constant) default."""

    def __init__(self, model: type[models.Model], names: str):
        self.model = model
        self.name = model._meta.db_table
        fields = {field.attname: field for field in model._meta.concrete_fields}
        given = names.split()
        unknown = [name for name in given if name not in fields]
        if unknown:
            raise ScaleBuildError(f"{model.__name__} has no column(s) {unknown}.")
        rest = [field for name, field in fields.items() if name not in given]
        self.fields = [fields[name] for name in given] + rest
        self.columns = [field.column for field in self.fields]
        self.constants = tuple(_constant(field) for field in rest)
        self.rows: list[tuple] = []
        self.written = 0

    def add(self, *values) -> None:
        self.rows.append(values)

    def copy_suffix(self) -> str:
        return "".join("\t" + copy_text(value) for value in self.constants)


_texts: dict[datetime.datetime, str] = {}


def copy_text(value, _datetime=datetime.datetime, _texts=_texts) -> str:
    """A value in PostgreSQL's COPY text format. The generator's strings hold no tab, newline
    or backslash, so nothing needs escaping; booleans print as True/False, which COPY reads.
    Times repeat a lot (visits start on the same minutes), and printing one is slow: cached."""
    if value is None:
        return "\\N"
    if type(value) is _datetime:
        text = _texts.get(value)
        if text is None:
            if len(_texts) > 500_000:
                _texts.clear()
            text = _texts[value] = str(value)
        return text
    return str(value)


def _sqlite_converter(field: models.Field):
    if isinstance(field, models.DateTimeField):
        return lambda v: (
            None if v is None else str(v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo else v)
        )
    if isinstance(field, models.DateField):
        return lambda v: None if v is None else v.isoformat()
    if isinstance(field, models.DecimalField):
        return lambda v: None if v is None else str(v)
    return None


class Sink:
    """Writes the buffered rows of tables, in the order given (parents before children).

    On PostgreSQL the rows are turned into COPY text here and sent by a loader thread, so the
    database ingests one chunk while the next is generated."""

    def __init__(self, tables: list[Table], progress: Progress, label: str):
        self.tables = tables
        self.progress = progress
        self.label = label
        self.started = time.monotonic()
        self.vendor = connection.vendor
        self.raw = connection.connection
        self.indexes: list[tuple[str, str]] = []
        self.queue: queue.Queue | None = None
        self.loader: threading.Thread | None = None
        self.failure: BaseException | None = None
        if self.vendor == "sqlite":
            self.converters = {
                table.name: [_sqlite_converter(field) for field in table.fields] for table in tables
            }

    def begin(self) -> None:
        """Empty the phase's tables inside the phase's transaction (they are empty unless a
        half-written phase is being redone), so PostgreSQL can COPY them FREEZE."""
        if self.vendor != "postgresql":
            return
        names = ", ".join(f'"{table.name}"' for table in self.tables)
        with self.raw.cursor() as cursor:
            cursor.execute(f"TRUNCATE {names} CASCADE")
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            cursor.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
            )
            if cursor.fetchone()[0]:
                # Rows are written with their keys already consistent: skip the per-row
                # foreign-key triggers (only a superuser may; otherwise they run at commit).
                cursor.execute("SET LOCAL session_replication_role = replica")
            # Indexes are built once at the end, faster than row by row.
            for table in self.tables:
                cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
                    "AND indexname NOT IN (SELECT conname FROM pg_constraint "
                    "WHERE conrelid = %s::regclass)",
                    [table.name, table.name],
                )
                for name, definition in cursor.fetchall():
                    cursor.execute(f'DROP INDEX "{name}"')
                    self.indexes.append((name, definition))
        self.queue = queue.Queue(maxsize=4)
        self.loader = threading.Thread(target=self._load, daemon=True)
        self.loader.start()

    def _load(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.failure is not None:
                continue
            sql, text = item
            try:
                with self.raw.cursor() as cursor, cursor.copy(sql) as copy:
                    copy.write(text)
            except BaseException as error:
                self.failure = error

    def flush(self, force: bool = False) -> None:
        if not force and sum(len(table.rows) for table in self.tables) < FLUSH_ROWS:
            return
        if self.failure is not None:
            raise self.failure
        for table in self.tables:
            if table.rows:
                self._write(table)
                table.written += len(table.rows)
                table.rows = []
        self.report()

    def end(self) -> None:
        """Write what is left, wait for the loader, build the indexes dropped by ``begin``."""
        self.flush(force=True)
        if self.vendor != "postgresql":
            return
        self.queue.put(None)
        self.loader.join()
        if self.failure is not None:
            raise self.failure
        self.report()
        started = time.monotonic()
        with self.raw.cursor() as cursor:
            for number, (name, definition) in enumerate(self.indexes, start=1):
                self.progress(f"{self.label}: index {number} of {len(self.indexes)} ({name})")
                cursor.execute(definition)
        self.progress(
            f"{self.label}: {len(self.indexes)} indexes built in {time.monotonic() - started:.0f} s"
        )

    def _write(self, table: Table) -> None:
        columns = ", ".join(f'"{column}"' for column in table.columns)
        if self.vendor == "postgresql":
            suffix = table.copy_suffix() + "\n"
            text = "".join(["\t".join(map(copy_text, row)) + suffix for row in table.rows])
            self.queue.put(
                (f'COPY "{table.name}" ({columns}) FROM STDIN WITH (FREEZE)', text.encode())
            )
            return
        converters = self.converters[table.name]
        active = [(i, c) for i, c in enumerate(converters) if c is not None]
        constants = table.constants
        rows = [row + constants for row in table.rows]
        if active:
            converted = []
            for row in rows:
                values = list(row)
                for index, convert in active:
                    values[index] = convert(values[index])
                converted.append(values)
            rows = converted
        marks = ", ".join("?" * len(table.columns))
        self.raw.executemany(
            f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})',  # noqa: S608
            rows,
        )

    @property
    def total(self) -> int:
        return sum(table.written for table in self.tables)

    def report(self) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.progress(
            f"{self.label}: {self.total:,} rows, {self.total / elapsed:,.0f} rows/s "
            f"({elapsed:.0f} s)"
        )


def next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1


def cents(value: int) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // 100}.{value % 100:02d}"


def sequence_value(name: str) -> int:
    row = Sequence.objects.filter(name=name).first()
    return row.value if row else 0


def sequence_set(name: str, value: int) -> None:
    Sequence.objects.update_or_create(name=name, defaults={"value": value})


# Phase 1: the practice, its people and reference data (ORM; small)


def _build_foundation(size: ScaleSize, spec: dict) -> dict:
    demo = DemoSize(
        size.name,
        locations=min(size.locations, 8),
        providers=size.providers,
        patients=size.patients,
        weeks_past=size.weeks_past,
        weeks_future=size.weeks_future,
        visits_per_provider_day=0,
    )
    build_foundation(demo)
    for index, (code, name, street, city, state, zip_code) in enumerate(
        EXTRA_SITES[: max(0, size.locations - 8)], start=9
    ):
        Location.objects.get_or_create(
            code=code.lower(),
            defaults={
                "name": name,
                "address_line1": street,
                "city": city,
                "state": state,
                "postal_code": zip_code,
                "phone": f"(217) 555-01{index:02d}",
                "npi": npi_from_prefix(f"1{index:02d}0000{index:02d}"),
                "tax_id": "37-1234567",
            },
        )
    clinical.build_reference_data()
    for code in DIAGNOSES:
        validate_icd10(code)
    codes = {}
    for code, description, _fee in SERVICE_CODES:
        codes[code], _ = ServiceCode.objects.get_or_create(
            code=code, defaults={"description": description}
        )
    start = datetime.date(2015, 1, 1)
    schedules = [(None, "Practice fees", 1.0)] + [
        (payer, f"{payer.name} contract", ALLOWED_SHARE[payer.payer_id])
        for payer in Payer.objects.filter(payer_id__in=ALLOWED_SHARE)
    ]
    for payer, name, share in schedules:
        if FeeSchedule.objects.filter(payer=payer, effective_from__lte=start).exists():
            continue
        schedule = FeeSchedule.objects.create(name=name, payer=payer, effective_from=start)
        Fee.objects.bulk_create(
            Fee(
                fee_schedule=schedule,
                service_code=codes[code],
                amount=Decimal(cents(round(fee * share))),
            )
            for code, _description, fee in SERVICE_CODES
        )
    locations = list(Location.objects.order_by("pk"))[: size.locations]
    rng = random.Random(f"{size.seed}-providers")
    clinical.build_providers(demo, rng, locations)
    return spec


# Phase 2: patients and their coverage


def _build_patients(size: ScaleSize, spec: dict, progress: Progress) -> None:
    rng = random.Random(f"{size.seed}-patients")
    anchor = datetime.date.fromisoformat(spec["anchor"])
    now = timezone.now()
    locations = list(Location.objects.order_by("pk").values_list("pk", flat=True))[: size.locations]
    sources = list(ReferralSource.objects.order_by("pk").values_list("pk", flat=True))
    patients = Table(
        Patient,
        "id mrn first_name last_name middle_name preferred_name date_of_birth sex_at_birth "
        "address_line1 city state postal_code mobile_phone home_phone email preferred_language "
        "emergency_contact_name emergency_contact_phone emergency_contact_relationship "
        "referral_source_id home_location_id reminder_email_consent marketing_email_consent "
        "search_name phone_digits created_at updated_at",
    )
    coverages = Table(
        Coverage,
        "id patient_id payer_id member_id group_number plan_name order effective_date created_at",
    )
    mrns = mrns_reserve(size.patients)
    sink = Sink([patients, coverages], progress, "patients")
    sink.begin()
    payers = list(Payer.objects.exclude(payer_type=Payer.Type.SELF_PAY).order_by("name"))
    weights = [
        clinical.PAYER_WEIGHTS[[p[0] for p in clinical.PAYERS].index(payer.name)]
        for payer in payers
    ]
    medicare = next(p for p in payers if p.payer_type == Payer.Type.MEDICARE)
    commercial = [p for p in payers if p.payer_type == Payer.Type.COMMERCIAL]
    first_id, coverage_id = next_id(Patient), next_id(Coverage)
    effective = anchor - datetime.timedelta(weeks=size.weeks_past + 60)
    choice, rand, randint = rng.choice, rng.random, rng.randint

    def phone() -> str:
        return f"(217) {randint(200, 989)}-{randint(1000, 9999)}"

    for index in range(size.patients):
        pk = first_id + index
        first, last = choice(FIRST_NAMES), choice(LAST_NAMES)
        middle = choice(FIRST_NAMES)[0] if rand() < 0.5 else ""
        preferred = first[:3] if rand() < 0.05 else ""
        city, zip_code = choice(CITIES)
        born = anchor - datetime.timedelta(days=randint(0, 92 * 365))
        mobile = phone() if rand() < 0.9 else ""
        home = phone() if rand() < 0.3 else ""
        search_name = " ".join(p.lower() for p in (last, first, middle, preferred) if p)
        digits = " ".join(
            "".join(c for c in number if c.isdigit())[-10:] for number in (mobile, home) if number
        )
        patients.add(
            pk,
            mrns[index],
            first,
            last,
            middle,
            preferred,
            born,
            choice("FFMMU" if index % 97 == 0 else "FM"),
            f"{randint(10, 9999)} {choice(STREETS)} Street",
            city,
            "IL",
            zip_code,
            mobile,
            home,
            f"{first}.{last}{index}@mail.example".lower() if rand() < 0.7 else "",
            choice(("English",) * 12 + ("Spanish", "Polish", "Arabic")),
            f"{choice(FIRST_NAMES)} {last}",
            phone(),
            "Family",
            choice(sources) if rand() < 0.6 else None,
            locations[index % len(locations)],
            rand() < 0.65,
            rand() < 0.3,
            search_name,
            digits,
            now,
            now,
        )
        if rand() >= 0.08:
            old = (anchor - born).days > 65 * 365
            payer = medicare if old else rng.choices(payers, weights)[0]
            is_commercial = payer.payer_type == Payer.Type.COMMERCIAL
            coverages.add(
                coverage_id,
                pk,
                payer.pk,
                f"{payer.payer_id}{pk:09d}",
                f"G{randint(1000, 9999)}" if is_commercial else "",
                "PPO" if is_commercial else "",
                Coverage.Order.PRIMARY,
                effective,
                now,
            )
            coverage_id += 1
            if payer == medicare and rand() < 0.4:
                coverages.add(
                    coverage_id,
                    pk,
                    choice(commercial).pk,
                    f"S{pk:09d}",
                    "",
                    "Medicare supplement",
                    Coverage.Order.SECONDARY,
                    effective,
                    now,
                )
                coverage_id += 1
        sink.flush()
    sink.end()


# Phase 3: three years of visits and their money


@dataclass
class Visit:
    pk: int
    patient_id: int
    provider_id: int
    location_id: int
    type_name: str
    start: datetime.datetime
    checked_out_at: datetime.datetime


class VisitsBuilder:
    """Visits day by day, provider by provider (as the demo's ``build_appointments``), and for
    each checked-out visit its encounter, diagnoses, charges and claim with the claim's story
    told in the ledger. Times are naive UTC (what the database stores), for speed."""

    def __init__(self, size: ScaleSize, spec: dict, progress: Progress):
        self.size = size
        self.rng = random.Random(f"{size.seed}-visits")
        self.rand = self.rng.random
        self.anchor = datetime.date.fromisoformat(spec["anchor"])
        self.now = timezone.now().astimezone(UTC).replace(tzinfo=None)
        self.tz = timezone.get_current_timezone()
        self.users = self._users()
        self.visit_place: tuple[int | None, datetime.date | None] = (None, None)
        self.appointments = Table(
            Appointment,
            "id patient_id provider_id location_id room_id appointment_type_id coverage_id "
            "start end status booked_by_id booked_at cancelled_at cancel_reason is_late_cancel "
            "confirmed_at arrived_at roomed_at provider_at checked_out_at",
        )
        self.encounters = Table(
            Encounter,
            "id appointment_id patient_id provider_id date_of_service status opened_at "
            "signed_at signed_by_id",
        )
        self.flow_events = Table(FlowEvent, "id appointment_id from_status to_status at by_id")
        self.diagnoses = Table(VisitDiagnosis, "id appointment_id position code")
        self.charges = Table(
            Charge,
            "id appointment_id patient_id rendering_provider_id date_of_service "
            "service_code_id modifier1 units unit_price amount diagnosis_pointers posted_at "
            "posted_by_id",
        )
        self.claims = Table(
            Claim,
            "id claim_number appointment_id patient_id coverage_id payer_id "
            "billing_location_id rendering_provider_id date_of_service total_charge status "
            "first_submitted_at denial_reason created_at created_by_id",
        )
        self.claim_lines = Table(ClaimLine, "id claim_id charge_id line_number")
        self.status_changes = Table(ClaimStatusChange, "id claim_id from_status to_status at by_id")
        self.payments = Table(
            Payment,
            "id receipt_number patient_id method amount reference received_on location_id "
            "received_by_id received_at memo",
        )
        self.entries = Table(
            LedgerEntry,
            "id kind amount responsibility patient_id charge_id claim_id payer_id "
            "adjustment_group adjustment_reason payment_id approved_by_id memo posted_on "
            "posted_at posted_by_id location_id aged_from",
        )
        self.sink = Sink(
            [
                self.appointments,
                self.encounters,
                self.flow_events,
                self.diagnoses,
                self.charges,
                self.claims,
                self.claim_lines,
                self.status_changes,
                self.payments,
                self.entries,
            ],
            progress,
            "visits",
        )
        for table in self.sink.tables:
            table.next = next_id(table.model)
        self.claim_number = sequence_value("claim_number")
        self.receipt_number = sequence_value("payment_receipt")
        self.code_ids = dict(ServiceCode.objects.values_list("code", "pk"))
        self.fees = {
            code: round(fee * 100)
            for code, fee in Fee.objects.filter(fee_schedule__payer__isnull=True).values_list(
                "service_code__code", "amount"
            )
        }
        self.share = {
            pk: ALLOWED_SHARE.get(payer_id, 0.7)
            for pk, payer_id in Payer.objects.values_list("pk", "payer_id")
        }
        self.coverage = {
            patient_id: (pk, payer_id)
            for pk, patient_id, payer_id in Coverage.objects.filter(
                order=Coverage.Order.PRIMARY
            ).values_list("pk", "patient_id", "payer_id")
        }

    def _users(self) -> dict[str, int | None]:
        names = {"frontdesk": None, "biller": None, "manager": None}
        for pk, username in User.objects.filter(username__in=names).values_list("pk", "username"):
            names[username] = pk
        return names

    def rint(self, low: int, high: int) -> int:
        return low + int(self.rand() * (high - low + 1))

    @staticmethod
    def take(table: Table) -> int:
        pk = table.next
        table.next = pk + 1
        return pk

    def build(self) -> dict[str, int]:
        self.sink.begin()
        size, rng, rand = self.size, self.rng, self.rand
        providers = list(Provider.objects.order_by("pk"))
        signer = {p.pk: p.user_id for p in providers}
        types = list(
            AppointmentType.objects.filter(
                name__in=[t[0] for t in clinical.APPOINTMENT_TYPES]
            ).order_by("pk")
        )
        weights = [
            clinical.TYPE_WEIGHTS[[t[0] for t in clinical.APPOINTMENT_TYPES].index(t.name)]
            for t in types
        ]
        cumulative = list(itertools.accumulate(weights))
        durations = {t.pk: datetime.timedelta(minutes=t.duration_minutes) for t in types}
        patient_ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
        templates: dict[int, list[ScheduleTemplate]] = {}
        for template in ScheduleTemplate.objects.order_by("pk"):
            templates.setdefault(template.provider_id, []).append(template)
        rooms: dict[int, list[int]] = {}
        for room_id, location_id in Room.objects.order_by("name", "pk").values_list(
            "pk", "location_id"
        ):
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
        panel = {
            provider.pk: patient_ids[index :: len(providers)]
            for index, provider in enumerate(providers)
        }
        today = self.anchor
        first_day = today - datetime.timedelta(weeks=size.weeks_past)
        last_day = today + datetime.timedelta(weeks=size.weeks_future)
        fill = size.fill
        pick = rng.choices
        day = first_day
        while day <= last_day:
            # Visits run 8:00-17:00 local time: the day's UTC offset is the noon one.
            offset = self.tz.utcoffset(datetime.datetime.combine(day, datetime.time(12)))
            for provider in providers:
                pool = panel[provider.pk]
                for template in templates.get(provider.pk, ()):
                    if not template.applies_on(day):
                        continue
                    moment = datetime.datetime.combine(day, template.start_time) - offset
                    window_end = datetime.datetime.combine(day, template.end_time) - offset
                    while True:
                        kind = pick(types, cum_weights=cumulative)[0]
                        end = moment + durations[kind.pk]
                        if end > window_end:
                            break
                        if rand() < fill:
                            patient_id = pool[int(rand() * len(pool))]
                            self.appointment(
                                patient_id,
                                provider.pk,
                                template.location_id,
                                room_of.get((provider.pk, template.location_id))
                                if kind.needs_room
                                else None,
                                kind,
                                moment,
                                end,
                                day,
                                signer,
                            )
                        moment = end
            self.sink.flush()
            day += datetime.timedelta(days=1)
        self.sink.end()
        sequence_set("claim_number", self.claim_number)
        sequence_set("payment_receipt", self.receipt_number)
        return {table.name: table.written for table in self.sink.tables}

    def flow_stamps(self, start, end, day) -> tuple[str, dict]:
        """Status and flow timestamps of a visit by where it falls in time (the demo's
        ``visit_flow``, with the generator's faster random numbers)."""
        rand, rint, now, today = self.rand, self.rint, self.now, self.anchor
        status = Appointment.Status
        minutes = datetime.timedelta(minutes=1)
        if day > today or (day == today and start > now + 30 * minutes):
            return (status.CONFIRMED if rand() < 0.4 else status.SCHEDULED), {}
        roll = rand()
        if roll < 0.06:
            return status.NO_SHOW, {}
        if roll < 0.13:
            late = rand() < 0.35
            hours = rint(2, 20) if late else rint(30, 200)
            return status.CANCELLED, {
                "cancelled_at": start - hours * 60 * minutes,
                "cancel_reason": CANCEL_REASONS[int(rand() * len(CANCEL_REASONS))],
                "is_late_cancel": late,
            }
        arrived = start - rint(-5, 15) * minutes
        roomed = arrived + rint(2, 28) * minutes
        with_provider = roomed + rint(2, 18) * minutes
        checked_out = max(end, with_provider) + rint(3, 15) * minutes
        stamps = {
            "confirmed_at": start - 2 * 24 * 60 * minutes,
            "arrived_at": arrived,
            "roomed_at": roomed,
            "provider_at": with_provider,
            "checked_out_at": checked_out,
        }
        if day == today:
            for current, field in (
                (status.ARRIVED, "roomed_at"),
                (status.ROOMED, "provider_at"),
                (status.WITH_PROVIDER, "checked_out_at"),
            ):
                if stamps[field] > now:
                    keep = {
                        k: v
                        for k, v in stamps.items()
                        if k in ("confirmed_at", "arrived_at", "roomed_at", "provider_at")
                        and v <= now
                    }
                    if "arrived_at" not in keep:
                        return status.CONFIRMED, {"confirmed_at": stamps["confirmed_at"]}
                    return current, keep
        return status.CHECKED_OUT, stamps

    def appointment(
        self, patient_id, provider_id, location_id, room_id, kind, start, end, day, signer
    ) -> None:
        status, stamps = self.flow_stamps(start, end, day)
        pk = self.take(self.appointments)
        coverage = self.coverage.get(patient_id)
        get = stamps.get
        self.appointments.add(
            pk,
            patient_id,
            provider_id,
            location_id,
            room_id,
            kind.pk,
            coverage[0] if coverage else None,
            start,
            end,
            status,
            self.users["frontdesk"],
            start - datetime.timedelta(days=self.rint(1, 40)),
            get("cancelled_at"),
            get("cancel_reason", ""),
            get("is_late_cancel", False),
            get("confirmed_at"),
            get("arrived_at"),
            get("roomed_at"),
            get("provider_at"),
            get("checked_out_at"),
        )
        if day == self.anchor:
            self.flow(pk, stamps)
        if status != Appointment.Status.CHECKED_OUT:
            return
        visit = Visit(
            pk, patient_id, provider_id, location_id, kind.name, start, stamps["checked_out_at"]
        )
        age = (self.anchor - day).days
        if age <= ENCOUNTER_DAYS:
            self.encounter(visit, day, signer)
        self.bill(visit, day, age, coverage)

    def flow(self, pk: int, stamps: dict) -> None:
        previous = Appointment.Status.SCHEDULED
        for field, status in (
            ("confirmed_at", Appointment.Status.CONFIRMED),
            ("arrived_at", Appointment.Status.ARRIVED),
            ("roomed_at", Appointment.Status.ROOMED),
            ("provider_at", Appointment.Status.WITH_PROVIDER),
            ("checked_out_at", Appointment.Status.CHECKED_OUT),
        ):
            if stamps.get(field):
                self.flow_events.add(
                    self.take(self.flow_events),
                    pk,
                    previous,
                    status,
                    stamps[field],
                    self.users["frontdesk"],
                )
                previous = status

    def encounter(self, visit: Visit, day: datetime.date, signer: dict) -> None:
        lag = datetime.timedelta(hours=SIGN_LAGS[int(self.rand() * len(SIGN_LAGS))])
        signed = visit.checked_out_at + lag < self.now and self.rand() < 0.97
        self.encounters.add(
            self.take(self.encounters),
            visit.pk,
            visit.patient_id,
            visit.provider_id,
            day,
            Encounter.Status.SIGNED if signed else Encounter.Status.OPEN,
            visit.checked_out_at,
            visit.checked_out_at + lag if signed else None,
            signer.get(visit.provider_id) if signed else None,
        )

    def entry(
        self,
        kind,
        amount,
        responsibility,
        patient_id,
        posted_on,
        posted_at,
        charge=None,
        claim=None,
        payer=None,
        group="",
        reason="",
        payment=None,
        approved_by=None,
        memo="",
        by=None,
    ):
        self.entries.add(
            self.take(self.entries),
            kind,
            cents(amount),
            responsibility,
            patient_id,
            charge,
            claim,
            payer,
            group,
            reason,
            payment,
            approved_by,
            memo,
            posted_on,
            posted_at,
            by,
            *self.visit_place,
        )

    def moment(self, day: datetime.date, hour: int) -> datetime.datetime:
        """A time in that hour of the day (UTC; close enough for posting stamps)."""
        return datetime.datetime.combine(day, datetime.time(hour + 5, int(self.rand() * 60)))

    def patient_payment(self, visit: Visit, amount: int, day: datetime.date, charges) -> None:
        """The patient pays ``amount`` on ``day``, applied to ``charges`` [(pk, owed)]."""
        pk = self.take(self.payments)
        self.receipt_number += 1
        card = self.rand() < 0.6
        received_at = self.moment(day, self.rint(8, 16))
        receipt = f"RC{self.receipt_number:08d}"
        frontdesk = self.users["frontdesk"]
        self.payments.add(
            pk,
            receipt,
            visit.patient_id,
            Payment.Method.CARD if card else Payment.Method.CASH,
            cents(amount),
            f"A{self.rint(100000, 999999)}" if card else "",
            day,
            visit.location_id,
            frontdesk,
            received_at,
            "",
        )
        memo = f"Receipt {receipt}"
        for charge_id, owed in charges:
            if amount <= 0:
                break
            applied = min(owed, amount)
            amount -= applied
            self.entry(
                LedgerEntry.Kind.PAYMENT,
                -applied,
                LedgerEntry.Responsibility.PATIENT,
                visit.patient_id,
                day,
                received_at,
                charge=charge_id,
                payment=pk,
                memo=memo,
                by=frontdesk,
            )

    def bill(self, visit: Visit, day: datetime.date, age: int, coverage) -> None:
        rand, rint = self.rand, self.rint
        # Every entry of the visit is placed at its location and aged from its day.
        self.visit_place = (visit.location_id, day)
        insurance, patient = (
            LedgerEntry.Responsibility.INSURANCE,
            LedgerEntry.Responsibility.PATIENT,
        )
        biller = self.users["biller"]
        second_diagnosis = rand() < 0.1
        first = int(rand() * len(DIAGNOSES))
        codes = [DIAGNOSES[first]]
        if second_diagnosis:
            codes.append(DIAGNOSES[(first + 1 + int(rand() * 3)) % len(DIAGNOSES)])
        for position, code in enumerate(codes, start=1):
            self.diagnoses.add(self.take(self.diagnoses), visit.pk, position, code)
        choices = TYPE_CODES[visit.type_name]
        services = [choices[int(rand() * len(choices))]]
        if rand() < 0.1:
            services.append(SECOND_LINE[int(rand() * len(SECOND_LINE))])
        posted_at = visit.checked_out_at + datetime.timedelta(minutes=rint(5, 120))
        payer_pk = coverage[1] if coverage else None
        modifier = "95" if visit.type_name == "Telehealth" else ""
        charges = []  # (pk, amount)
        for number, code in enumerate(services):
            pk = self.take(self.charges)
            amount = self.fees[code]
            price = cents(amount)
            self.charges.add(
                pk,
                visit.pk,
                visit.patient_id,
                visit.provider_id,
                day,
                self.code_ids[code],
                modifier,
                1,
                price,
                price,
                "[1, 2]" if number == 0 and second_diagnosis else "[1]",
                posted_at,
                biller,
            )
            self.entry(
                LedgerEntry.Kind.CHARGE,
                amount,
                insurance if coverage else patient,
                visit.patient_id,
                day,
                posted_at,
                charge=pk,
                payer=payer_pk,
                by=biller,
            )
            charges.append((pk, amount))
        total = sum(amount for _pk, amount in charges)
        if coverage is None:
            # Self-pay: most pay at checkout, some later, the rest stay owed.
            roll = rand()
            if roll < 0.65:
                self.patient_payment(visit, total, day, charges)
            elif roll < 0.85:
                paid_on = day + datetime.timedelta(days=rint(10, 90))
                if paid_on < self.anchor:
                    self.patient_payment(visit, total, paid_on, charges)
            return
        self.claim(visit, day, age, coverage, charges, total, posted_at)

    def claim(self, visit, day, age, coverage, charges, total, posted_at) -> None:
        rand, rint = self.rand, self.rint
        kind = LedgerEntry.Kind
        insurance, patient = (
            LedgerEntry.Responsibility.INSURANCE,
            LedgerEntry.Responsibility.PATIENT,
        )
        status_ = Claim.Status
        claim_pk = self.take(self.claims)
        self.claim_number += 1
        biller = self.users["biller"]
        created_at = posted_at + datetime.timedelta(minutes=rint(10, 600))
        submitted_on = day + datetime.timedelta(days=rint(1, 3))
        adjudicated_on = day + datetime.timedelta(days=rint(12, 40))
        submitted_at = None
        denial = ""
        # One status change per claim: its latest (the submission is first_submitted_at).
        if age <= self.size.ready_days or submitted_on >= self.anchor:
            status = status_.READY
            change = (status_.DRAFT, status_.READY, created_at)
        else:
            submitted_at = self.moment(submitted_on, 18)
            if adjudicated_on >= self.anchor:
                status = status_.SUBMITTED
                change = (status_.READY, status_.SUBMITTED, submitted_at)
            elif rand() < 0.05:
                status = status_.DENIED
                denial = DENIAL_REASONS[int(rand() * len(DENIAL_REASONS))]
                change = (status_.SUBMITTED, status_.DENIED, self.moment(adjudicated_on, 7))
            else:
                status = status_.PAID
                change = (status_.SUBMITTED, status_.PAID, self.moment(adjudicated_on, 7))
        self.claims.add(
            claim_pk,
            f"PD{self.claim_number:08d}",
            visit.pk,
            visit.patient_id,
            coverage[0],
            coverage[1],
            visit.location_id,
            visit.provider_id,
            day,
            cents(total),
            status,
            submitted_at,
            denial,
            created_at,
            biller,
        )
        for number, (charge_pk, _amount) in enumerate(charges, start=1):
            self.claim_lines.add(self.take(self.claim_lines), claim_pk, charge_pk, number)
        self.status_changes.add(self.take(self.status_changes), claim_pk, *change, biller)
        payer_pk = coverage[1]
        if status == status_.DENIED and age > 120 and rand() < 0.8:
            written_on = adjudicated_on + datetime.timedelta(days=rint(30, 80))
            for charge_pk, amount in charges:
                self.entry(
                    kind.WRITE_OFF,
                    -amount,
                    insurance,
                    visit.patient_id,
                    written_on,
                    self.moment(written_on, 10),
                    charge=charge_pk,
                    claim=claim_pk,
                    payer=payer_pk,
                    approved_by=self.users["manager"],
                    memo="Denial not appealed: written off",
                    by=biller,
                )
            return
        if status != status_.PAID:
            return
        share = self.share[payer_pk]
        posted = self.moment(adjudicated_on, 7)
        copay = COPAYS[int(rand() * len(COPAYS))] if rand() < 0.25 else 0
        owed_by_patient = []
        memo = f"ERA EFT{claim_pk:09d}"

        def era_entry(kind_, amount_, responsibility_, charge_pk, **extra):
            self.entry(
                kind_, amount_, responsibility_, visit.patient_id, adjudicated_on, posted,
                charge=charge_pk, claim=claim_pk, memo=memo, by=biller, **extra,
            )  # fmt: skip

        for charge_pk, amount in charges:
            allowed = round(amount * share)
            responsibility = min(copay, allowed)
            copay -= responsibility
            era_entry(
                kind.PAYMENT, -(allowed - responsibility), insurance, charge_pk, payer=payer_pk
            )
            if amount > allowed:
                era_entry(
                    kind.ADJUSTMENT, -(amount - allowed), insurance, charge_pk,
                    payer=payer_pk, group="CO", reason="45",
                )  # fmt: skip
            if responsibility:
                era_entry(
                    kind.TRANSFER, -responsibility, insurance, charge_pk,
                    payer=payer_pk, group="PR", reason="3",
                )  # fmt: skip
                era_entry(kind.TRANSFER, responsibility, patient, charge_pk, group="PR", reason="3")
                owed_by_patient.append((charge_pk, responsibility))
        if owed_by_patient and rand() < 0.75:
            paid_on = adjudicated_on + datetime.timedelta(days=rint(3, 60))
            if paid_on < self.anchor:
                owed = sum(amount for _pk, amount in owed_by_patient)
                self.patient_payment(visit, owed, paid_on, owed_by_patient)


# Phase 4: sequences, statistics, follow-ups


def _finish(size: ScaleSize, progress: Progress) -> None:
    locations = list(Location.objects.order_by("pk"))[: size.locations]
    clinical.build_followups(random.Random(f"{size.seed}-followups"), locations)
    models_written = [
        Patient,
        Coverage,
        Appointment,
        Encounter,
        FlowEvent,
        VisitDiagnosis,
        Charge,
        Claim,
        ClaimLine,
        ClaimStatusChange,
        Payment,
        LedgerEntry,
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for model in models_written:
                table = model._meta.db_table
                next_free = f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"'  # noqa: S608
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), ({next_free}), false)",
                    [table],
                )


def _analyze(progress: Progress) -> None:
    progress("finish: updating the planner's statistics")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# The build


def _spec(size: ScaleSize, anchor: datetime.date) -> dict:
    return {"version": VERSION, "size": size.name, **asdict(size), "anchor": anchor.isoformat()}


def build_scale(
    size: ScaleSize, progress: Progress | None = None, *, anchor: datetime.date | None = None
) -> dict:
    """Build (or finish building) the scale dataset; returns the counts and timings."""
    progress = progress or _print_progress
    markers = scale_markers()
    if markers:
        spec = next(iter(markers.values()))["spec"]
        if spec.get("version") != VERSION or spec.get("size") != size.name:
            raise ScaleBuildError(
                f"This database holds (part of) scale data {spec.get('size')!r} "
                f"(version {spec.get('version')}); build {size.name!r} in an empty database."
            )
    else:
        if Patient.objects.exists() or Appointment.objects.exists():
            raise ScaleBuildError(
                "Scale data is built in a database of its own: this one already has patients "
                "or appointments. Point DATABASE_URL at an empty database."
            )
        spec = _spec(size, anchor or timezone.localdate())
        with connection.cursor() as cursor:
            cursor.execute(_marker_sql())
    timings = {}
    for phase in PHASES:
        if phase in markers:
            timings[phase] = markers[phase]["seconds"]
            progress(f"{phase}: done earlier ({markers[phase]['seconds']:.0f} s)")
            continue
        started = time.monotonic()
        progress(f"{phase}: building")
        with transaction.atomic():
            if phase == "foundation":
                _build_foundation(size, spec)
            elif phase == "patients":
                _build_patients(size, spec, progress)
            elif phase == "visits":
                VisitsBuilder(size, spec, progress).build()
            else:
                _finish(size, progress)
            seconds = time.monotonic() - started
            _mark(phase, spec, seconds)
        timings[phase] = seconds
        progress(f"{phase}: done in {seconds:.0f} s")
    if COMPLETE not in markers:
        started = time.monotonic()
        _analyze(progress)
        with transaction.atomic():
            _mark(COMPLETE, spec, time.monotonic() - started)
    # The month-end A/R snapshots and closed months' figures the nightly jobs keep.
    started = time.monotonic()
    progress("finish: the nightly month-end figures")
    periodic_run_now(*NIGHTLY_FIGURES)
    timings["nightly_figures"] = time.monotonic() - started
    return {"spec": spec, "seconds": timings, "counts": scale_counts()}


def scale_counts() -> dict[str, int]:
    counted = {
        "patients": Patient,
        "providers": Provider,
        "locations": Location,
        "appointments": Appointment,
        "charges": Charge,
        "claims": Claim,
        "ledger_entries": LedgerEntry,
    }
    with connection.cursor() as cursor:
        result = {}
        for key, model in counted.items():
            cursor.execute(f'SELECT COUNT(*) FROM "{model._meta.db_table}"')  # noqa: S608
            result[key] = cursor.fetchone()[0]
    return result


def _print_progress(message: str) -> None:
    sys.stdout.write(f"\r  {message:<78}")
    sys.stdout.flush()


def size_named(name: str, **overrides) -> ScaleSize:
    return replace(SCALE_SIZES[name], **overrides)


def scale_command(command, name: str) -> None:
    """`practicedesk demo --size scale`: build or finish the dataset, then say what it holds."""

    def progress(message: str) -> None:
        command.stdout.write(f"\r  {message:<78}", ending="")
        command.stdout.flush()

    try:
        result = build_scale(SCALE_SIZES[name], progress)
    except ScaleBuildError as error:
        from django.core.management.base import CommandError

        raise CommandError(str(error)) from error
    counts = result["counts"]
    seconds = sum(result["seconds"].values())
    command.stdout.write(
        f"\rScale data ({name}) complete, built in {seconds:.0f} s: "
        f"{counts['locations']} locations, {counts['providers']} providers, "
        f"{counts['patients']:,} patients, {counts['appointments']:,} appointments, "
        f"{counts['claims']:,} claims, {counts['ledger_entries']:,} ledger entries."
    )
