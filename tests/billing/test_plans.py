"""Payment plans (a manager authorizes; missed instalments make it delinquent, then default
it back to collections) and financial assistance (sliding-scale discounts)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from practicedesk.billing.models import (
    CollectionCase,
    FinancialAssistanceApproval,
    LedgerEntry,
    PaymentPlan,
    PlanInstalment,
)
from practicedesk.billing.selectors import charge_balance, patient_balance, plan_schedule
from practicedesk.billing.services import (
    add_months,
    financial_assistance_apply,
    financial_assistance_approve,
    payment_plan_authorize,
    payment_plan_cancel,
    payment_plan_propose,
    payment_receive,
    payment_return_nsf,
    plan_instalments_check,
    plan_schedule_build,
)
from practicedesk.patients.models import PatientAlert
from tests import factories
from tests.factories import VALID_ROUTING_NUMBER, patient_charge

pytestmark = pytest.mark.django_db

D = Decimal
PATIENT = LedgerEntry.Responsibility.PATIENT


@pytest.fixture
def biller(make_user):
    return make_user("biller", two_factor_exempt=True)


@pytest.fixture
def manager_user(make_user):
    return make_user("manager", two_factor_exempt=True)


@pytest.fixture
def patient():
    patient = factories.PatientFactory()
    patient_charge(patient, "1000.00")
    return patient


def propose(user, patient, **kwargs):
    values = {
        "down_payment": D("100.00"),
        "instalment_amount": D("250.00"),
        "frequency": PaymentPlan.Frequency.MONTHLY,
        "start_date": timezone.localdate(),
    }
    values.update(kwargs)
    return payment_plan_propose(acting_user=user, patient=patient, **values)


def pay(user, patient, amount, plan=None, **kwargs):
    return payment_receive(
        acting_user=user,
        amount=amount,
        method="cash",
        location=factories.LocationFactory(),
        patient=patient,
        plan=plan,
        **kwargs,
    )


def test_plan_schedule_adds_up_exactly_and_the_last_instalment_takes_the_remainder():
    schedule = plan_schedule_build(
        total=D("1000.00"),
        down_payment=D("100.00"),
        instalment_amount=D("250.00"),
        frequency="monthly",
        start_date=datetime.date(2026, 1, 31),
    )
    assert schedule == [
        (0, datetime.date(2026, 1, 31), D("100.00")),
        (1, datetime.date(2026, 2, 28), D("250.00")),
        (2, datetime.date(2026, 3, 31), D("250.00")),
        (3, datetime.date(2026, 4, 30), D("250.00")),
        (4, datetime.date(2026, 5, 31), D("150.00")),
    ]
    weekly = plan_schedule_build(
        total=D("100.00"),
        down_payment=D("0.00"),
        instalment_amount=D("33.33"),
        frequency="biweekly",
        start_date=datetime.date(2026, 1, 1),
    )
    assert [amount for _, _, amount in weekly] == [D("33.33"), D("33.33"), D("33.33"), D("0.01")]
    assert [due for _, due, _ in weekly][:2] == [
        datetime.date(2026, 1, 1),
        datetime.date(2026, 1, 15),
    ]
    assert add_months(datetime.date(2024, 1, 31), 1) == datetime.date(2024, 2, 29)


def test_plan_proposed_with_its_schedule_awaits_a_manager(biller, patient):
    plan = propose(biller, patient)
    assert plan.status == PaymentPlan.Status.PROPOSED and plan.total == D("1000.00")
    assert plan.proposed_by == biller
    amounts = list(plan.instalments.values_list("amount", flat=True))
    assert sum(amounts) == plan.total and len(amounts) == 5


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"total": D("900.00")}, "total"),
        ({"down_payment": D("1000.00")}, "down_payment"),
        ({"down_payment": D("-1.00")}, "down_payment"),
        ({"instalment_amount": D("0.00")}, "instalment_amount"),
        ({"instalment_amount": D("950.00")}, "instalment_amount"),
        ({"instalment_count": 3}, "instalment_count"),
        ({"instalment_amount": D("1.00")}, "instalment_amount"),
        ({"start_date": datetime.date(2020, 1, 1)}, "start_date"),
    ],
)
def test_plan_whose_numbers_do_not_add_up_is_refused(biller, patient, changes, field):
    with pytest.raises(ValidationError) as error:
        propose(biller, patient, **changes)
    assert field in error.value.message_dict
    assert PaymentPlan.objects.count() == 0 and PlanInstalment.objects.count() == 0


def test_plan_needs_a_balance_and_only_one_runs_at_a_time(biller, patient):
    propose(biller, patient)
    with pytest.raises(ValidationError, match="already has a payment plan"):
        propose(biller, patient)
    with pytest.raises(ValidationError, match="owes nothing"):
        propose(biller, factories.PatientFactory())


def test_only_a_manager_authorizes_a_plan_and_the_authorization_is_recorded(
    biller, manager_user, patient
):
    plan = propose(biller, patient)
    with pytest.raises(ValidationError, match="Only a practice manager"):
        payment_plan_authorize(acting_user=biller, plan=plan)
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.PROPOSED
    payment_plan_authorize(acting_user=manager_user, plan=plan)
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.ACTIVE
    assert plan.authorized_by == manager_user and plan.authorized_at is not None


def test_plan_is_not_authorized_once_the_balance_has_changed(biller, manager_user, patient):
    plan = propose(biller, patient)
    pay(biller, patient, D("10.00"))
    with pytest.raises(ValidationError, match="propose it again"):
        payment_plan_authorize(acting_user=manager_user, plan=plan)


def running_plan(biller, manager_user, patient, start):
    """An authorized plan of 100 down and 3 × 300, due every 30 days from ``start``."""
    plan = payment_plan_propose(
        acting_user=biller,
        patient=patient,
        down_payment=D("100.00"),
        instalment_amount=D("300.00"),
        frequency="monthly",
        start_date=timezone.localdate(),
    )
    payment_plan_authorize(acting_user=manager_user, plan=plan)
    # Move the schedule, as if the plan had started on ``start``.
    for instalment in plan.instalments.all():
        instalment.due_date = start + datetime.timedelta(days=30 * instalment.number)
        instalment.save(update_fields=["due_date"])
    return plan


def test_missed_instalment_makes_the_plan_delinquent_then_defaulted(
    biller, manager_user, patient, settings
):
    settings.PLAN_GRACE_DAYS = 15
    today = timezone.localdate()
    start = today - datetime.timedelta(days=5)
    plan = running_plan(biller, manager_user, patient, start)
    pay(biller, patient, D("100.00"), plan=plan, received_on=start)
    due = start + datetime.timedelta(days=30)

    plan_instalments_check(today=due)
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.ACTIVE  # due today, not missed yet

    plan_instalments_check(today=due + datetime.timedelta(days=1))
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.DELINQUENT
    assert plan.delinquent_since == due
    statuses = dict(plan.instalments.values_list("number", "status"))
    assert statuses[0] == "paid" and statuses[1] == "missed" and statuses[2] == "due"
    assert not CollectionCase.objects.exists()

    plan_instalments_check(today=due + datetime.timedelta(days=15))
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.DELINQUENT  # 15 days of grace

    counts = plan_instalments_check(today=due + datetime.timedelta(days=16))
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.DEFAULTED and counts == {"defaulted": 1}
    case = CollectionCase.objects.get(patient=patient)
    assert "defaulted" in case.reason
    assert patient.alerts.filter(kind=PatientAlert.Kind.COLLECTIONS, is_active=True).exists()


def test_paying_the_missed_instalment_makes_the_plan_active_again(
    biller, manager_user, patient, settings
):
    settings.PLAN_GRACE_DAYS = 15
    start = timezone.localdate() - datetime.timedelta(days=40)
    plan = running_plan(biller, manager_user, patient, start)
    pay(biller, patient, D("100.00"), plan=plan, received_on=start)
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.DELINQUENT
    pay(biller, patient, D("300.00"), plan=plan)
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.ACTIVE and plan.delinquent_since is None
    lines = plan_schedule(plan)
    assert [line.paid for line in lines] == [D("100.00"), D("300.00"), D("0"), D("0")]


def test_plan_paid_in_full_is_completed_and_the_balance_is_zero(biller, manager_user, patient):
    plan = running_plan(biller, manager_user, patient, timezone.localdate())
    pay(biller, patient, D("1000.00"), plan=plan)
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.COMPLETED
    assert patient_balance(patient.pk) == D("0.00")


def test_returned_check_on_a_plan_unpays_its_instalment(biller, manager_user, patient):
    start = timezone.localdate() - datetime.timedelta(days=3)
    plan = running_plan(biller, manager_user, patient, start)
    payment = payment_receive(
        acting_user=biller,
        amount=D("100.00"),
        method="check",
        check_number="3",
        routing_number=VALID_ROUTING_NUMBER,
        location=factories.LocationFactory(),
        patient=patient,
        plan=plan,
        received_on=start,
    )
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.ACTIVE
    payment_return_nsf(acting_user=biller, payment=payment)
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.DELINQUENT
    assert plan.instalments.get(number=0).status == PlanInstalment.Status.MISSED


def test_payment_toward_a_plan_that_is_not_running_is_refused(biller, patient):
    plan = propose(biller, patient)
    with pytest.raises(ValidationError, match="not running"):
        pay(biller, patient, D("100.00"), plan=plan)
    payment_plan_cancel(acting_user=biller, plan=plan, reason="Patient paid in full")
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.CANCELLED


# Financial assistance


@pytest.fixture
def bands():
    return [
        factories.FinancialAssistanceBandFactory(
            name="Full", poverty_level_max=100, discount_percent=D("100")
        ),
        factories.FinancialAssistanceBandFactory(
            name="Half", poverty_level_max=200, discount_percent=D("50")
        ),
        factories.FinancialAssistanceBandFactory(
            name="Quarter", poverty_level_max=300, discount_percent=D("25")
        ),
    ]


def test_financial_assistance_band_follows_income_as_percent_of_poverty(manager_user, bands):
    patient = factories.PatientFactory()
    # 2 people: guideline 15,650 + 5,500 = 21,150; 40,000 is 189.13% of it.
    approval = financial_assistance_approve(
        acting_user=manager_user,
        patient=patient,
        household_income=D("40000.00"),
        household_size=2,
    )
    assert approval.band.name == "Half"
    assert approval.poverty_level_percent == D("189.13")
    assert approval.approved_by == manager_user
    assert approval.valid_until == add_months(approval.valid_from, 12) - datetime.timedelta(1)


def test_financial_assistance_needs_a_manager_and_a_band(biller, manager_user, bands):
    patient = factories.PatientFactory()
    with pytest.raises(ValidationError, match="Only a practice manager"):
        financial_assistance_approve(
            acting_user=biller, patient=patient, household_income=D("1"), household_size=1
        )
    with pytest.raises(ValidationError, match="no financial-assistance band"):
        financial_assistance_approve(
            acting_user=manager_user,
            patient=patient,
            household_income=D("100000"),
            household_size=1,
        )
    assert FinancialAssistanceApproval.objects.count() == 0


def test_financial_assistance_is_a_distinct_adjustment_applied_once_per_charge(
    biller, manager_user, bands
):
    patient = factories.PatientFactory()
    inside = patient_charge(patient, "101.00", date_of_service=timezone.localdate())
    before = patient_charge(patient, "80.00", date_of_service=datetime.date(2020, 1, 1))
    approval = financial_assistance_approve(
        acting_user=manager_user, patient=patient, household_income=D("20000"), household_size=2
    )
    entries = financial_assistance_apply(acting_user=biller, approval=approval)
    assert len(entries) == 1
    entry = entries[0]
    assert entry.kind == LedgerEntry.Kind.ADJUSTMENT and entry.adjustment_group == "FA"
    assert entry.amount == D("-101.00") * approval.band.discount_percent / 100
    assert entry.approved_by == manager_user
    assert charge_balance(before.pk, PATIENT) == D("80.00")
    assert charge_balance(inside.pk, PATIENT) == D("101.00") + entry.amount
    count = LedgerEntry.objects.count()
    with pytest.raises(ValidationError, match="discounted once"):
        financial_assistance_apply(acting_user=biller, approval=approval)
    assert LedgerEntry.objects.count() == count


def test_the_worker_checks_running_plans_a_few_times_a_day(biller, manager_user, patient):
    from practicedesk.billing.tasks import payment_plans_check
    from practicedesk.core.periodic import declared

    (job,) = [job for job in declared() if job.name == "payment_plans_check"]
    assert job.task_path == payment_plans_check.module_path
    plan = running_plan(
        biller, manager_user, patient, timezone.localdate() - datetime.timedelta(days=1)
    )
    assert payment_plans_check.call() == {"delinquent": 1}
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.DELINQUENT
