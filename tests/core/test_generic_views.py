"""The generic list/detail/edit/delete/export pages, exercised through Locations."""

import pytest

from practicedesk.core.models import Location
from tests.core.test_audit import LOCATION_FORM
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


def test_list_pages_sorts_filters_and_searches(manager_client):
    for index in range(30):
        LocationFactory(name=f"Clinic {index:02d}", city="Chatham" if index % 2 else "Peoria")
    first_page = manager_client.get("/locations/", {"sort": "name"}).content.decode()
    assert "Clinic 00" in first_page
    assert "Clinic 29" not in first_page
    assert "page=2" in first_page
    last = manager_client.get("/locations/", {"sort": "-name"}).content.decode()
    assert "Clinic 29" in last
    found = manager_client.get("/locations/", {"q": "clinic 07"}).content.decode()
    assert "Clinic 07" in found
    assert "Clinic 08" not in found


def test_htmx_list_requests_get_only_the_results_fragment(manager_client):
    LocationFactory(name="Fragment Clinic")
    response = manager_client.get("/locations/", {"q": "fragment"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "Fragment Clinic" in body
    assert "<html" not in body


def test_csv_export_follows_the_filters(manager_client):
    LocationFactory(name="Alpha Clinic")
    LocationFactory(name="Beta Clinic")
    response = manager_client.get("/locations/", {"q": "alpha", "export": "csv"})
    body = b"".join(response.streaming_content).decode()
    assert "Alpha Clinic" in body
    assert "Beta Clinic" not in body
    assert 'filename="locations-' in response["Content-Disposition"]


def test_csv_export_needs_the_export_permission(client, make_user):
    client.force_login(make_user("front_desk", two_factor_exempt=True))
    assert client.get("/documents/", {"export": "csv"}).status_code == 403


def test_an_invalid_form_shows_errors_beside_the_fields_and_saves_nothing(manager_client):
    response = manager_client.post(
        "/locations/new/", {**LOCATION_FORM, "npi": "1234567890", "state": "Illinois"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "fails its check digit" in body
    assert "two-letter state code" in body
    assert not Location.objects.exists()


def test_an_invalid_htmx_form_comes_back_as_the_form_alone(manager_client):
    response = manager_client.post(
        "/locations/new/", {**LOCATION_FORM, "phone": "12"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "10-digit phone number" in body
    assert "<html" not in body


def test_a_valid_htmx_form_redirects_to_the_new_record(manager_client):
    response = manager_client.post("/locations/new/", LOCATION_FORM, headers={"HX-Request": "true"})
    location = Location.objects.get(code="elm")
    assert response["HX-Redirect"] == location.get_absolute_url()


def test_records_that_must_be_kept_are_archived_not_deleted(manager_client):
    location = LocationFactory()
    page = manager_client.get(f"/locations/{location.pk}/delete/").content.decode()
    assert "Archive" in page
    manager_client.post(f"/locations/{location.pk}/delete/")
    location.refresh_from_db()
    assert location.is_active is False


def test_detail_page_shows_fields_documents_and_history(manager_client):
    manager_client.post("/locations/new/", LOCATION_FORM)
    location = Location.objects.get(code="elm")
    body = manager_client.get(location.get_absolute_url()).content.decode()
    assert "Elm Street Clinic" in body
    assert "History" in body
    assert "Attach a document" in body
