"""The KPI registry, the status of a figure against its target, and target validation."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from practicedesk.core.kpi import Kpi
from practicedesk.core.models import AuditEvent
from practicedesk.core.roles import AREAS
from practicedesk.dashboard import registry, services
from practicedesk.dashboard.models import KpiTarget
from practicedesk.dashboard.selectors import status_of, targets_for

D = Decimal
ISSUE_FIGURES = {
    "no_show_rate",
    "late_cancellation_rate",
    "schedule_utilisation",
    "wait_arrival_to_provider_average",
    "new_patients",
    "visits_per_provider_day",
    "unsigned_encounters",
    "days_in_ar",
    "net_collection_rate",
    "gross_collection_rate",
    "denial_rate",
    "first_pass_acceptance",
    "ar_over_90_share",
    "average_days_to_payment",
    "recall_compliance",
}


def test_the_registry_collects_every_apps_kpis_with_unique_keys_and_required_fields():
    kpis = registry.all_kpis()
    keys = [kpi.key for kpi in kpis]
    assert len(keys) == len(set(keys))
    assert set(keys) >= ISSUE_FIGURES
    for kpi in kpis:
        assert isinstance(kpi, Kpi)
        assert kpi.name and kpi.definition and kpi.unit, kpi.key
        assert kpi.area in AREAS and callable(kpi.selector), kpi.key
        assert kpi.good_direction in ("up", "down", "none"), kpi.key
        if kpi.default_target is not None:
            assert kpi.target_source, f"{kpi.key}: a default needs its source"
            services.target_check(kpi, kpi.default_target, kpi.default_warning)
    by_key = {kpi.key: kpi for kpi in kpis}
    assert by_key["no_show_rate"].area == "scheduling"
    assert by_key["new_patients"].area == "patients"
    assert by_key["denial_rate"].area == "billing"
    assert "35–40" in by_key["days_in_ar"].target_source


def test_a_declaration_missing_a_field_or_with_an_unknown_area_is_refused():
    bad = Kpi("x", "X", "", "%", "up", lambda *args: None, area="billing")
    with pytest.raises(ValueError, match="required"):
        registry.check(bad)
    with pytest.raises(ValueError, match="not a role area"):
        registry.check(Kpi("x", "X", "d", "%", "up", lambda *args: None, area="nowhere"))


@pytest.mark.parametrize(
    ("value", "direction", "status"),
    [
        (D("96"), "up", "on_target"),
        (D("95"), "up", "on_target"),
        (D("92"), "up", "warning"),
        (D("89.99"), "up", "off_target"),
        (D("4"), "down", "on_target"),
        (D("7.5"), "down", "warning"),
        (D("10.01"), "down", "off_target"),
        (None, "up", "no_data"),
        (D("3"), "none", "no_target"),
    ],
)
def test_status_is_on_target_warning_or_off_target_by_the_good_direction(value, direction, status):
    target, warning = (D("95"), D("90")) if direction == "up" else (D("5"), D("10"))
    assert status_of(value, target, warning, direction) == status


def test_a_target_that_is_not_a_number_is_refused_with_a_clear_message(manager):
    with pytest.raises(ValidationError) as refused:
        services.target_set(acting_user=manager, kpi_key="denial_rate", target="five", warning="10")
    assert refused.value.message_dict["target"] == ["The target must be a number, e.g. 95 or 37.5."]
    with pytest.raises(ValidationError) as refused:
        services.target_set(acting_user=manager, kpi_key="denial_rate", target="NaN", warning="")
    assert set(refused.value.message_dict) == {"target", "warning"}
    assert not KpiTarget.objects.exists()


def test_a_warning_threshold_on_the_wrong_side_of_its_target_is_refused(manager):
    with pytest.raises(ValidationError) as refused:
        services.target_set(
            acting_user=manager, kpi_key="net_collection_rate", target="95", warning="97"
        )
    assert "higher is better" in refused.value.message_dict["warning"][0]
    assert "must be at or below the target (95.00)" in refused.value.message_dict["warning"][0]
    with pytest.raises(ValidationError) as refused:
        services.target_set(acting_user=manager, kpi_key="denial_rate", target="5", warning="3")
    assert "lower is better" in refused.value.message_dict["warning"][0]
    with pytest.raises(ValidationError) as refused:
        services.target_set(acting_user=manager, kpi_key="denial_rate", target="120", warning="130")
    assert "between 0 and 100" in refused.value.message_dict["target"][0]
    assert not KpiTarget.objects.exists()


def test_a_figure_with_no_better_direction_takes_no_target(manager):
    with pytest.raises(ValidationError, match="takes no target"):
        services.target_set(
            acting_user=manager, kpi_key="visits_per_provider_day", target="20", warning="15"
        )


def test_a_location_target_overrides_the_practice_target_and_is_audited(manager):
    from tests import factories

    location = factories.LocationFactory()
    services.target_set(acting_user=manager, kpi_key="denial_rate", target="6", warning="9")
    services.target_set(
        acting_user=manager, kpi_key="denial_rate", target="4%", warning="8", location=location
    )
    services.target_set(acting_user=manager, kpi_key="denial_rate", target="7", warning="9")
    kpi = registry.kpi_by_key("denial_rate")
    assert targets_for([kpi], location.pk)["denial_rate"].target == D("4.00")
    assert targets_for([kpi], None)["denial_rate"].target == D("7.00")
    events = AuditEvent.objects.filter(name="kpi_target_set").order_by("pk")
    assert events.count() == 3
    assert events.last().detail["before"] == {"target": "6.00", "warning": "9.00"}
    services.target_reset(acting_user=manager, kpi_key="denial_rate", location=location)
    assert targets_for([kpi], location.pk)["denial_rate"].target == D("7.00")
