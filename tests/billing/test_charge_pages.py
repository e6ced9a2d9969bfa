"""Charge entry pages: visits to bill, diagnoses and service lines of a visit, reversal."""

from decimal import Decimal

import pytest
from django.urls import reverse

from practicedesk.billing.models import Charge, LedgerEntry, VisitDiagnosis
from practicedesk.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def biller(make_user):
    return make_user("biller", two_factor_exempt=True)


@pytest.fixture
def biller_client(client, biller):
    client.force_login(biller)
    return client


def charge_form(diagnoses=("E11.9", "I10"), lines=()):
    """The POST of the charge page: diagnoses 1-12 and up to 3 service lines."""
    data = {
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "30",
    }
    for position in range(1, 13):
        code = diagnoses[position - 1] if position <= len(diagnoses) else ""
        data[f"dx-diagnosis_{position}"] = code
    for index in range(3):
        line = {"units": "1", "place_of_service": "11", "pointer1": "1"}
        if index < len(lines):
            line.update(lines[index])
        for name, value in line.items():
            data[f"lines-{index}-{name}"] = value
    return data


def test_visits_to_bill_lists_checked_out_visits_without_charges(
    biller_client, checked_out_visit, billed_visit
):
    # billed_visit is checked_out_visit with charges: it leaves the list.
    response = biller_client.get(reverse("billing:unbilled_visits"))
    assert response.status_code == 200
    assert list(response.context["table"].data) == []


def test_a_checked_out_visit_without_charges_is_on_the_list(biller_client, checked_out_visit):
    response = biller_client.get(reverse("billing:unbilled_visits"))
    assert [visit.pk for visit in response.context["table"].data] == [checked_out_visit.pk]
    assert reverse("billing:visit_charges", args=[checked_out_visit.pk]).encode() in (
        response.content
    )


def test_the_charge_page_posts_lines_priced_from_the_fee_schedule(
    biller_client, biller, checked_out_visit, service_codes
):
    url = reverse("billing:visit_charges", args=[checked_out_visit.pk])
    page = biller_client.get(url)
    assert page.status_code == 200
    assert AuditEvent.objects.filter(name="charges", object_id=str(checked_out_visit.pk)).exists()
    response = biller_client.post(
        url,
        charge_form(
            diagnoses=("e119", "I10"),
            lines=[
                {
                    "service_code": service_codes["99214"].pk,
                    "modifier1": "25",
                    "pointer1": "1",
                    "pointer2": "2",
                },
                {"service_code": service_codes["36415"].pk, "units": "2", "pointer1": "2"},
            ],
        ),
    )
    assert response.status_code == 302
    assert list(checked_out_visit.diagnoses.values_list("code", flat=True)) == ["E11.9", "I10"]
    charges = list(Charge.objects.filter(appointment=checked_out_visit).order_by("pk"))
    assert [(c.service_code.code, c.units, c.unit_price, c.amount) for c in charges] == [
        ("99214", 1, Decimal("165.00"), Decimal("165.00")),
        ("36415", 2, Decimal("15.00"), Decimal("30.00")),
    ]
    assert charges[0].modifiers == ["25"] and charges[0].diagnosis_pointers == [1, 2]
    assert charges[0].rendering_provider == checked_out_visit.provider
    assert charges[0].posted_by == biller
    page = biller_client.get(url)
    assert b"Type 2 diabetes mellitus without complications" in page.content
    assert b"$195.00" in page.content


@pytest.mark.parametrize(
    ("diagnoses", "line", "form", "field", "message"),
    [
        (("E11.9", "XYZ.1"), {}, "diagnoses_form", "diagnosis_2", "not an ICD-10-CM code"),
        (("E11",), {}, "diagnoses_form", "diagnosis_1", "category, not a billable code"),
        (("E11.9", "E11.9"), {}, "diagnoses_form", "diagnosis_2", "Already listed"),
        (("E11.9",), {"pointer2": "3"}, "line", "pointer2", "has 1 diagnosis; there is no 3"),
        (("E11.9",), {"modifier2": "2%"}, "line", "modifier2", "A modifier is 2 letters"),
        (("E11.9",), {"units": "0"}, "line", "units", "greater than or equal to 1"),
        (("E11.9",), {"place_of_service": "X"}, "line", "place_of_service", "2-digit code"),
    ],
)
def test_the_charge_page_refuses_bad_input_at_the_field_and_posts_nothing(
    biller_client, checked_out_visit, service_codes, diagnoses, line, form, field, message
):
    url = reverse("billing:visit_charges", args=[checked_out_visit.pk])
    response = biller_client.post(
        url,
        charge_form(
            diagnoses=diagnoses, lines=[{"service_code": service_codes["99213"].pk, **line}]
        ),
    )
    assert response.status_code == 200
    target = response.context["diagnoses_form"] if form == "diagnoses_form" else None
    target = target or response.context["lines"].forms[0]
    assert any(message in error for error in target.errors[field]), target.errors
    assert b"Nothing was posted" in response.content or b"field-error" in response.content
    assert not Charge.objects.exists()
    assert not LedgerEntry.objects.exists()
    assert not VisitDiagnosis.objects.exists()


def test_a_code_without_a_fee_in_force_is_refused_at_its_field(
    biller_client, checked_out_visit, service_codes
):
    from tests import factories

    unpriced = factories.ServiceCodeFactory(code="99215", description="Office visit, high")
    response = biller_client.post(
        reverse("billing:visit_charges", args=[checked_out_visit.pk]),
        charge_form(lines=[{"service_code": unpriced.pk}]),
    )
    errors = response.context["lines"].forms[0].errors["service_code"]
    assert "no practice fee in force" in errors[0]
    assert not Charge.objects.exists()


def test_a_visit_needs_a_diagnosis_and_a_line(biller_client, checked_out_visit, service_codes):
    url = reverse("billing:visit_charges", args=[checked_out_visit.pk])
    response = biller_client.post(url, charge_form(diagnoses=()))
    assert response.context["diagnoses_form"].errors["diagnosis_1"]
    assert "Add at least one service line." in response.context["lines"].non_form_errors()
    assert not Charge.objects.exists()


def test_a_correction_is_a_reversal_and_a_new_line(biller_client, billed_visit, service_codes):
    wrong = billed_visit.charges.get(service_code__code="99214")
    url = reverse("billing:charge_reverse", args=[wrong.pk])
    assert biller_client.get(url).status_code == 200
    refused = biller_client.post(url, {"reason": ""})
    assert refused.context["form"].errors["reason"] == ["Say why the charge is reversed."]
    assert not Charge.objects.filter(reverses=wrong).exists()
    response = biller_client.post(url, {"reason": "99213 documented, not 99214"})
    visit_url = reverse("billing:visit_charges", args=[billed_visit.pk])
    assert response.status_code == 302 and response["Location"] == visit_url
    reversal = Charge.objects.get(reverses=wrong)
    assert reversal.amount == Decimal("-165.00")
    response = biller_client.post(
        visit_url,
        charge_form(
            lines=[{"service_code": service_codes["99213"].pk, "pointer1": "1", "pointer2": "2"}]
        ),
    )
    assert response.status_code == 302
    wrong.refresh_from_db()
    assert wrong.amount == Decimal("165.00")  # the original is kept as it was posted
    open_amounts = sorted(
        c.amount
        for c in Charge.objects.filter(
            appointment=billed_visit, reverses__isnull=True, reversed_by__isnull=True
        )
    )
    assert open_amounts == [Decimal("15.00"), Decimal("110.00")]
    page = biller_client.get(visit_url)
    assert b"Reversed" in page.content and b"Reversal" in page.content
    assert b"$125.00" in page.content
    detail = biller_client.get(reverse("billing:charge_detail", args=[wrong.pk]))
    assert detail.status_code == 200 and b"Reversed" in detail.content


def test_a_posted_line_keeps_the_diagnosis_it_points_to(biller_client, billed_visit, service_codes):
    # 99214 points to diagnoses 1 and 2; replacing diagnosis 2 would change its meaning.
    response = biller_client.post(
        reverse("billing:visit_charges", args=[billed_visit.pk]),
        charge_form(
            diagnoses=("E11.9", "J06.9"), lines=[{"service_code": service_codes["99213"].pk}]
        ),
    )
    assert "reverse that line" in response.context["diagnoses_form"].errors["diagnosis_2"][0]
    assert billed_visit.charges.count() == 2


def test_the_front_desk_posts_charges_but_cannot_reverse_them(
    client, make_user, billed_visit, service_codes
):
    client.force_login(make_user("front_desk", two_factor_exempt=True))
    visit_url = reverse("billing:visit_charges", args=[billed_visit.pk])
    response = client.post(
        visit_url, charge_form(lines=[{"service_code": service_codes["99213"].pk}])
    )
    assert response.status_code == 302
    charge = billed_visit.charges.first()
    assert client.get(reverse("billing:charge_reverse", args=[charge.pk])).status_code == 403
    assert (
        client.post(
            reverse("billing:charge_reverse", args=[charge.pk]), {"reason": "x"}
        ).status_code
        == 403
    )
    assert not Charge.objects.filter(reverses__isnull=False).exists()


def test_a_clinician_cannot_open_the_charge_page(client, make_user, checked_out_visit):
    client.force_login(make_user("clinician", two_factor_exempt=True))
    url = reverse("billing:visit_charges", args=[checked_out_visit.pk])
    assert client.get(url).status_code == 403
