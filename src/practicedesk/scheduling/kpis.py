"""What scheduling contributes to the manager's dashboard: one declaration per figure.

Each selector takes ``(start_date, end_date, location_id=None, provider_id=None)`` and returns
``None`` when the period has nothing to measure. ``shape`` says what comes back: a single
``number``, or ``rows`` (a list of dicts, one per provider or month) for a table or chart.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from practicedesk.scheduling import selectors


@dataclass(frozen=True)
class KpiDeclaration:
    key: str
    name: str
    definition: str
    unit: str
    good_direction: str  # "up", "down" or "none" (neither is better)
    selector: Callable
    shape: str = "number"


def _wait(measure: str, statistic: str) -> Callable:
    return partial(selectors.wait_time_figure, measure=measure, statistic=statistic)


WAITS = {
    "arrival_to_roomed": "arrival to rooming",
    "arrival_to_provider": "arrival to seeing the provider",
    "arrival_to_checkout": "arrival to checkout",
}

KPIS: list[KpiDeclaration] = [
    KpiDeclaration(
        key="no_show_rate",
        name="No-show rate",
        definition="No-shows ÷ (no-shows + visits the patient arrived for), appointments "
        "starting in the period.",
        unit="%",
        good_direction="down",
        selector=selectors.no_show_rate,
    ),
    KpiDeclaration(
        key="late_cancellation_rate",
        name="Late-cancellation rate",
        definition="Appointments cancelled less than LATE_CANCEL_HOURS before their start ÷ all "
        "appointments starting in the period.",
        unit="%",
        good_direction="down",
        selector=selectors.late_cancellation_rate,
    ),
    KpiDeclaration(
        key="schedule_utilisation",
        name="Schedule utilisation",
        definition="Booked minutes (appointments not cancelled and not no-shows) ÷ available "
        "minutes (working-hour templates minus holidays, blocks and leave).",
        unit="%",
        good_direction="up",
        selector=selectors.schedule_utilisation,
    ),
    KpiDeclaration(
        key="utilisation_by_provider",
        name="Schedule utilisation by provider",
        definition="Per provider: booked minutes ÷ available minutes.",
        unit="%",
        good_direction="up",
        selector=selectors.utilisation_by_provider,
        shape="rows",
    ),
    *(
        KpiDeclaration(
            key=f"wait_{measure}_{statistic}",
            name=f"{'Average' if statistic == 'average' else '90th-percentile'} wait, {label}",
            definition=f"{'Mean' if statistic == 'average' else '90th percentile (continuous)'}"
            f" of the minutes from {label}, over the period's visits with both times.",
            unit="minutes",
            good_direction="down",
            selector=_wait(measure, statistic),
        )
        for measure, label in WAITS.items()
        for statistic in ("average", "p90")
    ),
    KpiDeclaration(
        key="new_patients",
        name="New patients",
        definition="Patient records created in the period (merged duplicates not counted).",
        unit="patients",
        good_direction="up",
        selector=selectors.new_patients_count,
    ),
    KpiDeclaration(
        key="new_patients_by_month",
        name="New patients per month",
        definition="Patient records created per calendar month (merged duplicates not counted).",
        unit="patients",
        good_direction="up",
        selector=selectors.new_patients_by_month,
        shape="rows",
    ),
    KpiDeclaration(
        key="visits_per_provider_day",
        name="Visits per provider per day",
        definition="Visits the patient arrived for ÷ provider-days with at least one visit.",
        unit="visits",
        good_direction="none",
        selector=selectors.visits_per_provider_day,
    ),
    KpiDeclaration(
        key="visits_per_provider_per_day",
        name="Visits per day, by provider",
        definition="Per provider: visits the patient arrived for ÷ days with at least one visit.",
        unit="visits",
        good_direction="none",
        selector=selectors.visits_per_provider_per_day,
        shape="rows",
    ),
    KpiDeclaration(
        key="recall_compliance",
        name="Recall compliance",
        definition="Recalls due in the period that were booked or completed ÷ recalls due "
        "(cancelled recalls left out).",
        unit="%",
        good_direction="up",
        selector=selectors.recall_compliance,
    ),
    KpiDeclaration(
        key="unsigned_encounters",
        name="Unsigned encounters",
        definition="Encounters of the period's visits still unsigned more than "
        "CHART_CLOSURE_HOURS after checkout.",
        unit="encounters",
        good_direction="down",
        selector=selectors.unsigned_encounter_count,
    ),
]
