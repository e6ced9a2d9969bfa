"""How big each demo practice is. Later areas add their own counts to these sizes."""

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoSize:
    name: str
    locations: int
    providers: int
    patients: int
    weeks_past: int
    weeks_future: int
    visits_per_provider_day: int
    # Billing replays at most this many weeks up to today, for every n-th provider: each
    # visit goes through the real services and 835 files (about 0.1 s of CPU a visit), so
    # the billed slice is what keeps each size's build time practical.
    billing_weeks: int = 52
    billing_provider_step: int = 1


SIZES = {
    "small": DemoSize(
        "small",
        locations=1,
        providers=4,
        patients=1_500,
        weeks_past=8,
        weeks_future=4,
        visits_per_provider_day=16,
        billing_provider_step=4,
    ),
    "clinic": DemoSize(
        "clinic",
        locations=3,
        providers=15,
        patients=10_000,
        weeks_past=26,
        weeks_future=6,
        visits_per_provider_day=18,
        billing_provider_step=15,
    ),
    "group": DemoSize(
        "group",
        locations=8,
        providers=60,
        patients=50_000,
        weeks_past=100,
        weeks_future=6,
        visits_per_provider_day=20,
        billing_provider_step=60,
    ),
}

# Benchmark data at practice-group scale, built by demo/scale.py (bulk COPY) instead of the
# demo stages; `practicedesk demo --size scale`.
SCALE_SIZE_NAMES = ("scale",)

# The nightly jobs that keep derived figures (month-end A/R snapshots, the closed months' KPIs):
# run once at the end of a demo build, since no worker ran while the history was made.
NIGHTLY_FIGURES = ("receivables_close", "kpi_history_close")
