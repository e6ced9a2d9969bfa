"""`make bench`: the benchmarks of issue #7, on PostgreSQL at practice-group scale and on
SQLite at a smaller size, printed as one table and saved under var/bench/ to compare commits.

    .venv/bin/python bench/run.py            # full: scale data (built once, then reused)
    .venv/bin/python bench/run.py --quick    # development: small data, fewer repetitions

PostgreSQL: the database ``practicedesk_bench`` (``practicedesk_bench_quick`` with --quick) on
127.0.0.1:5432 (``--pg`` to change), created, migrated and filled with scale data when it has
no complete dataset. When PostgreSQL does not answer, only the SQLite part runs.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
BIN = Path(sys.executable).parent
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432"
SQLITE_OPERATIONS = "http,search,slot,booking,aging,dashboard,csv"


def pg_reachable(base: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg

        psycopg.connect(f"{base}/postgres", connect_timeout=3).close()
    except Exception as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
    return None


def pg_create(base: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"  created database {name}")


def manage(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([str(BIN / "practicedesk"), *args], env=env, check=True, cwd=ROOT)


def suite(url: str, *args: str) -> int:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "suite.py"), *args], env=env, cwd=ROOT
    ).returncode


def prepare(url: str, size: str, label: str) -> dict | None:
    """Migrate and build the scale data if it is not complete; None when that failed."""
    print(f"== {label}: migrate", flush=True)
    manage(url, "migrate", "--skip-checks", "-v", "0")
    manage(url, "createcachetable")
    build_file = OUT / f".build-{label}.json"
    build_file.unlink(missing_ok=True)
    print(f"== {label}: scale data ({size})", flush=True)
    if suite(url, "build", "--size", size, "--out", str(build_file)) != 0:
        return None
    if url.startswith("postgres"):
        vacuum(url)
    return json.loads(build_file.read_text())


def vacuum(url: str) -> None:
    """Clear what earlier runs' rolled-back imports left behind (dead rows are not cleared
    where autovacuum is off) and refresh the planner's statistics."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    print(f"  vacuumed in {time.monotonic() - started:.0f} s", flush=True)


def run_suite(url: str, size: str, label: str, quick: bool, only: str) -> dict | None:
    result_file = OUT / f".result-{label}.json"
    result_file.unlink(missing_ok=True)
    print(f"== {label}: measuring", flush=True)
    args = ["run", "--size", size, "--out", str(result_file)]
    if quick:
        args.append("--quick")
    if only:
        args += ["--only", only]
    if suite(url, *args) != 0 or not result_file.exists():
        return None
    return json.loads(result_file.read_text())


def group_dashboard(base: str, report: dict) -> list[dict]:
    """The dashboard again at the `group` demo's size (issue #6 asks for it there)."""
    name = "practicedesk_bench_group"
    pg_create(base, name)
    url = f"{base}/{name}"
    build = prepare(url, "scale-group", "postgresql-group")
    if build is None:
        print("The group-size build failed; see above.")
        return []
    report["builds"]["postgresql-group"] = build
    result = run_suite(url, "scale-group", "postgresql-group", False, "dashboard")
    if not result:
        return []
    report["runs"]["postgresql-group"] = result
    return result["rows"]


def git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def target_text(row: dict) -> str:
    target = row.get("target")
    if not target:
        return ""
    kind, value = target["kind"], target["value"]
    return {
        "max_median": f"median < {value * 1000:.0f} ms",
        "max_p95": f"p95 < {value * 1000:.0f} ms",
        "max_seconds": f"< {value:.0f} s",
        "min_rate": f"> {value:,.0f}/s",
        "max_ratio": f"≤ {value}× SQL",
    }[kind]


def figure(row: dict, key: str) -> str:
    if key in row:
        return f"{row[key]:,.1f} ms"
    if key == "median" and "value" in row:
        return f"{row['value']:,.1f} {row['unit']}"
    return ""


def table(rows: list[dict]) -> str:
    header = ["operation", "db", "data size", "median", "p95", "target", "ratio", "result"]
    lines = []
    for row in rows:
        median = figure(row, "median")
        p95 = figure(row, "p95")
        if "median" in row and "value" in row:  # a rate with its latencies
            median = f"{row['value']:,.1f} {row['unit']}; {row['median']:,.1f} ms"
        result = "" if "passed" not in row else ("pass" if row["passed"] else "MISS")
        if row.get("note"):
            result = f"{result} ({row['note']})" if result else row["note"]
        lines.append(
            [
                row["op"],
                {"postgresql": "pg", "sqlite": "sqlite"}.get(row["backend"], row["backend"]),
                row["data"],
                median,
                p95,
                target_text(row),
                f"{row['ratio']:.2f}" if "ratio" in row else "",
                result,
            ]
        )
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines, strict=False)]
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("-+-".join("-" * w for w in widths))
    out += [
        " | ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines
    ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Benchmarks at practice-group scale (issue #7): PostgreSQL and SQLite."
    )
    parser.add_argument("--quick", action="store_true", help="small data, fewer repetitions")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", PG_DEFAULT))
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--only", default="", help="operations, e.g. aging,dashboard")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    report: dict = {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain")),
        "quick": args.quick,
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "builds": {},
        "runs": {},
    }
    rows: list[dict] = []
    # The pages are served with the production static files storage (a manifest).
    manage("sqlite:///unused.sqlite3", "collectstatic", "--noinput", "-v", "0", "--skip-checks")
    pg_size = "scale-quick" if args.quick else "scale"
    if not args.no_pg:
        why = pg_reachable(args.pg)
        if why is not None:
            print(f"PostgreSQL does not answer at {args.pg} ({why}); running only SQLite.")
        else:
            name = "practicedesk_bench_quick" if args.quick else "practicedesk_bench"
            pg_create(args.pg, name)
            url = f"{args.pg}/{name}"
            build = prepare(url, pg_size, "postgresql")
            if build is None:
                print("The PostgreSQL scale build failed; see above.")
            else:
                report["builds"]["postgresql"] = build
                result = run_suite(url, pg_size, "postgresql", args.quick, args.only)
                if result:
                    report["runs"]["postgresql"] = result
                    rows += result["rows"]
            if not args.quick and "dashboard" in (args.only or "dashboard"):
                rows += group_dashboard(args.pg, report)
    if not args.no_sqlite:
        url = f"sqlite:///{OUT / 'bench-scale-quick.sqlite3'}"
        build = prepare(url, "scale-quick", "sqlite")
        if build is not None:
            report["builds"]["sqlite"] = build
            only = ",".join(
                op for op in (args.only or SQLITE_OPERATIONS).split(",")
                if op in SQLITE_OPERATIONS.split(",")
            )  # fmt: skip
            result = run_suite(url, "scale-quick", "sqlite", args.quick, only)
            if result:
                report["runs"]["sqlite"] = result
                rows += result["rows"]
    report["seconds"] = time.monotonic() - started
    report["load_average_at_end"] = os.getloadavg()
    print()
    print(table(rows))
    for backend, build in report["builds"].items():
        counts = build.get("counts", {})
        seconds = sum(build.get("seconds", {}).values())
        print(
            f"{backend}: {build['spec']['size']} data: {counts.get('patients', 0):,} patients, "
            f"{counts.get('appointments', 0):,} appointments, "
            f"{counts.get('ledger_entries', 0):,} ledger entries; built in {seconds:.0f} s"
            + (" (earlier)" if build.get("wall_seconds", 0) < seconds / 2 else "")
        )
    print(
        f"Whole run {report['seconds']:.0f} s; load average {report['load_average_at_start']} "
        f"-> {report['load_average_at_end']} on {report['cpus']} CPUs (others' work is noise)."
    )
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = (
        OUT / f"{stamp}-{(report['commit'] or 'nogit')[:10]}{'-quick' if args.quick else ''}.json"
    )
    path.write_text(json.dumps({**report, "rows": rows}, indent=1, default=str))
    print(f"Results: {path.relative_to(ROOT)}")
    missed = [row for row in rows if row.get("passed") is False]
    if missed:
        print(f"{len(missed)} target(s) missed.")
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
