"""Underpayments (paid below the payer's contracted amount) and the payer comparison report."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from practicedesk.billing.models import Fee, FeeSchedule, Underpayment
from practicedesk.billing.remittance_selectors import payer_comparison
from practicedesk.billing.remittances import remittance_import, underpayment_decide
from practicedesk.billing.services import (
    ChargeLine,
    charges_post,
    claim_create,
    visit_diagnoses_set,
)
from practicedesk.scheduling.models import Appointment
from tests import factories
from tests.billing.x12_samples import Clp, Svc, remittance_835, submit

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def biller(make_user):
    return make_user("biller", two_factor_exempt=True)


@pytest.fixture
def acme(db):
    return factories.PayerFactory(name="Acme Health", payer_id="ACME1")


@pytest.fixture
def beta(db):
    return factories.PayerFactory(name="Beta Care", payer_id="BETA1")


def contract(payer, service_codes, **amounts):
    schedule = FeeSchedule.objects.create(
        name=f"{payer.name} contract", payer=payer, effective_from=datetime.date(2020, 1, 1)
    )
    for code, amount in amounts.items():
        Fee.objects.create(
            fee_schedule=schedule, service_code=service_codes[code.lstrip("_")], amount=D(amount)
        )


@pytest.fixture
def make_claim(biller, service_codes):
    """A submitted claim of a visit last week, billed to ``payer``, one line per code."""

    def make(payer, codes=("99214",)):
        location = factories.LocationFactory()
        coverage = factories.CoverageFactory(payer=payer)
        start = timezone.now().replace(microsecond=0) - datetime.timedelta(days=7)
        visit = Appointment.objects.create(
            patient=coverage.patient,
            provider=factories.ProviderFactory(locations=[location]),
            location=location,
            appointment_type=factories.AppointmentTypeFactory(),
            coverage=coverage,
            start=start,
            end=start + datetime.timedelta(minutes=20),
            status=Appointment.Status.CHECKED_OUT,
            arrived_at=start,
            checked_out_at=start + datetime.timedelta(minutes=25),
        )
        visit_diagnoses_set(acting_user=biller, appointment=visit, codes=["I10"])
        charges_post(
            acting_user=biller,
            appointment=visit,
            lines=[ChargeLine(service_codes[code]) for code in codes],
        )
        return submit(claim_create(acting_user=biller, appointment=visit), biller)

    return make


def pay_99214(claim, *, allowed, paid, patient="0.00", days=30, trace="EFT1", status="1"):
    """A remittance paying the claim's one 99214 line (billed 165.00)."""
    contractual = D("165.00") - D(allowed)
    adjustments = [("CO", "45", f"{contractual:.2f}")]
    if D(patient):
        adjustments.append(("PR", "2", patient))
    day = claim.date_of_service
    payer = claim.payer
    return remittance_835(
        Clp(
            claim.claim_number,
            status,
            "165.00",
            paid,
            patient,
            lines=[Svc("99214", "165.00", paid, adjustments=adjustments, allowed=allowed)],
        ),
        payer_name=payer.name,
        payer_id=payer.payer_id,
        trace=trace,
        service_date=day,
        payment_date=day + datetime.timedelta(days=days),
    )


def test_a_line_paid_below_contract_beyond_the_tolerance_is_an_underpayment(
    acme, service_codes, make_claim, biller
):
    contract(acme, service_codes, _99214="120.00")
    claim = make_claim(acme)
    result = remittance_import(
        acting_user=biller,
        content=pay_99214(claim, allowed="100.00", paid="80.00", patient="20.00"),
    )
    underpayment = Underpayment.objects.get()
    assert (
        underpayment.contracted,
        underpayment.allowed,
        underpayment.paid,
        underpayment.difference,
    ) == (D("120.00"), D("100.00"), D("80.00"), D("20.00"))
    assert underpayment.claim == claim and underpayment.status == Underpayment.Status.OPEN
    assert result.transactions[0].underpayments == 1


def test_a_line_paid_within_the_tolerance_is_not_an_underpayment(
    acme, service_codes, make_claim, biller
):
    contract(acme, service_codes, _99214="120.00")
    claim = make_claim(acme)
    text = pay_99214(claim, allowed="119.80", paid="99.80", patient="20.00")
    remittance_import(acting_user=biller, content=text)
    assert not Underpayment.objects.exists()


def test_the_tolerance_is_a_setting(acme, service_codes, make_claim, biller, settings):
    settings.UNDERPAYMENT_TOLERANCE = "25.00"
    contract(acme, service_codes, _99214="120.00")
    claim = make_claim(acme)
    text = pay_99214(claim, allowed="100.00", paid="80.00", patient="20.00")
    remittance_import(acting_user=biller, content=text)
    assert not Underpayment.objects.exists()


def test_a_payment_below_the_payers_own_allowed_amount_is_an_underpayment(
    acme, service_codes, make_claim, biller
):
    contract(acme, service_codes, _99214="120.00")
    claim = make_claim(acme)
    # Allowed at contract, but paid 10 less than allowed minus the patient's share.
    text = pay_99214(claim, allowed="120.00", paid="90.00", patient="20.00")
    remittance_import(acting_user=biller, content=text)
    assert Underpayment.objects.get().difference == D("10.00")


def test_no_contract_or_a_charge_below_contract_is_not_an_underpayment(
    acme, service_codes, make_claim, biller
):
    contract(acme, service_codes, _36415="18.00")
    claim = make_claim(acme, codes=("99214", "36415"))
    text = remittance_835(
        Clp(
            claim.claim_number,
            "1",
            "180.00",
            "115.00",
            lines=[
                Svc("99214", "165.00", "100.00", adjustments=[("CO", "45", "65.00")]),
                Svc("36415", "15.00", "15.00"),  # billed 15 < contract 18: paid in full
            ],
        )
    )
    remittance_import(acting_user=biller, content=text)
    assert not Underpayment.objects.exists()


def test_denied_lines_are_not_underpayments(acme, service_codes, make_claim, biller):
    contract(acme, service_codes, _99214="120.00")
    claim = make_claim(acme)
    text = remittance_835(
        Clp(
            claim.claim_number,
            "4",
            "165.00",
            "0.00",
            lines=[Svc("99214", "165.00", "0.00", adjustments=[("CO", "50", "165.00")])],
        )
    )
    remittance_import(acting_user=biller, content=text)
    assert not Underpayment.objects.exists()


def test_an_underpayment_is_appealed_or_accepted_once(acme, service_codes, make_claim, biller):
    contract(acme, service_codes, _99214="120.00")
    first, second = make_claim(acme), make_claim(acme)
    remittance_import(acting_user=biller, content=pay_99214(first, allowed="90.00", paid="90.00"))
    remittance_import(
        acting_user=biller, content=pay_99214(second, allowed="90.00", paid="90.00", trace="EFT2")
    )
    appealed, accepted = Underpayment.objects.order_by("pk")
    underpayment_decide(
        acting_user=biller, underpayment=appealed, decision="appealed", note="Contract 2020"
    )
    underpayment_decide(acting_user=biller, underpayment=accepted, decision="accepted")
    appealed.refresh_from_db()
    assert appealed.status == "appealed" and appealed.decided_by == biller
    assert appealed.note == "Contract 2020" and appealed.decided_at is not None
    with pytest.raises(ValidationError, match="already appealed"):
        underpayment_decide(acting_user=biller, underpayment=appealed, decision="accepted")
    with pytest.raises(ValidationError, match="appeal or accept"):
        underpayment_decide(acting_user=biller, underpayment=accepted, decision="ignored")


@pytest.fixture
def comparison_data(acme, beta, service_codes, make_claim, biller):
    """99214 (billed 165): Acme (contract 120) pays two claims, 100 after 30 days and 110
    after 20; Beta (contract 100) pays one claim 90 after 10 days and denies another."""
    contract(acme, service_codes, _99214="120.00")
    contract(beta, service_codes, _99214="100.00")
    claims = {
        "acme1": make_claim(acme),
        "acme2": make_claim(acme),
        "beta1": make_claim(beta),
        "beta2": make_claim(beta),
    }
    texts = [
        pay_99214(claims["acme1"], allowed="120.00", paid="100.00", patient="20.00", days=30),
        pay_99214(
            claims["acme2"], allowed="120.00", paid="110.00", patient="10.00", days=20, trace="E2"
        ),
        pay_99214(claims["beta1"], allowed="90.00", paid="90.00", days=10, trace="E3"),
        remittance_835(
            Clp(
                claims["beta2"].claim_number,
                "4",
                "165.00",
                "0.00",
                lines=[Svc("99214", "165.00", "0.00", adjustments=[("CO", "50", "165.00")])],
            ),
            payer_name=beta.name,
            payer_id=beta.payer_id,
            trace="E4",
            service_date=claims["beta2"].date_of_service,
            payment_date=claims["beta2"].date_of_service + datetime.timedelta(days=5),
        ),
    ]
    for text in texts:
        remittance_import(acting_user=biller, content=text)
    return claims


def test_payer_comparison_reports_each_payers_numbers_best_payer_first(comparison_data):
    day = comparison_data["acme1"].date_of_service
    rows = payer_comparison(start=day - datetime.timedelta(days=1), end=day, code="99214")
    assert [(row.code, row.payer) for row in rows] == [
        ("99214", "Acme Health"),
        ("99214", "Beta Care"),
    ]
    acme, beta = rows
    assert (acme.lines, acme.billed, acme.contracted) == (2, D("165.00"), D("120.00"))
    assert (acme.average_allowed, acme.average_paid) == (D("120.00"), D("105.00"))
    assert acme.average_days_to_payment == 25.0
    assert (acme.claims, acme.claims_denied, acme.denial_rate) == (2, 0, 0.0)
    assert (beta.lines, beta.contracted) == (2, D("100.00"))
    assert (beta.average_allowed, beta.average_paid) == (D("90.00"), D("90.00"))
    assert beta.average_days_to_payment == 10.0
    assert (beta.claims, beta.claims_denied, beta.denial_rate) == (2, 1, 0.5)


def test_payer_comparison_leaves_out_services_outside_the_period_and_other_codes(
    comparison_data,
):
    day = comparison_data["acme1"].date_of_service
    assert (
        payer_comparison(start=day + datetime.timedelta(days=1), end=day.replace(year=2099)) == []
    )
    assert payer_comparison(start=day, end=day, code="36415") == []
    assert len(payer_comparison(start=day, end=day)) == 2


def test_payer_comparison_aggregates_in_the_database(comparison_data, django_assert_num_queries):
    day = comparison_data["acme1"].date_of_service
    with django_assert_num_queries(1):
        payer_comparison(start=day, end=day)
