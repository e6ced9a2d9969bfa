"""Patients and coverage through the REST API: the registry's rules, and every read audited."""

import datetime

import pytest
from auditlog.models import LogEntry

from practicedesk.core.models import AuditEvent
from practicedesk.patients.models import Patient
from tests import factories
from tests.api.test_access import PATIENT

pytestmark = pytest.mark.django_db


def test_registering_a_patient_assigns_the_next_mrn(api_client):
    client = api_client("front_desk")
    first = client.post("/api/patients/", PATIENT, format="json").json()
    second = client.post("/api/patients/", {**PATIENT, "first_name": "Ben"}, format="json").json()
    assert first["mrn"] and len(first["mrn"]) == 8 and first["mrn"].isdigit()
    assert int(second["mrn"]) == int(first["mrn"]) + 1
    patient = Patient.objects.get(pk=first["id"])
    assert patient.mrn == first["mrn"]
    assert AuditEvent.objects.filter(name="patient_register", object_id=str(patient.pk)).exists()


def test_a_client_cannot_choose_the_mrn(api_client):
    response = api_client("front_desk").post(
        "/api/patients/", {**PATIENT, "mrn": "99999999"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["mrn"] != "99999999"


def test_changes_made_with_a_token_are_logged_under_the_tokens_user(api_client):
    client = api_client("front_desk")
    created = client.post("/api/patients/", PATIENT, format="json").json()
    client.patch(f"/api/patients/{created['id']}/", {"city": "Shelbyville"}, format="json")
    entries = LogEntry.objects.get_for_object(Patient.objects.get(pk=created["id"]))
    assert entries.count() == 2
    assert {entry.actor for entry in entries} == {client.user}


def test_patient_rules_are_the_forms_rules(api_client):
    client = api_client("front_desk")
    response = client.post(
        "/api/patients/",
        {**PATIENT, "date_of_birth": "2999-01-01", "mobile_phone": "12"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["date_of_birth"] == ["A date of birth cannot be in the future."]
    assert "mobile_phone" in body
    assert Patient.objects.count() == 0


def test_a_patient_cannot_be_marked_merged_by_editing_it(api_client):
    patient = factories.PatientFactory()
    response = api_client("front_desk").patch(
        f"/api/patients/{patient.pk}/", {"status": "merged"}, format="json"
    )
    assert response.status_code == 400
    patient.refresh_from_db()
    assert patient.status == Patient.Status.ACTIVE


def test_patients_are_never_deleted_through_the_api(api_client):
    patient = factories.PatientFactory()
    response = api_client("manager").delete(f"/api/patients/{patient.pk}/")
    assert response.status_code == 405
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_reading_a_patient_is_audited_once_per_record(api_client):
    patient = factories.PatientFactory()
    client = api_client("clinician")
    assert client.get(f"/api/patients/{patient.pk}/").status_code == 200
    event = AuditEvent.objects.get(action=AuditEvent.Action.READ)
    assert event.object_id == str(patient.pk)
    assert event.user == client.user
    assert event.detail["via"] == "api"


def test_listing_patients_is_audited_once_with_the_query_and_the_records_shown(api_client):
    shown = [factories.PatientFactory(last_name="Smith") for _ in range(3)]
    factories.PatientFactory(last_name="Jones")
    client = api_client("front_desk")
    response = client.get("/api/patients/", {"last_name": "smi"})
    assert response.json()["count"] == 3
    event = AuditEvent.objects.get(action=AuditEvent.Action.READ)
    assert event.detail["query"] == {"last_name": "smi"}
    assert event.detail["total"] == 3
    assert sorted(event.detail["ids"]) == sorted(str(p.pk) for p in shown)
    assert event.name == "api_patients.patient_list"


def test_patient_search_finds_as_the_patients_page_does(api_client):
    ada = factories.PatientFactory(
        first_name="Ada",
        last_name="Byron",
        mobile_phone="555-777-1234",
        date_of_birth=datetime.date(1981, 12, 10),
    )
    factories.PatientFactory(first_name="Ben", last_name="Other")
    client = api_client("front_desk")
    for query in ("byron", "byron ad", ada.mrn, "(555) 777-1234", "555777", "12/10/1981"):
        results = client.get("/api/patients/", {"q": query}).json()["results"]
        assert [row["id"] for row in results] == [ada.pk], query


def test_coverage_is_checked_by_the_model_rules(api_client):
    patient = factories.PatientFactory()
    payer = factories.PayerFactory()
    client = api_client("front_desk")
    coverage = {
        "patient": patient.pk,
        "payer": payer.pk,
        "member_id": "ABC-123",
        "effective_date": "2024-01-01",
        "end_date": "2023-01-01",
    }
    response = client.post("/api/coverages/", coverage, format="json")
    assert response.status_code == 400
    assert response.json() == {"end_date": ["The end date is before the effective date."]}
    response = client.post("/api/coverages/", {**coverage, "end_date": None}, format="json")
    assert response.status_code == 201
    assert patient.coverages.count() == 1


def test_reading_coverage_is_audited(api_client):
    coverage = factories.CoverageFactory()
    client = api_client("biller")
    client.get(f"/api/coverages/{coverage.pk}/")
    client.get("/api/coverages/", {"patient": coverage.patient_id})
    events = AuditEvent.objects.filter(action=AuditEvent.Action.READ).order_by("id")
    assert [event.object_id for event in events] == [str(coverage.pk), ""]
    assert events[1].detail["ids"] == [str(coverage.pk)]
