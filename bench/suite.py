"""One benchmark pass against one database (``DATABASE_URL``), run by bench/run.py in its own
process: ``python bench/suite.py build|run --size scale|scale-quick --out FILE [--quick]``.

``build`` creates (or finishes) the scale dataset; ``run`` measures every operation and writes
the results as JSON. Operations that change data (booking, exports, imports) either run in a
transaction rolled back at the end, or delete exactly what they created, so the dataset stays
as built and a second run measures the same thing.
"""

import argparse
import contextlib
import csv
import datetime
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "bench")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "practicedesk.settings")

import django  # noqa: E402

django.setup()

import loadgen  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from x12_835 import remittance_835  # noqa: E402

from practicedesk.billing import receivables  # noqa: E402
from practicedesk.billing import services as billing_services  # noqa: E402
from practicedesk.billing.models import Claim, ClaimLine, LedgerEntry  # noqa: E402
from practicedesk.billing.remittances import remittance_import  # noqa: E402
from practicedesk.core.models import Location, User  # noqa: E402
from practicedesk.dashboard.selectors import attention_refresh  # noqa: E402
from practicedesk.demo.names import CITIES, FIRST_NAMES, LAST_NAMES, STREETS  # noqa: E402
from practicedesk.demo.scale import (  # noqa: E402
    SCALE_SIZES,
    ScaleBuildError,
    build_scale,
    scale_complete,
    scale_counts,
)
from practicedesk.patients.importers import patients_import  # noqa: E402
from practicedesk.patients.models import Patient, Payer  # noqa: E402
from practicedesk.patients.selectors import patient_search  # noqa: E402
from practicedesk.scheduling.availability import next_open_slot, open_slots  # noqa: E402
from practicedesk.scheduling.models import Appointment, AppointmentType  # noqa: E402
from practicedesk.scheduling.services import appointment_book  # noqa: E402

VENDOR = connection.vendor


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = share * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def timings(fn, repeat: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    result = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        result.append(time.perf_counter() - started)
    return result


class Results:
    def __init__(self, backend: str, size: str):
        self.backend = backend
        self.size = size
        self.rows: list[dict] = []

    def add(self, op: str, data: str, *, unit: str, values=None, value=None, target=None,
            floor=None, passed=None, note: str = "") -> dict:  # fmt: skip
        """``values``: seconds of repeated runs (median/p95 in ms); ``value``: one figure
        (a rate or seconds). ``target``: (kind, number) with kind max_median, max_p95,
        max_seconds, min_rate, max_ratio."""
        row = {"op": op, "backend": self.backend, "data": data, "unit": unit, "note": note}
        if values is not None:
            row.update(
                median=statistics.median(values) * 1000,
                p95=percentile(values, 0.95) * 1000,
                runs=len(values),
            )
        if value is not None:
            row["value"] = value
        if floor is not None:
            row["floor_ms"] = floor * 1000
            row["ratio"] = statistics.median(values) / floor
        if target is not None:
            kind, number = target
            row["target"] = {"kind": kind, "value": number}
            figure = {
                "max_median": row.get("median", 0) / 1000,
                "max_p95": row.get("p95", 0) / 1000,
                "max_seconds": value,
                "min_rate": value,
                "max_ratio": row.get("ratio"),
            }[kind]
            ok = figure < number if kind != "min_rate" else figure > number
            if kind == "max_ratio":
                ok = figure <= number
            row["passed"] = ok if passed is None else (ok and passed)
        elif passed is not None:
            row["passed"] = passed
        self.rows.append(row)
        print(f"    {op}: {summary(row)}", flush=True)
        return row


def summary(row: dict) -> str:
    parts = []
    if "median" in row:
        parts.append(f"median {row['median']:.1f} ms, p95 {row['p95']:.1f} ms")
    if "value" in row:
        parts.append(f"{row['value']:,.1f} {row['unit']}")
    if "ratio" in row:
        parts.append(f"{row['ratio']:.2f}× the SQL floor")
    if "passed" in row:
        parts.append("pass" if row["passed"] else "MISS")
    if row.get("note"):
        parts.append(row["note"])
    return "; ".join(parts)


# The web server and logged-in clients


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def web_server():
    """gunicorn as ``practicedesk serve`` runs it (2 workers, 4 threads), without the worker."""
    port = free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "practicedesk.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                loadgen.Session("127.0.0.1", port).get("/healthz")
                break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError("gunicorn did not start")
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def client_for(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


# The operations


def busiest_location() -> Location:
    return Location.objects.filter(code="main").first() or Location.objects.order_by("pk")[0]


def view_day() -> datetime.date:
    """Today when it is a weekday, else the Friday before: a full day at the front desk."""
    day = timezone.localdate()
    while day.weekday() >= 5:
        day -= datetime.timedelta(days=1)
    return day


def bench_http(results: Results, size: dict, quick: bool) -> None:
    location = busiest_location()
    day = view_day()
    providers = location.providers.count()
    visits = Appointment.objects.filter(
        location=location, start__date=day
    ).count()  # at most a day, for the label only
    with web_server() as port:
        session = loadgen.Session("127.0.0.1", port)
        session.login("frontdesk", settings.DEMO_PASSWORD)
        path = f"/scheduling/calendar/?location={location.pk}&date={day.isoformat()}"
        session.get(path, expect=200)
        values = timings(lambda: session.get(path, expect=200), 8 if quick else 20)
        results.add(
            "day view, one location (HTTP)",
            f"{providers} providers, {visits} visits",
            unit="ms",
            values=values,
            target=("max_median", 0.150),
        )
        board = f"/scheduling/flow/?location={location.pk}"
        clients = 20
        seconds = 6 if quick else 20
        # 20 screens each refreshing once a second (the board itself polls every 15 s): the
        # latency target; then the same 20 clients back to back, for the most it serves.
        for label, interval, target in (
            ("flow board, 20 clients each refreshing every second (HTTP)", 1.0, 0.300),
            ("flow board, 20 clients back to back (HTTP, saturation)", 0.0, None),
        ):
            report = loadgen.hammer(
                "127.0.0.1", port, board, clients=clients, seconds=seconds,
                username="frontdesk", password=settings.DEMO_PASSWORD, interval=interval,
            )  # fmt: skip
            results.add(
                label,
                f"{report['requests']} requests in {seconds} s",
                unit="req/s",
                values=report["latencies"],
                value=report["requests"] / report["seconds"],
                target=("max_p95", target) if target else None,
                passed=report["errors"] == 0,
                note=f"{report['errors']} errors" if report["errors"] else "",
            )


def bench_search(results: Results, quick: bool) -> None:
    client = client_for("frontdesk")
    fragments = ["smi", "garc", "john", "ng", "wil", "mart", "lee", "tho", "and", "bro"]
    state = {"n": 0}

    def search():
        fragment = fragments[state["n"] % len(fragments)]
        state["n"] += 1
        response = client.get("/patients/", {"q": fragment})
        assert response.status_code == 200, response.status_code

    values = timings(search, 10 if quick else 30, warmup=2)
    patients = Patient.objects.count()
    results.add(
        "patient search, name fragment (page)",
        f"{patients:,} patients",
        unit="ms",
        values=values,
        target=("max_median", 0.100),
    )
    selector = timings(lambda: list(patient_search("smi")[:25]), 10 if quick else 30)
    results.add("patient search (selector, 25 rows)", f"{patients:,} patients", unit="ms",
                values=selector)  # fmt: skip


def bench_next_slot(results: Results, quick: bool) -> None:
    location = busiest_location()
    types = list(AppointmentType.objects.filter(is_active=True).order_by("pk"))
    state = {"n": 0}

    def find():
        kind = types[state["n"] % len(types)]
        state["n"] += 1
        next_open_slot(appointment_type=kind, location_id=location.pk)

    values = timings(find, 6 if quick else 18)
    results.add(
        "next open slot, type at a location",
        f"{location.providers.count()} providers",
        unit="ms",
        values=values,
        target=("max_median", 0.200),
    )


def bench_booking(results: Results, quick: bool) -> None:
    location = busiest_location()
    user = User.objects.get(username="frontdesk")
    kind = AppointmentType.objects.get(name="Follow-up")
    count = 100 if quick else 400
    first_day = timezone.localdate() + datetime.timedelta(weeks=10)
    slots = open_slots(
        appointment_type=kind, location_id=location.pk, first_day=first_day, days=14,
        limit=count,
    )  # fmt: skip
    rng = random.Random(7)
    patients = list(
        Patient.objects.filter(status=Patient.Status.ACTIVE).values_list("pk", flat=True)[:50_000]
    )
    chosen = Patient.objects.in_bulk(rng.sample(patients, len(slots)))
    booked: list[int] = []
    try:
        started = time.perf_counter()
        for slot, patient in zip(slots, chosen.values(), strict=False):
            appointment = appointment_book(
                acting_user=user,
                patient=patient,
                provider=slot.provider,
                location=location,
                appointment_type=kind,
                start=slot.start,
            )
            booked.append(appointment.pk)
        elapsed = time.perf_counter() - started
    finally:
        Appointment.objects.filter(pk__in=booked)._raw_delete(connection.alias)
    results.add(
        "booking (service, conflict checks)",
        f"{len(booked)} bookings",
        unit="bookings/s",
        value=len(booked) / elapsed,
        target=("min_rate", 200),
    )


AGING_SQL = """
SELECT {group}, {sums}, SUM(e.amount) AS total
FROM billing_ledgerentry e
{join}
WHERE e.posted_on <= %(as_of)s
GROUP BY {group}
{having}
"""


def aging_sql(by: str, as_of: datetime.date) -> list[tuple]:
    """The floor: one hand-written query over every entry, aged by the date each carries."""
    age = "e.aged_from"
    edges = []
    for bucket in receivables.BUCKETS:
        conditions = []
        if bucket.high is not None:
            conditions.append(f"{age} >= %(d{bucket.high})s")
        if bucket.low > 0:
            conditions.append(f"{age} <= %(d{bucket.low})s")
        edges.append(f"SUM(CASE WHEN {' AND '.join(conditions)} THEN e.amount END)")
    params = {"as_of": as_of}
    for bucket in receivables.BUCKETS:
        for days in (bucket.low, bucket.high):
            if days:
                params[f"d{days}"] = as_of - datetime.timedelta(days=days)
    if by == "payer":
        sql = AGING_SQL.format(
            group="e.responsibility, p.name, CASE WHEN e.responsibility = 'insurance' "
            "THEN e.payer_id END",
            sums=", ".join(edges),
            join="LEFT JOIN patients_payer p ON p.id = e.payer_id "
            "AND e.responsibility = 'insurance'",
            having="",
        )
    else:
        sql = AGING_SQL.format(
            group="e.patient_id, pt.last_name, pt.first_name, pt.mrn",
            sums=", ".join(edges),
            join="JOIN patients_patient pt ON pt.id = e.patient_id",
            having="HAVING SUM(e.amount) > 0.005 OR SUM(e.amount) < -0.005 "
            "ORDER BY total DESC, pt.last_name, e.patient_id",
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def bench_aging(results: Results, quick: bool) -> None:
    as_of = timezone.localdate()
    entries = LedgerEntry.objects.count()
    repeat = 2 if quick else 3
    for by, selector in (
        ("payer", lambda: receivables.aging_by_payer(as_of)),
        ("patient", lambda: receivables.aging_by_patient(as_of)),
    ):
        rows_orm = selector()
        rows_sql = aging_sql(by, as_of)
        orm_total = rows_orm.total.total
        sql_total = sum((Decimal(str(row[-1])) for row in rows_sql), Decimal(0))
        same = abs(orm_total - sql_total) < Decimal("0.05") * max(1, len(rows_sql)) and (
            by == "payer" or len(rows_orm.rows) == len(rows_sql)
        )
        floor = statistics.median(timings(lambda by=by: aging_sql(by, as_of), repeat))
        values = timings(selector, repeat)
        results.add(
            f"A/R aging by {by}",
            f"{entries:,} ledger entries, {len(rows_orm.rows):,} rows",
            unit="ms",
            values=values,
            floor=floor,
            target=("max_ratio", 1.5),
            passed=same,
            note="" if same else f"totals differ: ORM {orm_total} vs SQL {sql_total}",
        )


def figures_uncached() -> None:
    """Drop the dashboard's cached figures (not the attention list, which the worker keeps
    collected every 5 minutes, nor the closed months' figures its nightly job keeps)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {settings.CACHES['default']['LOCATION']} "  # noqa: S608
            "WHERE cache_key LIKE %s",
            ["%dashboard:values:%"],
        )


def bench_dashboard(results: Results, quick: bool) -> None:
    client = client_for("manager")
    location = busiest_location()
    repeat = 2 if quick else 3
    started = time.perf_counter()
    items = attention_refresh()
    results.add(
        "attention list, collected (worker job, every 5 min)",
        f"{len(items)} items",
        unit="s",
        value=time.perf_counter() - started,
    )
    for label, query in (
        ("one location", {"period": "this_month", "location": location.pk}),
        ("all locations", {"period": "this_month"}),
    ):

        def load(query=query):
            figures_uncached()  # measure this month's figures computed
            response = client.get("/dashboard/", query)
            assert response.status_code == 200, response.status_code

        values = timings(load, repeat, warmup=0)
        results.add(
            f"dashboard, month, {label} (this month computed)",
            f"{results.size}: {Appointment.objects.count():,} appointments",
            unit="ms",
            values=values,
            target=("max_median", 1.0),
        )

        def again(query=query):  # the figures as the last load cached them
            response = client.get("/dashboard/", query)
            assert response.status_code == 200, response.status_code

        results.add(
            f"dashboard, month, {label} (figures cached)",
            "cache filled by the load before",
            unit="ms",
            values=timings(again, 3 if quick else 5, warmup=0),
        )


@contextlib.contextmanager
def rolled_back():
    """Everything inside is undone: the dataset stays as built."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def bench_export(results: Results, quick: bool) -> None:
    wanted = 1_000 if quick else 10_000
    user = User.objects.get(username="biller")
    validation = {"seconds": 0.0, "errors": None}
    original = billing_services.validate_837

    def timed_validation(text):
        started = time.perf_counter()
        errors = original(text)
        validation["seconds"] += time.perf_counter() - started
        validation["errors"] = errors
        return errors

    with rolled_back():
        ready = Claim.objects.filter(status=Claim.Status.READY).order_by("pk")
        keep = list(ready.values_list("pk", flat=True)[:wanted])
        ready.exclude(pk__in=keep).update(status=Claim.Status.DRAFT)
        billing_services.validate_837 = timed_validation
        try:
            started = time.perf_counter()
            batch = billing_services.claims_export(acting_user=user)
            elapsed = time.perf_counter() - started
        finally:
            billing_services.validate_837 = original
        exported = batch.claim_count
    export_seconds = elapsed - validation["seconds"]
    results.add(
        "837P export (without validation)",
        f"{exported:,} of {len(keep):,} ready claims",
        unit="s",
        value=export_seconds,
        target=("max_seconds", 20.0 if not quick else 2.0),
        passed=exported == len(keep) and not validation["errors"],
    )
    results.add(
        "837P pyx12 validation (reported apart)",
        f"{exported:,} claims",
        unit="s",
        value=validation["seconds"],
        passed=not validation["errors"],
        note="valid" if not validation["errors"] else f"{len(validation['errors'])} errors",
    )


def remittance_for(lines_wanted: int) -> tuple[str, int]:
    """An 835 paying the oldest submitted claims, payer by payer, until that many lines."""
    payers = {p.pk: p for p in Payer.objects.exclude(payer_id="")}
    claims = (
        Claim.objects.filter(status=Claim.Status.SUBMITTED, payer__in=payers.values())
        .order_by("payer_id", "pk")
        .values_list("pk", "claim_number", "payer_id")
    )
    candidates = list(claims[:lines_wanted])
    lines: dict[int, list] = {}
    for claim_id, code, modifier, amount, service in ClaimLine.objects.filter(
        claim_id__in=[c[0] for c in candidates]
    ).values_list(
        "claim_id",
        "charge__service_code__code",
        "charge__modifier1",
        "charge__amount",
        "charge__date_of_service",
    ):
        lines.setdefault(claim_id, []).append((code, modifier, amount, service))
    picked, count = [], 0
    for pk, number, payer_id in candidates:
        size = len(lines.get(pk, ()))
        if size and count + size <= lines_wanted:
            picked.append((pk, number, payer_id))
            count += size
        if count >= lines_wanted:
            break
    rng = random.Random(835)
    by_payer: dict[int, list] = {}
    total_lines = 0
    for pk, number, payer_id in picked:
        svc = []
        responsibility = Decimal(0)
        for code, modifier, billed, service in lines.get(pk, []):
            allowed = (billed * Decimal("0.7")).quantize(Decimal("0.01"))
            copay = Decimal("25.00") if rng.random() < 0.25 and allowed > 25 else Decimal(0)
            adjustments = [("CO", "45", billed - allowed)]
            if copay:
                adjustments.append(("PR", "3", copay))
            svc.append(
                (code, (modifier,) if modifier else (), billed, allowed - copay, adjustments,
                 service)
            )  # fmt: skip
            responsibility += copay
        total_lines += len(svc)
        by_payer.setdefault(payer_id, []).append((number, svc, responsibility))
    payments = [
        {
            "payer_name": payers[payer_id].name.upper()[:60],
            "payer_id": payers[payer_id].payer_id,
            "trace": f"BENCH{payer_id:03d}{int(time.time()) % 100000:05d}",
            "claims": claims_of,
        }
        for payer_id, claims_of in by_payer.items()
    ]
    text = remittance_835(payments, payment_date=timezone.localdate())
    return text, total_lines


def bench_remittance(results: Results, quick: bool) -> None:
    wanted = 1_000 if quick else 10_000
    user = User.objects.get(username="biller")
    text, lines = remittance_for(wanted)
    with rolled_back():
        before = LedgerEntry.objects.count()
        started = time.perf_counter()
        first = remittance_import(acting_user=user, content=text, filename="bench.835")
        elapsed = time.perf_counter() - started
        posted = LedgerEntry.objects.count() - before
        middle = LedgerEntry.objects.count()
        second = remittance_import(acting_user=user, content=text, filename="bench.835")
        again = LedgerEntry.objects.count() - middle
    lines_posted = sum(t.lines_posted for t in first.transactions)
    idempotent = again == 0 and all(t.already_imported_on for t in second.transactions)
    results.add(
        "835 import (post)",
        f"{lines:,}-line remittance, {lines_posted:,} lines posted, {posted:,} entries",
        unit="s",
        value=elapsed,
        target=("max_seconds", 30.0 if not quick else 3.0),
        passed=idempotent and lines_posted == lines,
        note="second import posted nothing" if idempotent else f"second import posted {again}",
    )


def patients_csv(path: Path, rows: int) -> None:
    if path.exists():
        return
    rng = random.Random(100_000)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "external_id", "last_name", "first_name", "date_of_birth", "sex_at_birth",
                "address_line1", "city", "state", "postal_code", "mobile_phone", "email",
                "reminder_email_consent",
            ]
        )  # fmt: skip
        for index in range(rows):
            city, zip_code = rng.choice(CITIES)
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            born = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randint(0, 29_000))
            writer.writerow(
                [
                    f"OLD{index:07d}", last, first, born.isoformat(), rng.choice("FM"),
                    f"{rng.randint(10, 9999)} {rng.choice(STREETS)} Street", city, "IL",
                    zip_code, f"(312) {rng.randint(200, 989)}-{rng.randint(1000, 9999)}",
                    f"{first}.{last}.{index}@import.example".lower(), rng.choice(["yes", "no"]),
                ]
            )  # fmt: skip


def bench_csv_import(results: Results, quick: bool) -> None:
    rows = 10_000 if quick else 100_000
    path = ROOT / "var" / "bench" / f"patients-{rows}.csv"
    patients_csv(path, rows)
    user = User.objects.get(username="manager")
    with rolled_back():
        started = time.perf_counter()
        result = patients_import(acting_user=user, source=str(path))
        elapsed = time.perf_counter() - started
    results.add(
        "patient CSV import",
        f"{rows:,} rows into {Patient.objects.count():,} patients",
        unit="rows/s",
        value=result.imported / elapsed,
        target=("min_rate", 5_000),
        passed=result.imported == rows,
        note=f"{result.imported:,} imported in {elapsed:.1f} s",
    )


OPERATIONS = {
    "http": lambda r, s, q: bench_http(r, s, q),
    "search": lambda r, s, q: bench_search(r, q),
    "slot": lambda r, s, q: bench_next_slot(r, q),
    "booking": lambda r, s, q: bench_booking(r, q),
    "aging": lambda r, s, q: bench_aging(r, q),
    "dashboard": lambda r, s, q: bench_dashboard(r, q),
    "export": lambda r, s, q: bench_export(r, q),
    "remittance": lambda r, s, q: bench_remittance(r, q),
    "csv": lambda r, s, q: bench_csv_import(r, q),
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["build", "run"])
    parser.add_argument("--size", choices=sorted(SCALE_SIZES), default="scale")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated: " + ",".join(OPERATIONS))
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    if args.action == "build":
        started = time.monotonic()
        try:
            result = build_scale(SCALE_SIZES[args.size], lambda m: print(f"\r  {m:<78}", end=""))
        except ScaleBuildError as error:
            print(f"\n{error}")
            return 2
        print()
        result["wall_seconds"] = time.monotonic() - started
        if args.out:
            Path(args.out).write_text(json.dumps(result, default=str))
        return 0
    spec = scale_complete(args.size)
    if spec is None:
        print(f"The database has no complete {args.size!r} dataset; refusing to measure it.")
        return 2
    results = Results(VENDOR, args.size)
    wanted = [name for name in args.only.split(",") if name] or list(OPERATIONS)
    for name in wanted:
        print(f"  {VENDOR}: {name}", flush=True)
        try:
            OPERATIONS[name](results, spec, args.quick)
        except Exception as error:
            results.add(name, "", unit="", passed=False, note=f"failed: {error!r}"[:300])
    if args.out:
        Path(args.out).write_text(
            json.dumps({"spec": spec, "counts": scale_counts(), "rows": results.rows}, default=str)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
