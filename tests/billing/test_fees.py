"""Fee schedules: effective dating, the bulk update of the practice's fees, the fee analysis."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from practicedesk.billing.models import Fee, FeeSchedule
from practicedesk.billing.selectors import fee_analysis, fee_in_force
from practicedesk.billing.services import (
    FeeBulkMode,
    charge_reverse,
    fee_schedule_bulk_preview,
    fee_schedule_bulk_update,
)
from practicedesk.core.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def next_month():
    return timezone.localdate() + datetime.timedelta(days=30)


@pytest.fixture
def medicare(service_codes):
    """Medicare's allowed amounts: for 99213 and 99214, none for 36415."""
    payer = factories.PayerFactory(name="Medicare", payer_type="medicare", payer_id="MCR01")
    schedule = FeeSchedule.objects.create(
        name="Medicare 2020", payer=payer, effective_from=datetime.date(2020, 1, 1)
    )
    Fee.objects.create(fee_schedule=schedule, service_code=service_codes["99213"], amount="80.00")
    Fee.objects.create(fee_schedule=schedule, service_code=service_codes["99214"], amount="33.33")
    return payer


def practice_fees(schedule: FeeSchedule) -> dict[str, Decimal]:
    return {
        fee.service_code.code: fee.amount for fee in schedule.fees.select_related("service_code")
    }


def test_fee_in_force_is_the_old_schedule_before_the_effective_date_and_the_new_after(
    service_codes, manager, next_month
):
    code = service_codes["99213"]
    fee_schedule_bulk_update(
        acting_user=manager,
        mode=FeeBulkMode.PERCENTAGE,
        percentage=Decimal("10"),
        effective_from=next_month,
    )
    day_before = next_month - datetime.timedelta(days=1)
    assert fee_in_force(code.pk, day_before).amount == Decimal("110.00")
    assert fee_in_force(code.pk, next_month).amount == Decimal("121.00")
    assert fee_in_force(code.pk, next_month + datetime.timedelta(days=400)).amount == Decimal(
        "121.00"
    )


def test_bulk_update_by_percentage_rounds_half_up_to_the_cent(service_codes, manager, next_month):
    preview = fee_schedule_bulk_preview(
        mode=FeeBulkMode.PERCENTAGE, percentage=Decimal("3.5"), effective_from=next_month
    )
    new = {change.service_code.code: change.new for change in preview.changes}
    # 15.00 × 1.035 = 15.525: half-up gives 15.53 (banker's rounding would give 15.52).
    assert new == {
        "36415": Decimal("15.53"),
        "99213": Decimal("113.85"),
        "99214": Decimal("170.78"),
    }
    assert preview.changed_count == 3


def test_bulk_update_creates_a_new_schedule_and_never_edits_history(
    service_codes, manager, next_month
):
    old = FeeSchedule.objects.get(payer__isnull=True)
    before = practice_fees(old)
    new = fee_schedule_bulk_update(
        acting_user=manager,
        mode=FeeBulkMode.PERCENTAGE,
        percentage=Decimal("3.5"),
        effective_from=next_month,
        name="Fees 2027",
    )
    old.refresh_from_db()
    assert practice_fees(old) == before
    assert old.effective_to == next_month - datetime.timedelta(days=1)
    assert new.name == "Fees 2027"
    assert (new.payer, new.effective_from, new.effective_to) == (None, next_month, None)
    assert practice_fees(new)["36415"] == Decimal("15.53")
    assert AuditEvent.objects.filter(name="fee_schedule_bulk_update", user=manager).exists()


def test_bulk_update_before_a_later_schedule_ends_the_day_before_it(
    service_codes, manager, next_month
):
    later = next_month + datetime.timedelta(days=90)
    fee_schedule_bulk_update(
        acting_user=manager, mode="percentage", percentage=Decimal("5"), effective_from=later
    )
    middle = fee_schedule_bulk_update(
        acting_user=manager, mode="percentage", percentage=Decimal("2"), effective_from=next_month
    )
    assert middle.effective_to == later - datetime.timedelta(days=1)
    code = service_codes["99213"].pk
    assert fee_in_force(code, next_month).amount == Decimal("112.20")
    assert fee_in_force(code, later).amount == Decimal("115.50")


def test_bulk_update_to_a_multiple_of_a_payer_keeps_codes_the_payer_has_no_amount_for(
    medicare, service_codes, manager, next_month
):
    preview = fee_schedule_bulk_preview(
        mode=FeeBulkMode.PAYER_MULTIPLE,
        payer=medicare,
        multiple=Decimal("1.5"),
        effective_from=next_month,
    )
    changes = {change.service_code.code: change for change in preview.changes}
    assert changes["99213"].new == Decimal("120.00")
    assert changes["99214"].new == Decimal("50.00")  # 33.33 × 1.5 = 49.995, half-up
    assert changes["36415"].new == Decimal("15.00")
    assert "Medicare has no allowed amount" in changes["36415"].note
    assert (preview.changed_count, preview.kept_count) == (2, 1)
    new = fee_schedule_bulk_update(
        acting_user=manager,
        mode=FeeBulkMode.PAYER_MULTIPLE,
        payer=medicare,
        multiple=Decimal("1.5"),
        effective_from=next_month,
    )
    assert practice_fees(new) == {
        "99213": Decimal("120.00"),
        "99214": Decimal("50.00"),
        "36415": Decimal("15.00"),
    }


def test_a_bulk_preview_changes_nothing(service_codes, next_month):
    count = FeeSchedule.objects.count()
    fee_schedule_bulk_preview(
        mode=FeeBulkMode.PERCENTAGE, percentage=Decimal("3"), effective_from=next_month
    )
    assert FeeSchedule.objects.count() == count
    assert FeeSchedule.objects.get(payer__isnull=True).effective_to is None


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"mode": "percentage", "percentage": Decimal("3"), "days": -1}, "effective_from"),
        ({"mode": "percentage", "percentage": Decimal("-100"), "days": 5}, "percentage"),
        ({"mode": "percentage", "percentage": None, "days": 5}, "percentage"),
        ({"mode": "payer_multiple", "multiple": Decimal("1.2"), "days": 5}, "payer"),
        ({"mode": "payer_multiple", "multiple": Decimal("0"), "days": 5, "payer": 1}, "multiple"),
    ],
)
def test_a_bulk_update_with_bad_input_is_refused_and_changes_nothing(
    arguments, field, service_codes, medicare, manager
):
    arguments = dict(arguments)
    days = arguments.pop("days")
    if arguments.pop("payer", None):
        arguments["payer"] = medicare
    count = FeeSchedule.objects.count()
    with pytest.raises(ValidationError) as raised:
        fee_schedule_bulk_update(
            acting_user=manager,
            effective_from=timezone.localdate() + datetime.timedelta(days=days),
            **arguments,
        )
    assert field in raised.value.error_dict
    assert FeeSchedule.objects.count() == count


def test_a_bulk_update_on_the_day_a_schedule_starts_is_refused(service_codes, manager, next_month):
    fee_schedule_bulk_update(
        acting_user=manager, mode="percentage", percentage=Decimal("1"), effective_from=next_month
    )
    with pytest.raises(ValidationError, match="already starts on"):
        fee_schedule_bulk_update(
            acting_user=manager,
            mode="percentage",
            percentage=Decimal("2"),
            effective_from=next_month,
        )


def test_fee_analysis_shows_fees_allowed_amounts_and_12_months_of_posted_volume(
    billed_visit, medicare, make_user
):
    # billed_visit posted 99214 × 1 ($165) and 36415 × 1 ($15); 36415 is then reversed.
    charge_reverse(
        acting_user=make_user("biller"),
        charge=billed_visit.charges.get(service_code__code="36415"),
        reason="Not drawn",
    )
    old = factories.ChargeFactory(
        service_code=billed_visit.charges.first().service_code,
        date_of_service=timezone.localdate() - datetime.timedelta(days=400),
        units=4,
    )
    assert old.service_code.code == "99214"
    analysis = fee_analysis()
    rows = {row.service_code.code: row for row in analysis.rows}
    assert [payer.name for payer in analysis.payers] == ["Medicare"]
    assert (rows["99214"].practice_fee, rows["99214"].units, rows["99214"].billed) == (
        Decimal("165.00"),
        1,
        Decimal("165.00"),
    )
    assert (rows["36415"].units, rows["36415"].billed) == (0, Decimal("0.00"))
    assert rows["99213"].units == 0
    medicare_99213 = rows["99213"].payer_amounts[0]
    assert (medicare_99213.amount, medicare_99213.percent_of_fee) == (
        Decimal("80.00"),
        Decimal("73"),
    )
    assert rows["36415"].payer_amounts[0].amount is None


def test_fee_analysis_is_one_query_whatever_the_number_of_codes(
    service_codes, medicare, django_assert_max_num_queries
):
    for number in range(20):
        factories.ServiceCodeFactory(code=f"9{number:04d}", description="Extra")
    with django_assert_max_num_queries(2):
        analysis = fee_analysis()
    assert len(analysis.rows) == 23
