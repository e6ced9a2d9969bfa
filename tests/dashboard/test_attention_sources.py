"""What billing and scheduling put on the attention list, each with its severity and due date."""

import datetime

import pytest
from django.utils import timezone

from practicedesk.billing.attention import attention_items as billing_items
from practicedesk.scheduling.attention import attention_items as scheduling_items
from tests import factories

pytestmark = pytest.mark.django_db


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def by_key(items) -> dict:
    return {item.key: item for item in items}


def test_billing_lists_claims_near_timely_filing_plans_checks_and_collections(db):
    today = timezone.localdate()
    payer = factories.PayerFactory(name="Ninety Day Health", timely_filing_days=90)
    coverage = factories.CoverageFactory(payer=payer)
    near = factories.ClaimFactory(coverage=coverage, date_of_service=days_ago(80))
    late = factories.ClaimFactory(coverage=coverage, date_of_service=days_ago(100))
    factories.ClaimFactory(coverage=coverage, date_of_service=days_ago(30))
    owing = factories.PatientFactory(last_name="Owing")
    factories.patient_charge(owing, "60.00", date_of_service=days_ago(120))
    handled = factories.PatientFactory(last_name="Handled")
    factories.patient_charge(handled, "70.00", date_of_service=days_ago(120))
    factories.CollectionCaseFactory(patient=handled)
    check = factories.PaymentFactory(
        status="returned", returned_on=days_ago(3), returned_reason="Insufficient funds"
    )
    plan = factories.PaymentPlanFactory(
        status="defaulted", ended_at=timezone.now(), delinquent_since=days_ago(40)
    )

    items = by_key(billing_items(today))

    soon = items[f"billing.timely_filing.{near.pk}"]
    assert soon.severity == "warning" and soon.due == today + datetime.timedelta(days=10)
    assert "10 days left" in soon.title
    past = items[f"billing.timely_filing.{late.pk}"]
    assert past.severity == "critical" and "10 days past" in past.title
    assert len([key for key in items if key.startswith("billing.timely_filing.")]) == 2
    account = items[f"billing.collections.{owing.pk}"]
    assert "owes 60.00 for more than 90 days" in account.title
    assert f"billing.collections.{handled.pk}" not in items
    assert items[f"billing.returned_check.{check.pk}"].due == days_ago(3) + datetime.timedelta(
        days=7
    )
    assert items[f"billing.payment_plan.{plan.pk}.defaulted"].severity == "critical"
    assert all(item.area == "billing" and item.url for item in items.values())


def test_scheduling_lists_long_waits_unsigned_encounters_and_overdue_recalls(db, settings):
    settings.FLOW_WAIT_LIMIT_MINUTES = 20
    settings.CHART_CLOSURE_HOURS = 72
    now = timezone.now()
    today = timezone.localdate()
    waiting = factories.AppointmentFactory(
        start=now,
        end=now + datetime.timedelta(minutes=20),
        status="arrived",
        arrived_at=now - datetime.timedelta(minutes=45),
    )
    factories.AppointmentFactory(
        start=now,
        end=now + datetime.timedelta(minutes=20),
        status="arrived",
        arrived_at=now - datetime.timedelta(minutes=5),
    )
    encounter = factories.EncounterFactory(opened_at=now - datetime.timedelta(hours=100))
    recall = factories.RecallFactory(due_date=days_ago(5))

    items = by_key(scheduling_items(today))

    wait = items[f"scheduling.long_wait.{waiting.pk}.arrived"]
    assert wait.severity == "critical" and "waited 45 min" in wait.title
    assert len([key for key in items if key.startswith("scheduling.long_wait.")]) == 1
    assert f"scheduling.unsigned_encounter.{encounter.pk}" in items
    assert items[f"scheduling.recall.{recall.pk}"].due == days_ago(5)
