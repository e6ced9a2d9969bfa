"""Who may use the API: a token or a session, and the same role matrix as the pages."""

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from practicedesk.core.models import AuditEvent
from tests import factories
from tests.scheduling.conftest import next_weekday_at

pytestmark = pytest.mark.django_db

PATIENT = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "date_of_birth": "1985-12-10",
    "sex_at_birth": "F",
    "address_line1": "12 Analytical Way",
    "city": "Springfield",
    "state": "IL",
    "postal_code": "62701",
}


def test_the_api_refuses_a_caller_without_token_or_session():
    client = APIClient()
    for path in ("/api/", "/api/patients/", "/api/appointments/", "/api/slots/", "/api/schema/"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_or_revoked_token_is_refused(api_client):
    client = api_client("front_desk")
    Token.objects.filter(user=client.user).delete()
    assert client.get("/api/patients/").status_code == 401
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert other.get("/api/patients/").status_code == 401


def test_a_deactivated_users_token_stops_working(api_client):
    client = api_client("front_desk")
    client.user.is_active = False
    client.user.save()
    assert client.get("/api/patients/").status_code == 401


def test_a_signed_in_session_may_use_the_api(client, make_user):
    client.force_login(make_user("front_desk", two_factor_exempt=True))
    assert client.get("/api/patients/").status_code == 200


def test_api_token_command_prints_the_users_token_and_rotates_it(make_user, capsys):
    user = make_user("front_desk", username="desk-robot", two_factor_exempt=True)
    call_command("api_token", "desk-robot")
    key = capsys.readouterr().out.strip()
    assert Token.objects.get(user=user).key == key
    call_command("api_token", "desk-robot")
    assert capsys.readouterr().out.strip() == key
    call_command("api_token", "desk-robot", "--rotate")
    rotated = capsys.readouterr().out.strip()
    assert rotated != key and Token.objects.get(user=user).key == rotated
    assert AuditEvent.objects.filter(name="api_token_issue").count() == 2
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {rotated}")
    assert client.get("/api/patients/").status_code == 200


def test_front_desk_may_register_patients_and_book(api_client, clinic):
    client = api_client("front_desk")
    created = client.post("/api/patients/", PATIENT, format="json")
    assert created.status_code == 201, created.json()
    booked = client.post(
        "/api/appointments/",
        {
            "patient": created.json()["id"],
            "provider": clinic["provider"].pk,
            "location": clinic["location"].pk,
            "appointment_type": clinic["type"].pk,
            "start": next_weekday_at(9).isoformat(),
        },
        format="json",
    )
    assert booked.status_code == 201, booked.json()


@pytest.mark.parametrize(
    "path",
    ["/api/patients/", "/api/coverages/", "/api/appointments/", "/api/providers/", "/api/slots/"],
)
def test_marketing_may_not_read_patients_or_the_schedule(api_client, path):
    assert api_client("marketing").get(path).status_code == 403


def test_owner_may_not_see_patients(api_client):
    client = api_client("owner")
    assert client.get("/api/patients/").status_code == 403
    assert client.post("/api/patients/", PATIENT, format="json").status_code == 403


def test_clinician_may_read_but_not_register_patients(api_client):
    client = api_client("clinician")
    assert client.get("/api/patients/").status_code == 200
    assert client.post("/api/patients/", PATIENT, format="json").status_code == 403


def test_biller_may_read_but_not_book(api_client, clinic):
    client = api_client("biller")
    assert client.get("/api/appointments/").status_code == 200
    response = client.post(
        "/api/appointments/",
        {
            "patient": factories.PatientFactory().pk,
            "provider": clinic["provider"].pk,
            "location": clinic["location"].pk,
            "appointment_type": clinic["type"].pk,
            "start": next_weekday_at(9).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 403


def test_locations_are_read_by_schedulers_but_changed_only_by_administration(api_client):
    location = factories.LocationFactory()
    desk = api_client("front_desk")
    assert desk.get("/api/locations/").status_code == 200
    assert desk.get(f"/api/locations/{location.pk}/").status_code == 200
    assert desk.patch(f"/api/locations/{location.pk}/", {"name": "X"}).status_code == 403
    assert desk.delete(f"/api/locations/{location.pk}/").status_code == 403
    assert api_client("marketing").get("/api/locations/").status_code == 403
    manager = api_client("manager")
    response = manager.patch(f"/api/locations/{location.pk}/", {"name": "Renamed"}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"


def test_deleting_a_provider_through_the_api_archives_it(api_client, clinic):
    provider = clinic["provider"]
    assert api_client("clinician").delete(f"/api/providers/{provider.pk}/").status_code == 403
    assert api_client("front_desk").delete(f"/api/providers/{provider.pk}/").status_code == 204
    provider.refresh_from_db()
    assert provider.is_active is False


def test_only_the_manager_may_overbook_through_the_api(api_client, clinic):
    patient = factories.PatientFactory()
    factories.PatientFactory()
    desk = api_client("front_desk")
    booking = {
        "patient": patient.pk,
        "provider": clinic["provider"].pk,
        "location": clinic["location"].pk,
        "appointment_type": clinic["type"].pk,
        "start": next_weekday_at(9).isoformat(),
    }
    assert desk.post("/api/appointments/", booking, format="json").status_code == 201
    second = {**booking, "patient": factories.PatientFactory().pk, "overbook_reason": "Urgent"}
    refused = desk.post("/api/appointments/", second, format="json")
    assert refused.status_code == 400
    assert refused.json() == {
        "overbook_reason": ["Your role may not overbook. Ask the practice manager."]
    }
    allowed = api_client("manager").post("/api/appointments/", second, format="json")
    assert allowed.status_code == 201
    assert allowed.json()["is_overbook"] is True


def test_the_openapi_schema_describes_every_endpoint(api_client):
    response = api_client("front_desk").get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/patients/",
        "/api/coverages/",
        "/api/providers/",
        "/api/locations/",
        "/api/appointment-types/",
        "/api/appointments/",
        "/api/appointments/{id}/cancel/",
        "/api/slots/",
        "/api/slots/next/",
    ):
        assert path in paths
    assert not any(path.startswith("/fhir/") for path in paths)
