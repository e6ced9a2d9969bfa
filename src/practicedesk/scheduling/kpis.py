"""What scheduling contributes to the manager's dashboard: one ``Kpi`` per figure.

Each selector takes ``(start_date, end_date, location_id=None, provider_id=None)`` and returns
``None`` when the period has nothing to measure; ``records`` lists the visits, encounters,
recalls or patients behind the number. Default targets name the benchmark they follow.
"""

from collections.abc import Callable
from decimal import Decimal
from functools import partial

from practicedesk.core.kpi import Kpi
from practicedesk.scheduling import kpi_records, selectors

AREA = "scheduling"
D = Decimal
PRACTICE_DEFAULT = "Practice default (no single published benchmark); adjust to your practice."
WAIT_DEFAULTS = {
    "arrival_to_roomed": (D("10"), D("15"), D("20"), D("30")),
    "arrival_to_provider": (D("15"), D("20"), D("30"), D("45")),
    "arrival_to_checkout": (D("60"), D("75"), D("90"), D("120")),
}
WAIT_SOURCE = (
    "Press Ganey / Vitals surveys: patients wait about 18–20 minutes on average; under 15 "
    "minutes to the provider is good."
)


def _wait(measure: str, statistic: str) -> Callable:
    return partial(selectors.wait_time_figure, measure=measure, statistic=statistic)


def _wait_target(measure: str, statistic: str) -> dict:
    values = WAIT_DEFAULTS[measure]
    average = statistic == "average"
    return {
        "default_target": values[0 if average else 2],
        "default_warning": values[1 if average else 3],
        "target_source": WAIT_SOURCE if measure == "arrival_to_provider" else PRACTICE_DEFAULT,
    }


WAITS = {
    "arrival_to_roomed": "arrival to rooming",
    "arrival_to_provider": "arrival to seeing the provider",
    "arrival_to_checkout": "arrival to checkout",
}

KPIS: list[Kpi] = [
    Kpi(
        key="no_show_rate",
        name="No-show rate",
        definition="No-shows ÷ (no-shows + visits the patient arrived for), appointments "
        "starting in the period.",
        unit="%",
        good_direction="down",
        selector=selectors.no_show_rate,
        area=AREA,
        default_target=D("5"),
        default_warning=D("10"),
        target_source="MGMA: practice no-show rates average 5–7%; above 10% needs a reminder "
        "and overbooking policy.",
        drilldown_url_name="scheduling:appointment_list",
        records=kpi_records.no_shows,
    ),
    Kpi(
        key="late_cancellation_rate",
        name="Late-cancellation rate",
        definition="Appointments cancelled less than LATE_CANCEL_HOURS before their start ÷ all "
        "appointments starting in the period.",
        unit="%",
        good_direction="down",
        selector=selectors.late_cancellation_rate,
        area=AREA,
        default_target=D("5"),
        default_warning=D("10"),
        target_source=PRACTICE_DEFAULT,
        drilldown_url_name="scheduling:appointment_list",
        records=kpi_records.late_cancellations,
    ),
    Kpi(
        key="schedule_utilisation",
        name="Schedule utilisation",
        definition="Booked minutes (appointments not cancelled and not no-shows) ÷ available "
        "minutes (working-hour templates minus holidays, blocks and leave).",
        unit="%",
        good_direction="up",
        selector=selectors.schedule_utilisation,
        area=AREA,
        default_target=D("85"),
        default_warning=D("75"),
        target_source="MGMA: provider schedule (template) utilisation of 85–90%.",
        drilldown_url_name="scheduling:calendar",
    ),
    Kpi(
        key="utilisation_by_provider",
        name="Schedule utilisation by provider",
        definition="Per provider: booked minutes ÷ available minutes.",
        unit="%",
        good_direction="up",
        selector=selectors.utilisation_by_provider,
        area=AREA,
        row_label="provider",
        row_value="utilisation",
        shape="rows",
    ),
    *(
        Kpi(
            key=f"wait_{measure}_{statistic}",
            name=f"{'Average' if statistic == 'average' else '90th-percentile'} wait, {label}",
            definition=f"{'Mean' if statistic == 'average' else '90th percentile (continuous)'}"
            f" of the minutes from {label}, over the period's visits with both times.",
            unit="minutes",
            good_direction="down",
            selector=_wait(measure, statistic),
            area=AREA,
            drilldown_url_name="scheduling:flow_board",
            records=kpi_records.longest_waits(measure),
            **_wait_target(measure, statistic),
        )
        for measure, label in WAITS.items()
        for statistic in ("average", "p90")
    ),
    Kpi(
        key="new_patients",
        name="New patients",
        definition="Patient records created in the period (merged duplicates not counted).",
        unit="patients",
        good_direction="up",
        selector=selectors.new_patients_count,
        area="patients",
        target_source="No default: new-patient volume depends on the practice's size and "
        "growth plan.",
        drilldown_url_name="patients:patient_list",
        records=kpi_records.new_patients,
    ),
    Kpi(
        key="new_patients_by_month",
        name="New patients per month",
        definition="Patient records created per calendar month (merged duplicates not counted).",
        unit="patients",
        good_direction="up",
        selector=selectors.new_patients_by_month,
        area="patients",
        row_label="month",
        row_value="count",
        shape="rows",
    ),
    Kpi(
        key="visits_per_provider_day",
        name="Visits per provider per day",
        definition="Visits the patient arrived for ÷ provider-days with at least one visit.",
        unit="visits",
        good_direction="none",
        selector=selectors.visits_per_provider_day,
        area=AREA,
        target_source="No target: more visits a day is not better or worse by itself.",
    ),
    Kpi(
        key="visits_per_provider_per_day",
        name="Visits per day, by provider",
        definition="Per provider: visits the patient arrived for ÷ days with at least one visit.",
        unit="visits",
        good_direction="none",
        selector=selectors.visits_per_provider_per_day,
        area=AREA,
        row_label="provider",
        row_value="per_day",
        shape="rows",
    ),
    Kpi(
        key="recall_compliance",
        name="Recall compliance",
        definition="Recalls due in the period that were booked or completed ÷ recalls due "
        "(cancelled recalls left out).",
        unit="%",
        good_direction="up",
        selector=selectors.recall_compliance,
        area=AREA,
        default_target=D("80"),
        default_warning=D("70"),
        target_source=PRACTICE_DEFAULT,
        per_location=False,
        drilldown_url_name="scheduling:recall_list",
        records=kpi_records.recalls_missed,
    ),
    Kpi(
        key="unsigned_encounters",
        name="Unsigned encounters",
        definition="Encounters of the period's visits still unsigned more than "
        "CHART_CLOSURE_HOURS after checkout.",
        unit="encounters",
        good_direction="down",
        selector=selectors.unsigned_encounter_count,
        area=AREA,
        default_target=D("0"),
        default_warning=D("5"),
        target_source="Chart-closure policy: every encounter signed within CHART_CLOSURE_HOURS "
        "(CMS expects timely authentication of records).",
        drilldown_url_name="scheduling:encounter_list",
        records=kpi_records.unsigned_encounters,
    ),
]
