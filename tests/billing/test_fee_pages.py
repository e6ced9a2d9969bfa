"""The pages of service codes, fee schedules and fees, and the fee analysis with its bulk update."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from practicedesk.billing.models import Fee, FeeSchedule, ServiceCode

pytestmark = pytest.mark.django_db


@pytest.fixture
def biller_client(client, make_user):
    client.force_login(make_user("biller", two_factor_exempt=True))
    return client


@pytest.fixture
def front_desk_client(client, make_user):
    client.force_login(make_user("front_desk", two_factor_exempt=True))
    return client


def test_a_service_code_not_in_cpt_or_hcpcs_format_is_refused_at_the_field(biller_client):
    url = reverse("billing:service_code_create")
    response = biller_client.post(
        url, {"code": "9921", "description": "Too short", "default_units": 1, "is_active": "on"}
    )
    assert response.status_code == 200
    assert "5-character CPT" in response.context["form"].errors["code"][0]
    assert not ServiceCode.objects.exists()
    response = biller_client.post(
        url, {"code": "g0439", "description": "Annual wellness visit", "default_units": 1}
    )
    assert response.status_code == 302
    assert ServiceCode.objects.get().code == "G0439"


def test_the_service_code_list_shows_the_codes(biller_client, service_codes):
    response = biller_client.get(reverse("billing:service_code_list"))
    assert response.status_code == 200
    assert b"99213" in response.content and b"Venipuncture" in response.content


def test_a_fee_schedule_ending_before_it_starts_is_refused(biller_client):
    response = biller_client.post(
        reverse("billing:fee_schedule_create"),
        {"name": "Odd", "effective_from": "2027-01-01", "effective_to": "2026-12-31"},
    )
    assert response.status_code == 200
    assert "end before it starts" in response.context["form"].errors["effective_to"][0]
    assert not FeeSchedule.objects.exists()


def test_a_payer_schedule_is_created_and_shows_its_fees(biller_client, service_codes):
    from tests import factories

    payer = factories.PayerFactory(name="Acme Health")
    response = biller_client.post(
        reverse("billing:fee_schedule_create"),
        {"name": "Acme 2026", "payer": payer.pk, "effective_from": "2026-01-01"},
    )
    schedule = FeeSchedule.objects.get(payer=payer)
    assert response["Location"] == schedule.get_absolute_url()
    response = biller_client.post(
        reverse("billing:fee_create", args=[schedule.pk]),
        {"service_code": service_codes["99213"].pk, "amount": "82.50"},
    )
    assert response.status_code == 302
    detail = biller_client.get(schedule.get_absolute_url())
    assert b"82.50" in detail.content and b"Acme Health allowed amounts" in detail.content


def test_a_negative_fee_is_refused_at_the_field(biller_client, service_codes):
    schedule = FeeSchedule.objects.get(payer__isnull=True)
    fee = schedule.fees.get(service_code__code="99213")
    response = biller_client.post(
        reverse("billing:fee_edit", args=[fee.pk]),
        {"service_code": fee.service_code_id, "amount": "-5.00"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["amount"] == ["A fee cannot be negative."]
    fee.refresh_from_db()
    assert fee.amount == Decimal("110.00")


def test_a_code_gets_one_fee_per_schedule(biller_client, service_codes):
    schedule = FeeSchedule.objects.get(payer__isnull=True)
    response = biller_client.post(
        reverse("billing:fee_create", args=[schedule.pk]),
        {"service_code": service_codes["99213"].pk, "amount": "1.00"},
    )
    assert "already has a fee" in response.context["form"].errors["service_code"][0]
    assert Fee.objects.filter(fee_schedule=schedule).count() == 3


def test_editing_a_fee_of_a_schedule_with_posted_charges_warns_and_keeps_the_charges(
    biller_client, billed_visit
):
    schedule = FeeSchedule.objects.get(payer__isnull=True)
    fee = schedule.fees.get(service_code__code="99214")
    page = biller_client.get(reverse("billing:fee_edit", args=[fee.pk]))
    assert b"prefer a new schedule" in page.content
    biller_client.post(
        reverse("billing:fee_edit", args=[fee.pk]),
        {"service_code": fee.service_code_id, "amount": "200.00"},
    )
    charge = billed_visit.charges.get(service_code__code="99214")
    assert charge.unit_price == charge.amount == Decimal("165.00")


def bulk_form(**overrides):
    data = {
        "mode": "percentage",
        "percentage": "3.5",
        "payer": "",
        "multiple": "",
        "effective_from": (timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
        "name": "",
    }
    data.update(overrides)
    return data


def test_fee_analysis_bulk_update_is_previewed_then_applied_by_the_manager(
    manager_client, service_codes
):
    url = reverse("billing:fee_analysis")
    page = manager_client.get(url)
    assert page.status_code == 200 and b"Units billed" in page.content
    preview = manager_client.post(url, {**bulk_form(), "preview": "1"})
    assert preview.status_code == 200
    assert preview.context["preview"].changed_count == 3
    assert b"$15.53" in preview.content and b"Fees changing: <strong>3</strong>" in preview.content
    assert FeeSchedule.objects.count() == 1
    applied = manager_client.post(url, {**bulk_form(), "apply": "1"})
    new = FeeSchedule.objects.get(effective_from=timezone.localdate() + datetime.timedelta(30))
    assert applied.status_code == 302 and applied["Location"] == new.get_absolute_url()
    assert new.fees.get(service_code__code="36415").amount == Decimal("15.53")


def test_a_bulk_update_error_is_shown_at_its_field(manager_client, service_codes):
    response = manager_client.post(
        reverse("billing:fee_analysis"),
        {**bulk_form(effective_from="2020-01-01"), "preview": "1"},
    )
    assert "history is never rewritten" in response.context["form"].errors["effective_from"][0]
    response = manager_client.post(
        reverse("billing:fee_analysis"), {**bulk_form(mode="payer_multiple"), "preview": "1"}
    )
    assert response.context["form"].errors["payer"]
    assert response.context["preview"] is None


def test_a_biller_can_preview_new_fees_but_only_the_manager_applies_them(
    biller_client, service_codes
):
    url = reverse("billing:fee_analysis")
    assert biller_client.post(url, {**bulk_form(), "preview": "1"}).status_code == 200
    assert biller_client.post(url, {**bulk_form(), "apply": "1"}).status_code == 403
    assert FeeSchedule.objects.count() == 1


def test_the_front_desk_sees_fees_but_cannot_set_them(front_desk_client, service_codes):
    assert front_desk_client.get(reverse("billing:fee_analysis")).status_code == 200
    assert front_desk_client.get(reverse("billing:fee_schedule_list")).status_code == 200
    url = reverse("billing:fee_analysis")
    assert front_desk_client.post(url, {**bulk_form(), "preview": "1"}).status_code == 403
    assert front_desk_client.get(reverse("billing:service_code_create")).status_code == 403
    assert front_desk_client.get(reverse("billing:fee_schedule_create")).status_code == 403
