import pytest
from django.core.management import call_command
from django.utils import timezone

from practicedesk.billing.models import (
    Charge,
    Claim,
    ClaimBatch,
    CollectionCase,
    CollectionLetter,
    FinancialAssistanceApproval,
    LedgerEntry,
    Payment,
    PaymentPlan,
    Remittance,
    Statement,
    StatementRun,
    Underpayment,
    validate_icd10,
)
from practicedesk.billing.receivables import aging_by_patient, aging_by_payer
from practicedesk.billing.x12.validate import x12_errors
from practicedesk.core.models import Location, User
from practicedesk.core.money import MoneySum
from practicedesk.demo.billing_reference import ALL_DIAGNOSES
from practicedesk.demo.era import EraClaim, EraLine, EraPayee, EraPayer, remittance_file
from practicedesk.patients.models import Coverage, Patient
from practicedesk.scheduling.models import Appointment, Provider

pytestmark = pytest.mark.django_db

# The test bills one provider in four (a deterministic slice of the small demo) to stay fast.
BILLING_SLICE = 4


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (
            Location,
            User,
            Patient,
            Coverage,
            Provider,
            Appointment,
            Charge,
            Claim,
            ClaimBatch,
            Remittance,
            Payment,
            LedgerEntry,
            PaymentPlan,
            CollectionCase,
        )
    }


def overlaps(key: str) -> list[tuple]:
    clashes = []
    last_end: dict = {}
    rows = Appointment.objects.booked().order_by(key, "start").values_list(key, "start", "end")
    for owner, start, end in rows:
        if owner in last_end and start < last_end[owner]:
            clashes.append((owner, start))
        last_end[owner] = max(end, last_end.get(owner, end))
    return clashes


def room_overlaps() -> list[tuple]:
    clashes = []
    last_end: dict = {}
    rows = Appointment.objects.booked().exclude(room=None)
    for room, start, end in rows.order_by("room", "start").values_list("room", "start", "end"):
        if room in last_end and start < last_end[room]:
            clashes.append((room, start))
        last_end[room] = max(end, last_end.get(room, end))
    return clashes


def total(entries) -> object:
    return entries.aggregate(total=MoneySum("amount"))["total"]


def assert_billing_ties_out():
    """Every figure the demo made went through the services, so the books agree."""
    today = timezone.localdate()
    ledger = total(LedgerEntry.objects.all())
    # Each patient's balance (both responsibilities) is the sum of their entries, and the
    # aging reports add up to the ledger.
    by_patient = dict(
        LedgerEntry.objects.values("patient_id")
        .annotate(total=MoneySum("amount"))
        .values_list("patient_id", "total")
    )
    aging = aging_by_patient(today)
    assert {row.object_id: row.total for row in aging.rows} == {
        pk: amount for pk, amount in by_patient.items() if amount
    }
    assert aging.total.total == ledger == aging_by_payer(today).total.total
    for row in aging.rows:
        assert sum(row.buckets.values()) == row.total
    # Each charge is on the ledger once, at its amount.
    charged = dict(
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE)
        .values("charge_id")
        .annotate(total=MoneySum("amount"))
        .values_list("charge_id", "total")
    )
    assert charged == dict(Charge.objects.values_list("pk", "amount"))
    # Transfers between payer and patient move money, never make it.
    assert total(LedgerEntry.objects.filter(kind=LedgerEntry.Kind.TRANSFER)) == 0
    # Each remittance posts what its BPR pays, all of it.
    for remittance in Remittance.objects.all():
        assert remittance.posted_total == remittance.payment_amount
        paid = total(
            LedgerEntry.objects.filter(
                kind=LedgerEntry.Kind.PAYMENT, remittance_line__remittance=remittance
            )
        )
        assert -(paid or 0) == remittance.payment_amount
    # A patient's payment is posted in full; a returned check is taken back in full.
    for payment in Payment.objects.filter(patient__isnull=False).prefetch_related("ledger_entries"):
        posted = sum(
            e.amount
            for e in payment.ledger_entries.all()
            if e.kind in (LedgerEntry.Kind.PAYMENT, LedgerEntry.Kind.REVERSAL)
        )
        expected = 0 if payment.status == Payment.Status.RETURNED else -payment.amount
        assert posted == expected, payment


def test_the_small_demo_builds_one_consistent_practice_and_never_twice(capsys):
    """One build checked for everything: counts, idempotence, users, no double booking of a
    provider, patient or room, searchable patients, and billing that ties out."""
    call_command("demo", size="small", billing_provider_step=BILLING_SLICE)
    first = counts()
    assert first["Location"] == 1
    assert first["Provider"] == 4
    assert first["Patient"] == 1500
    assert first["Appointment"] > 2000
    assert first["Charge"] > 300 and first["Claim"] > 150 and first["Remittance"] > 5
    call_command("demo", size="small", billing_provider_step=BILLING_SLICE)
    assert counts() == first
    output = capsys.readouterr().out
    assert "Practice manager" in output and "practicedesk-demo" in output
    assert f"{first['Charge']:,} charges" in output

    users = User.objects.filter(username__in=["manager", "frontdesk", "auditor"])
    assert users.count() == 3
    assert all(user.two_factor_exempt for user in users)

    assert overlaps("provider_id") == []
    assert overlaps("patient_id") == []
    assert Appointment.objects.booked().exclude(room=None).exists()
    assert room_overlaps() == []

    patient = Patient.objects.exclude(mobile_phone="").first()
    assert patient.search_name.startswith(patient.last_name.lower())
    assert patient.phone_digits

    assert_billing_ties_out()
    # The revenue cycle's every kind of event is there to look at.
    assert Claim.objects.filter(status=Claim.Status.DENIED).exists()
    assert Claim.objects.filter(status=Claim.Status.APPEALED).exists()
    assert Claim.objects.filter(payer_order=2, status=Claim.Status.PAID).exists()
    assert Claim.objects.filter(status=Claim.Status.SUBMITTED).exists()  # open insurance A/R
    assert Underpayment.objects.exists()
    assert LedgerEntry.objects.filter(adjustment_group="PR", adjustment_reason="1").exists()
    assert LedgerEntry.objects.filter(adjustment_group="PR", adjustment_reason="2").exists()
    assert LedgerEntry.objects.filter(adjustment_group="PR", adjustment_reason="3").exists()
    write_offs = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.WRITE_OFF)
    assert write_offs.exists()
    assert not write_offs.exclude(approved_by__username="manager").exists()
    assert Payment.objects.filter(status=Payment.Status.RETURNED).exists()
    assert {"cash", "check", "card"} <= set(Payment.objects.values_list("method", flat=True))
    assert PaymentPlan.objects.filter(status=PaymentPlan.Status.DEFAULTED).exists()
    assert PaymentPlan.objects.filter(authorized_by__username="manager").count() >= 2
    assert CollectionCase.objects.exists()
    assert CollectionLetter.objects.exists()
    assert FinancialAssistanceApproval.objects.exists()
    runs = StatementRun.objects.filter(status=StatementRun.Status.DONE)
    assert runs.exists() and Statement.objects.filter(run__in=runs).exists()
    assert all(statement.file.read(4) == b"%PDF" for statement in Statement.objects.all()[:3])
    # History is dated when it happened, not on the day the demo was built.
    assert LedgerEntry.objects.filter(posted_on__lt=timezone.localdate()).count() > (
        0.9 * first["LedgerEntry"]
    )


def test_the_demo_diagnoses_are_billable_icd10_codes():
    for code in ALL_DIAGNOSES:
        validate_icd10(code)


def test_a_demo_remittance_is_a_valid_835():
    import datetime
    from decimal import Decimal

    day = datetime.date(2026, 3, 4)
    line = EraLine(
        code="99214",
        modifiers=("25",),
        units=1,
        billed=Decimal("195.00"),
        paid=Decimal("96.40"),
        allowed=Decimal("121.40"),
        service_date=day,
        adjustments=[("CO", "45", Decimal("73.60")), ("PR", "3", Decimal("25.00"))],
    )
    denied = EraLine(
        code="36415",
        modifiers=(),
        units=1,
        billed=Decimal("20.00"),
        paid=Decimal("0.00"),
        service_date=day,
        adjustments=[("CO", "16", Decimal("20.00"))],
        remarks=("MA130",),
    )
    claims = [
        EraClaim("PD00000001", "1", "X1", "Doe", "Jane", "M1", "12", [line]),
        EraClaim("PD00000002", "4", "X2", "Roe", "Rick", "M2", "12", [denied]),
    ]
    text = remittance_file(
        payer=EraPayer("Aetna", "60054"),
        payee=EraPayee("Prairie Health Partners", "1234567893", "37-1234567"),
        claims=claims,
        payment_date=day,
        trace_number="600541",
        control_number=7,
    )
    assert x12_errors(text) == []
