"""The FHIR R4 facade: every resource it produces parses with the fhir.resources R4B models,
searches find what they should, errors are OperationOutcomes, and access is the API's."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from practicedesk.core.models import AuditEvent
from practicedesk.scheduling.services import appointment_advance, appointment_book
from tests import factories
from tests.api.conftest import fhir_validate
from tests.scheduling.conftest import next_weekday_at

pytestmark = pytest.mark.django_db

APPOINTMENT_STATUSES = {
    "proposed",
    "pending",
    "booked",
    "arrived",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
    "checked-in",
    "waitlist",
}


@pytest.fixture
def practice(clinic):
    user = factories.UserFactory()
    ada = factories.PatientFactory(
        first_name="Ada",
        last_name="Lovelace",
        middle_name="King",
        preferred_name="Countess",
        date_of_birth=datetime.date(1985, 12, 10),
        home_phone="555-201-0000",
        emergency_contact_name="Charles Babbage",
        emergency_contact_phone="555-201-1111",
        emergency_contact_relationship="Friend",
    )
    ben = factories.PatientFactory(
        first_name="Ben", last_name="Lovett", date_of_birth=datetime.date(1990, 1, 2)
    )
    other_location = factories.LocationFactory(name="Oak Ave", fax="555-201-9999")
    second = factories.ProviderFactory(first_name="Sam", last_name="Second")
    factories.weekly_schedule(second, other_location, weekdays=range(5))

    def book(patient, start, provider=clinic["provider"], location=clinic["location"]):
        return appointment_book(
            acting_user=user,
            patient=patient,
            provider=provider,
            location=location,
            appointment_type=clinic["type"],
            start=start,
        )

    monday_ada = book(ada, next_weekday_at(9))
    tuesday_ben = book(ben, next_weekday_at(9, weekday=1))
    other_ada = book(ada, next_weekday_at(10), provider=second, location=other_location)
    appointment_advance(acting_user=user, appointment=tuesday_ben, to_status="arrived")
    return {
        **clinic,
        "ada": ada,
        "ben": ben,
        "second": second,
        "other_location": other_location,
        "monday_ada": monday_ada,
        "tuesday_ben": tuesday_ben,
        "other_ada": other_ada,
    }


@pytest.fixture
def fhir(api_client):
    client = api_client("front_desk")

    def get(path, params=None, expect=200):
        response = client.get(f"/fhir/{path}", params or {})
        assert response.status_code == expect, response.content
        assert response["Content-Type"].startswith("application/fhir+json")
        body = response.json()
        fhir_validate(body)
        return body

    get.client = client
    return get


def ids(bundle) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle["entry"]]


def test_capability_statement_is_public_and_valid():
    response = APIClient().get("/fhir/metadata")
    assert response.status_code == 200
    statement = response.json()
    fhir_validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    served = {resource["type"] for resource in statement["rest"][0]["resource"]}
    assert served >= {"Patient", "Practitioner", "Location", "Appointment", "Schedule", "Slot"}


def test_fhir_refuses_a_caller_without_token_or_session(practice):
    response = APIClient().get(f"/fhir/Patient/{practice['ada'].pk}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    outcome = response.json()
    fhir_validate(outcome)
    assert outcome["issue"][0]["code"] == "login"


def test_fhir_obeys_the_roles(api_client, practice):
    marketing = api_client("marketing")
    for path in ("Patient", f"Patient/{practice['ada'].pk}", "Appointment", "Slot"):
        response = marketing.get(f"/fhir/{path}")
        assert response.status_code == 403, path
        fhir_validate(response.json())
    owner = api_client("owner")
    assert owner.get("/fhir/Patient").status_code == 403
    biller = api_client("biller")
    assert biller.get("/fhir/Location").status_code == 200
    assert biller.get("/fhir/Appointment").status_code == 200


def test_patient_resource_is_valid_and_carries_the_mrn(fhir, practice):
    ada = practice["ada"]
    patient = fhir(f"Patient/{ada.pk}")
    assert patient["resourceType"] == "Patient"
    assert patient["identifier"][0] == {
        "use": "usual",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                    "code": "MR",
                    "display": "Medical record number",
                }
            ]
        },
        "system": "urn:practicedesk:mrn",
        "value": ada.mrn,
    }
    assert patient["name"][0] == {
        "use": "official",
        "family": "Lovelace",
        "given": ["Ada", "King"],
    }
    assert patient["gender"] == "female"
    assert patient["birthDate"] == "1985-12-10"
    assert patient["contact"][0]["name"] == {"text": "Charles Babbage"}


def test_patient_search_by_family_birthdate_and_identifier(fhir, practice):
    ada, ben = practice["ada"], practice["ben"]
    bundle = fhir("Patient", {"family": "love"})
    assert bundle["type"] == "searchset"
    assert bundle["total"] == 2
    assert sorted(ids(bundle)) == sorted([str(ada.pk), str(ben.pk)])
    assert bundle["entry"][0]["fullUrl"].startswith("http://testserver/fhir/Patient/")
    assert ids(fhir("Patient", {"family": "love", "birthdate": "1985-12-10"})) == [str(ada.pk)]
    assert ids(fhir("Patient", {"birthdate": "ge1989-01-01"})) == [str(ben.pk)]
    assert ids(fhir("Patient", {"identifier": f"urn:practicedesk:mrn|{ben.mrn}"})) == [str(ben.pk)]
    assert ids(fhir("Patient", {"identifier": ada.mrn})) == [str(ada.pk)]
    assert fhir("Patient", {"identifier": f"http://other.example|{ada.mrn}"})["total"] == 0
    assert ids(fhir("Patient", {"given": "countess"})) == [str(ada.pk)]
    assert fhir("Patient", {"family": "nobody"}) == {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 0,
        "link": [{"relation": "self", "url": "http://testserver/fhir/Patient?family=nobody"}],
        "entry": [],
    }


def test_patient_search_pages_with_count_and_next_link(fhir, practice):
    first = fhir("Patient", {"family": "love", "_count": 1})
    assert first["total"] == 2 and len(first["entry"]) == 1
    next_link = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = fhir(next_link.removeprefix("http://testserver/fhir/"))
    assert len(second["entry"]) == 1
    assert ids(first) != ids(second)


def test_fhir_reads_and_searches_of_patient_data_are_audited(fhir, practice):
    ada = practice["ada"]
    fhir(f"Patient/{ada.pk}")
    fhir("Patient", {"family": "love"})
    fhir(f"Appointment/{practice['monday_ada'].pk}")
    fhir("Practitioner")
    reads = list(AuditEvent.objects.filter(action=AuditEvent.Action.READ).order_by("id"))
    assert len(reads) == 3
    assert reads[0].object_id == str(ada.pk) and reads[0].detail["via"] == "fhir"
    assert reads[1].detail["query"] == {"family": "love"}
    assert reads[1].detail["total"] == 2
    assert reads[2].object_id == str(practice["monday_ada"].pk)
    assert all(event.user == fhir.client.user for event in reads)


def test_practitioner_resource_names_the_npi_and_qualification(fhir, practice):
    provider = practice["provider"]
    resource = fhir(f"Practitioner/{provider.pk}")
    assert resource["identifier"][0]["system"] == "http://hl7.org/fhir/sid/us-npi"
    assert resource["identifier"][0]["value"] == provider.npi
    assert resource["name"][0]["family"] == provider.last_name
    assert resource["qualification"][0]["code"]["coding"][0]["code"] == "207Q00000X"
    found = fhir("Practitioner", {"identifier": f"http://hl7.org/fhir/sid/us-npi|{provider.npi}"})
    assert ids(found) == [str(provider.pk)]


def test_location_resource_has_address_and_telecom(fhir, practice):
    location = practice["other_location"]
    resource = fhir(f"Location/{location.pk}")
    assert resource["address"]["city"] == "Springfield"
    assert {item["system"] for item in resource["telecom"]} == {"phone", "fax"}
    assert resource["status"] == "active"
    assert ids(fhir("Location", {"name": "oak"})) == [str(location.pk)]


def test_appointment_resource_maps_status_and_participants(fhir, practice):
    booked = fhir(f"Appointment/{practice['monday_ada'].pk}")
    arrived = fhir(f"Appointment/{practice['tuesday_ben'].pk}")
    assert booked["status"] == "booked" and arrived["status"] == "arrived"
    assert {booked["status"], arrived["status"]} <= APPOINTMENT_STATUSES
    actors = [participant["actor"]["reference"] for participant in booked["participant"]]
    assert actors == [
        f"Patient/{practice['ada'].pk}",
        f"Practitioner/{practice['provider'].pk}",
        f"Location/{practice['location'].pk}",
    ]
    assert booked["minutesDuration"] == 20
    start = datetime.datetime.fromisoformat(booked["start"])
    assert start == practice["monday_ada"].start


def test_appointment_search_by_date_practitioner_patient_and_status(fhir, practice):
    monday = timezone.localdate(practice["monday_ada"].start)
    tuesday = timezone.localdate(practice["tuesday_ben"].start)
    on_monday = fhir("Appointment", {"date": monday.isoformat()})
    assert sorted(ids(on_monday)) == sorted(
        [str(practice["monday_ada"].pk), str(practice["other_ada"].pk)]
    )
    assert ids(fhir("Appointment", {"date": tuesday.isoformat()})) == [
        str(practice["tuesday_ben"].pk)
    ]
    ranged = fhir.client.get(
        "/fhir/Appointment",
        {"date": [f"ge{min(monday, tuesday)}", f"le{max(monday, tuesday)}"]},
    ).json()
    assert ranged["total"] == 3
    by_practitioner = fhir("Appointment", {"practitioner": f"Practitioner/{practice['second'].pk}"})
    assert ids(by_practitioner) == [str(practice["other_ada"].pk)]
    by_patient = fhir("Appointment", {"patient": f"Patient/{practice['ada'].pk}"})
    assert by_patient["total"] == 2
    assert ids(fhir("Appointment", {"status": "arrived"})) == [str(practice["tuesday_ben"].pk)]
    assert fhir("Appointment", {"status": "booked,arrived"})["total"] == 3
    assert fhir("Appointment", {"status": "fulfilled"})["total"] == 0


def test_schedule_is_one_per_provider_and_location(fhir, practice):
    provider, location = practice["provider"], practice["location"]
    schedule = fhir(f"Schedule/{provider.pk}-{location.pk}")
    assert [actor["reference"] for actor in schedule["actor"]] == [
        f"Practitioner/{provider.pk}",
        f"Location/{location.pk}",
    ]
    assert schedule["planningHorizon"]["start"] == timezone.localdate().isoformat()
    everyone = fhir("Schedule")
    assert everyone["total"] == 2
    mine = fhir("Schedule", {"actor": f"Practitioner/{practice['second'].pk}"})
    assert ids(mine) == [f"{practice['second'].pk}-{practice['other_location'].pk}"]


def test_slot_search_returns_free_slots_of_a_schedule(fhir, practice):
    provider, location = practice["provider"], practice["location"]
    monday = timezone.localdate(practice["monday_ada"].start)
    bundle = fhir(
        "Slot",
        {
            "schedule": f"Schedule/{provider.pk}-{location.pk}",
            "start": monday.isoformat(),
            "appointment-type": str(practice["type"].pk),
        },
    )
    starts = [entry["resource"]["start"] for entry in bundle["entry"]]
    assert bundle["total"] == 12 + 12 - 1
    booked_at = practice["monday_ada"].start
    assert booked_at not in [datetime.datetime.fromisoformat(s) for s in starts]
    slot = bundle["entry"][0]["resource"]
    assert slot["status"] == "free"
    assert slot["schedule"]["reference"] == f"Schedule/{provider.pk}-{location.pk}"
    again = fhir(f"Slot/{slot['id']}")
    assert again == slot
    later = fhir(
        "Slot",
        {
            "schedule": f"{provider.pk}-{location.pk}",
            "start": [f"ge{monday}T15:00:00", f"lt{monday}T16:00:00"],
        },
    )
    assert later["total"] == 3


def test_a_taken_slot_is_no_longer_found(fhir, practice):
    provider, location = practice["provider"], practice["location"]
    monday = timezone.localdate(practice["monday_ada"].start)
    slot = fhir("Slot", {"schedule": f"{provider.pk}-{location.pk}", "start": monday.isoformat()})[
        "entry"
    ][-1]["resource"]
    appointment_book(
        acting_user=factories.UserFactory(),
        patient=factories.PatientFactory(),
        provider=provider,
        location=location,
        appointment_type=practice["type"],
        start=datetime.datetime.fromisoformat(slot["start"]),
    )
    outcome = fhir(f"Slot/{slot['id']}", expect=404)
    assert outcome["issue"][0]["code"] == "not-found"


@pytest.mark.parametrize(
    "path",
    [
        "Patient/999999",
        "Patient/abc",
        "Practitioner/999999",
        "Location/999999",
        "Appointment/999999",
        "Schedule/1-999999",
        "Schedule/nonsense",
        "Slot/1-2-3-999912312359",
        "Slot/garbage",
    ],
)
def test_an_unknown_id_is_a_404_operation_outcome(fhir, practice, path):
    outcome = fhir(path, expect=404)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "error"
    assert outcome["issue"][0]["code"] == "not-found"
    assert path.split("/")[0] in outcome["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    ("path", "params", "says"),
    [
        ("Patient", {"birthdate": "tenth of december"}, "is not a date"),
        ("Patient", {"famly": "Lovelace"}, "Unknown search parameter(s) for Patient: famly"),
        ("Patient", {"gender": "robot"}, "gender is female, male or unknown"),
        ("Appointment", {"date": "2025-99-01"}, "is not a date"),
        ("Appointment", {"date": "ap2025-01-01"}, "prefix 'ap' is not supported"),
        ("Appointment", {"practitioner": "Patient/1"}, "must refer to a Practitioner"),
        ("Appointment", {"status": "done"}, "status 'done' is not one we use"),
        ("Appointment", {"_count": "many"}, "whole numbers"),
        ("Slot", {"schedule": "Schedule/12"}, "a Schedule id is <practitioner>-<location>"),
        ("Slot", {"start": ["ge2025-01-01", "le2025-06-01"]}, "at most 31 days"),
        ("Slot", {"appointment-type": "99999"}, "no active appointment type"),
    ],
)
def test_a_bad_search_is_a_400_operation_outcome_that_says_why(fhir, practice, path, params, says):
    outcome = fhir(path, params, expect=400)
    assert outcome["issue"][0]["code"] == "invalid"
    assert says in outcome["issue"][0]["diagnostics"]


def test_fhir_is_read_only(fhir, practice):
    response = fhir.client.post("/fhir/Patient", {"resourceType": "Patient"}, format="json")
    assert response.status_code == 405
    fhir_validate(response.json())


def test_every_resource_type_in_a_bundle_validates(fhir, practice):
    for resource_type in ("Patient", "Practitioner", "Location", "Appointment", "Schedule", "Slot"):
        bundle = fhir(resource_type)
        assert bundle["total"] >= 1, resource_type
        for entry in bundle["entry"]:
            assert entry["resource"]["resourceType"] == resource_type
            parsed = fhir_validate(entry["resource"])
            assert parsed.id == entry["resource"]["id"]
