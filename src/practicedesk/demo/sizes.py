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


SIZES = {
    "small": DemoSize(
        "small",
        locations=1,
        providers=4,
        patients=1_500,
        weeks_past=8,
        weeks_future=4,
        visits_per_provider_day=16,
    ),
    "clinic": DemoSize(
        "clinic",
        locations=3,
        providers=15,
        patients=10_000,
        weeks_past=26,
        weeks_future=6,
        visits_per_provider_day=18,
    ),
    "group": DemoSize(
        "group",
        locations=8,
        providers=60,
        patients=50_000,
        weeks_past=100,
        weeks_future=6,
        visits_per_provider_day=20,
    ),
}
