"""The dashboard pages: tiles per role, no-data periods, drill-down, charts, exports, and a
query count that does not grow with the data."""

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from practicedesk.core.models import AuditEvent
from practicedesk.dashboard.selectors import kpis_for
from tests import factories
from tests.dashboard.conftest import OCTOBER, at

pytestmark = pytest.mark.django_db

EMPTY = {"period": "custom", "start": "2019-01-01", "end": "2019-01-31"}
DASHBOARD = "/dashboard/"


def page(client, url=DASHBOARD, data=None):
    response = client.get(url, data or {})
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_a_period_without_data_says_so_and_never_shows_a_misleading_zero(client, login):
    login("manager")
    body = page(client, data=EMPTY)
    values = re.findall(r'<p class="kpi-value[^"]*">([^<]*)</p>', body)
    assert len(values) > 10
    assert set(values) == {"No data for this period"}


def test_a_tile_shows_value_target_status_and_change(client, login, october):
    login("manager")
    body = page(client, data=OCTOBER)
    for url in ("/dashboard/attention/", "/dashboard/targets/", "/dashboard/report/", DASHBOARD):
        html = page(client, url, OCTOBER)
        assert " style=" not in html and "<script>" not in html and "<style" not in html
    # 2 no-shows of 8 visits: 25%, against the MGMA default of 5% (warning 10%).
    assert "25.0%" in body
    assert "≤ 5.0%" in body
    assert "Off target" in body and "badge-bad" in body
    factories.AppointmentFactory(
        location=october["location"], provider=october["provider"], start=at(9, 10)
    )
    factories.AppointmentFactory(
        location=october["location"],
        provider=october["provider"],
        start=at(9, 11),
        status="no_show",
    )
    cache.clear()
    body = page(client, data=OCTOBER)
    assert "−25 pts · better" in body  # September: 1 of 2, 50%


def test_the_biller_sees_the_claims_and_receivables_tiles(client, login, october):
    login("biller")
    body = page(client, data=OCTOBER)
    for name in ("Days in A/R", "Denial rate", "Net collection rate", "A/R over 90 days"):
        assert name in body
    assert "Payer mix" in body


def test_the_front_desk_sees_only_the_patient_flow_tiles(client, login, october):
    login("front_desk")
    body = page(client, data=OCTOBER)
    assert "No-show rate" in body and "Patient flow" in body
    for name in ("Days in A/R", "Denial rate", "Net collection rate", "Payer mix"):
        assert name not in body
    assert client.get("/dashboard/kpi/", {"kpi": "denial_rate"}).status_code == 403
    assert client.get("/dashboard/charts/trend.svg", {"kpi": "days_in_ar"}).status_code == 403
    assert client.get("/dashboard/report.csv").status_code == 403


def test_the_owner_reads_the_dashboard_but_changes_nothing(client, login, october):
    login("owner")
    body = page(client, data=OCTOBER)
    assert "Denial rate" in body and "No-show rate" not in body  # no scheduling data for owners
    targets = page(client, "/dashboard/targets/")
    assert "Days in A/R" in targets and 'name="target"' not in targets
    refused = client.post(
        "/dashboard/targets/", {"kpi_key": "days_in_ar", "target": "30", "warning": "40"}
    )
    assert refused.status_code == 403


def test_the_manager_sets_a_target_and_a_refusal_is_explained_on_the_page(client, login):
    login("manager")
    response = client.post(
        "/dashboard/targets/", {"kpi_key": "denial_rate", "target": "abc", "warning": "10"}
    )
    assert response.status_code == 200
    assert "The target must be a number" in response.content.decode()
    response = client.post(
        "/dashboard/targets/", {"kpi_key": "denial_rate", "target": "4", "warning": "8"}
    )
    assert response.status_code == 302
    assert "4.00" in page(client, "/dashboard/targets/")


def test_each_tile_drills_down_to_the_records_behind_the_number(client, login, october):
    login("manager")
    body = page(client, data=OCTOBER)
    assert "/dashboard/kpi/?kpi=no_show_rate&amp;period=custom" in body
    detail = page(client, "/dashboard/kpi/", {"kpi": "no_show_rate", **OCTOBER})
    assert "Visitor0" in detail and "Visitor1" in detail and "Visitor2" not in detail
    assert reverse("scheduling:appointment_list") in detail
    assert client.get("/dashboard/kpi/", {"kpi": "nothing_like_this"}).status_code == 404


def test_the_90_day_accounts_are_behind_the_ar_figures(client, login):
    login("biller")
    patient = factories.PatientFactory(last_name="Overdue")
    factories.patient_charge(patient, "80.00", date_of_service=datetime.date(2026, 6, 1))
    detail = page(client, "/dashboard/kpi/", {"kpi": "ar_over_90_share", **OCTOBER})
    assert "Overdue" in detail and "80.00" in detail


def test_charts_are_svg_images_without_style_or_script(client, login, october):
    login("manager")
    trend = client.get("/dashboard/charts/trend.svg", {"kpi": "no_show_rate", "end": "2026-10-31"})
    comparison = client.get(
        "/dashboard/charts/comparison.svg", {"kpi": "visits_per_provider_per_day", **OCTOBER}
    )
    for response in (trend, comparison):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("image/svg+xml")
        body = response.content.decode()
        assert body.startswith("<svg")
        for forbidden in ("<style", "style=", "<script", "http://www.w3.org/1999/xlink"):
            assert forbidden not in body
    assert "Oct 2026: 25.0%" in trend.content.decode()
    assert "Ana Alvarez" in comparison.content.decode()


def test_the_report_exports_as_pdf_and_as_csv_with_a_row_per_kpi(client, login, october):
    manager = login("manager")
    pdf = client.get("/dashboard/report.pdf", OCTOBER)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    response = client.get("/dashboard/report.csv", OCTOBER)
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["key", "name", "period_start"]
    assert len(rows) == 1 + len(kpis_for(manager))
    no_show = next(row for row in rows if row[0] == "no_show_rate")
    assert Decimal(no_show[5]) == 25 and no_show[11] == "Off target"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == 2
    printable = page(client, "/dashboard/report/", OCTOBER)
    assert "No-show rate" in printable and "25.0%" in printable


def test_the_dashboard_page_takes_a_fixed_number_of_queries(
    client, login, october, django_assert_max_num_queries
):
    login("manager")
    with django_assert_max_num_queries(150) as few:
        page(client, data=OCTOBER)
    for index in range(30):
        factories.AppointmentFactory(
            location=october["location"],
            provider=october["provider"],
            start=at(10, 1 + index % 28, 8 + index % 8),
            status="no_show" if index % 3 else "checked_out",
        )
    cache.clear()
    with django_assert_max_num_queries(len(few.captured_queries)):
        page(client, data=OCTOBER)
    with django_assert_max_num_queries(16):
        page(client, data=OCTOBER)  # every figure from the cache


def test_the_home_page_is_the_dashboard_and_a_user_without_a_role_is_told_whom_to_ask(
    client, make_user
):
    client.force_login(make_user("front_desk"))
    assert client.get("/")["Location"] == DASHBOARD
    client.force_login(make_user())
    body = page(client, "/")
    assert "Your account has no role yet" in body
