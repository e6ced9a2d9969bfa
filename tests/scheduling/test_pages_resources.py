import datetime

import pytest
from django.urls import reverse

from practicedesk.core.validators import npi_from_prefix
from practicedesk.scheduling.calendar import readable_text_colour
from practicedesk.scheduling.models import (
    AppointmentType,
    Provider,
    Room,
    ScheduleException,
    ScheduleTemplate,
)
from tests import factories

pytestmark = pytest.mark.django_db


def provider_data(location, **overrides):
    data = {
        "first_name": "Ada",
        "last_name": "Okafor",
        "credentials": "MD",
        "npi": npi_from_prefix("123456780"),
        "taxonomy_code": "207Q00000X",
        "specialty": "Family medicine",
        "locations": [location.pk],
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_a_provider_is_created_with_the_locations_where_they_work(manager_client):
    main, north = factories.LocationFactory(name="Main St"), factories.LocationFactory()
    response = manager_client.post(
        reverse("scheduling:provider_create"),
        provider_data(main, locations=[main.pk, north.pk]),
    )
    provider = Provider.objects.get(last_name="Okafor")
    assert response.status_code == 302
    assert response["Location"] == provider.get_absolute_url()
    assert set(provider.locations.all()) == {main, north}
    page = manager_client.get(provider.get_absolute_url())
    assert b"Main St" in page.content
    assert reverse("scheduling:schedule_template_create").encode() in page.content


def test_an_npi_failing_its_check_digit_is_refused_at_the_field(manager_client):
    location = factories.LocationFactory()
    valid = npi_from_prefix("123456780")
    wrong_check_digit = valid[:9] + str((int(valid[9]) + 1) % 10)
    response = manager_client.post(
        reverse("scheduling:provider_create"), provider_data(location, npi=wrong_check_digit)
    )
    assert response.status_code == 200
    assert "npi" in response.context["form"].errors
    assert "check digit" in response.context["form"].errors["npi"][0]
    assert b'id="id_npi_error"' in response.content
    assert not Provider.objects.exists()


def test_the_provider_list_searches_by_npi(manager_client):
    provider = factories.ProviderFactory(last_name="Findme")
    factories.ProviderFactory(last_name="Other")
    response = manager_client.get(reverse("scheduling:provider_list"), {"q": provider.npi})
    assert b"Findme" in response.content
    assert b"Other" not in response.content


def test_working_hours_are_added_for_several_weekdays_from_the_provider_page(manager_client):
    location = factories.LocationFactory()
    provider = factories.ProviderFactory(locations=[location])
    url = reverse("scheduling:schedule_template_create") + f"?provider={provider.pk}"
    form = manager_client.get(url)
    assert form.context["form"].initial["provider"] == provider.pk
    response = manager_client.post(
        url,
        {
            "provider": provider.pk,
            "location": location.pk,
            "weekdays": ["0", "1", "2", "3", "4"],
            "start_time": "08:00",
            "end_time": "12:00",
            "effective_from": "2026-01-01",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == provider.get_absolute_url()
    assert sorted(provider.templates.values_list("weekday", flat=True)) == [0, 1, 2, 3, 4]
    page = manager_client.get(provider.get_absolute_url())
    assert b"08:00\xe2\x80\x9312:00" in page.content


def test_working_hours_must_end_after_they_start(manager_client):
    location = factories.LocationFactory()
    provider = factories.ProviderFactory(locations=[location])
    response = manager_client.post(
        reverse("scheduling:schedule_template_create") + f"?provider={provider.pk}",
        {
            "provider": provider.pk,
            "location": location.pk,
            "weekdays": ["0"],
            "start_time": "13:00",
            "end_time": "12:00",
            "effective_from": "2026-01-01",
        },
    )
    assert response.status_code == 200
    assert "after the start" in response.context["form"].errors["end_time"][0]
    assert not ScheduleTemplate.objects.exists()


def test_overlapping_working_hours_are_refused(manager_client):
    location = factories.LocationFactory()
    provider = factories.ProviderFactory()
    factories.weekly_schedule(provider, location, weekdays=[0])
    response = manager_client.post(
        reverse("scheduling:schedule_template_create"),
        {
            "provider": provider.pk,
            "location": location.pk,
            "weekdays": ["0"],
            "start_time": "10:00",
            "end_time": "11:00",
            "effective_from": "2026-01-01",
        },
    )
    assert "overlap" in response.context["form"].non_field_errors()[0]
    assert ScheduleTemplate.objects.count() == 1


def test_working_hours_are_edited_and_removed(manager_client):
    location = factories.LocationFactory()
    provider = factories.ProviderFactory()
    factories.weekly_schedule(provider, location, weekdays=[0])
    template = provider.templates.get()
    response = manager_client.post(
        reverse("scheduling:schedule_template_edit", args=[template.pk]),
        {
            "provider": provider.pk,
            "location": location.pk,
            "weekdays": ["2"],
            "start_time": "09:00",
            "end_time": "15:00",
            "effective_from": "2026-01-01",
            "effective_to": "2026-12-31",
        },
    )
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.weekday, template.end_time) == (2, datetime.time(15))
    response = manager_client.post(
        reverse("scheduling:schedule_template_delete", args=[template.pk])
    )
    assert response["Location"] == provider.get_absolute_url()
    assert not ScheduleTemplate.objects.exists()


def test_rooms_are_listed_created_and_edited(manager_client):
    location = factories.LocationFactory(name="Main St")
    response = manager_client.post(
        reverse("scheduling:room_create"),
        {"location": location.pk, "name": "Exam 9", "is_active": "on"},
    )
    room = Room.objects.get(name="Exam 9")
    assert response["Location"] == reverse("scheduling:room_list")
    assert b"Exam 9" in manager_client.get(reverse("scheduling:room_list")).content
    manager_client.post(
        reverse("scheduling:room_edit", args=[room.pk]),
        {"location": location.pk, "name": "Procedure 1", "is_active": "on"},
    )
    room.refresh_from_db()
    assert room.name == "Procedure 1"


def test_appointment_types_are_created_and_coloured_by_class(manager_client):
    response = manager_client.post(
        reverse("scheduling:appointment_type_create"),
        {
            "name": "Physical",
            "duration_minutes": 40,
            "colour": "#ffd700",
            "patient_kind": "any",
            "needs_room": "on",
            "is_active": "on",
        },
    )
    visit = AppointmentType.objects.get(name="Physical")
    assert response.status_code == 302
    page = manager_client.get(reverse("scheduling:appointment_type_list"))
    assert f"appt-type-{visit.pk}".encode() in page.content
    assert reverse("scheduling:types_css").encode() in page.content


def test_an_appointment_type_lasts_five_to_480_minutes(manager_client):
    response = manager_client.post(
        reverse("scheduling:appointment_type_create"),
        {"name": "Marathon", "duration_minutes": 600, "colour": "#000000", "patient_kind": "any"},
    )
    assert "duration_minutes" in response.context["form"].errors
    assert not AppointmentType.objects.exists()


def test_the_type_stylesheet_gives_each_type_its_colour_and_readable_text(manager_client):
    dark = factories.AppointmentTypeFactory(name="Dark", colour="#1f2d5a")
    light = factories.AppointmentTypeFactory(name="Light", colour="#ffe680")
    response = manager_client.get(reverse("scheduling:types_css"))
    css = response.content.decode()
    assert response["Content-Type"].startswith("text/css")
    assert f".appt-type-{dark.pk} {{ background: #1f2d5a; color: #ffffff; }}" in css
    assert f".appt-type-{light.pk} {{ background: #ffe680; color: #000000; }}" in css
    assert ".gs-12 { grid-row-end: span 12; }" in css
    assert readable_text_colour("#4c78a8") == "#ffffff"


def test_a_schedule_exception_closes_time_and_must_end_after_it_starts(manager_client):
    location = factories.LocationFactory()
    url = reverse("scheduling:exception_create")
    refused = manager_client.post(
        url,
        {
            "kind": "holiday",
            "location": location.pk,
            "start": "2026-12-25T17:00",
            "end": "2026-12-25T08:00",
            "reason": "Christmas",
        },
    )
    assert "end" in refused.context["form"].errors
    response = manager_client.post(
        url,
        {
            "kind": "holiday",
            "location": location.pk,
            "start": "2026-12-25T00:00",
            "end": "2026-12-25T23:59",
            "reason": "Christmas",
        },
    )
    assert response["Location"] == reverse("scheduling:exception_list")
    assert ScheduleException.objects.get().reason == "Christmas"
    assert b"Christmas" in manager_client.get(reverse("scheduling:exception_list")).content


def test_leave_names_the_provider_who_is_away(manager_client):
    response = manager_client.post(
        reverse("scheduling:exception_create"),
        {"kind": "leave", "start": "2026-12-21T00:00", "end": "2026-12-24T00:00"},
    )
    assert "provider" in response.context["form"].errors
    assert not ScheduleException.objects.exists()
