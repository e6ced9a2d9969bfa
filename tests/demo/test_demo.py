import pytest
from django.core.management import call_command

from practicedesk.core.models import Location, User
from practicedesk.patients.models import Coverage, Patient
from practicedesk.scheduling.models import Appointment, Provider

pytestmark = pytest.mark.django_db


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (Location, User, Patient, Coverage, Provider, Appointment)
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


def test_the_small_demo_builds_one_consistent_practice_and_never_twice(capsys):
    """One build (it takes seconds) checked for everything: counts, idempotence, users,
    no double booking of a provider, patient or room, and searchable patients."""
    call_command("demo", size="small")
    first = counts()
    assert first["Location"] == 1
    assert first["Provider"] == 4
    assert first["Patient"] == 1500
    assert first["Appointment"] > 2000
    call_command("demo", size="small")
    assert counts() == first
    output = capsys.readouterr().out
    assert "Practice manager" in output and "practicedesk-demo" in output

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
