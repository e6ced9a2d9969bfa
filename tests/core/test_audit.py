import csv
import io

import pytest
from auditlog.models import LogEntry
from django.contrib.admin.sites import site

from practicedesk.core.models import AuditEvent, Location
from tests.factories import DocumentFactory, LocationFactory

pytestmark = pytest.mark.django_db

LOCATION_FORM = {
    "code": "elm",
    "name": "Elm Street Clinic",
    "phone": "(555) 201-3344",
    "npi": "1234567893",
    "tax_id": "12-3456789",
    "address_line1": "5 Elm Street",
    "city": "Springfield",
    "state": "IL",
    "postal_code": "62701",
    "is_active": "on",
}


def entries_for(obj):
    return LogEntry.objects.get_for_object(obj).order_by("timestamp", "id")


def test_a_create_through_the_app_records_who_when_and_from_where(manager_client, manager):
    manager_client.post("/locations/new/", LOCATION_FORM, REMOTE_ADDR="10.1.2.3")
    location = Location.objects.get(code="elm")
    entry = entries_for(location).get()
    assert entry.action == LogEntry.Action.CREATE
    assert entry.actor == manager
    assert entry.remote_addr == "10.1.2.3"
    assert entry.timestamp is not None


def test_a_change_records_the_before_and_after_values(manager_client):
    location = LocationFactory(name="Old Name")
    manager_client.post(
        f"/locations/{location.pk}/edit/",
        {**LOCATION_FORM, "code": location.code, "name": "New Name"},
    )
    entry = entries_for(location).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.changes_dict["name"] == ["Old Name", "New Name"]


def test_a_delete_is_recorded_with_the_values_it_removed(db):
    document = DocumentFactory(title="Old lease")
    pk = document.pk
    document.delete()
    entry = LogEntry.objects.get(
        object_pk=str(pk), action=LogEntry.Action.DELETE, content_type__model="document"
    )
    assert "Old lease" in entry.object_repr


def test_password_hashes_never_reach_the_change_log(make_user):
    user = make_user()
    user.set_password("another-long-password")
    user.save()
    entries = LogEntry.objects.get_for_object(user)
    assert entries.exists()
    for entry in entries:
        assert "password" not in entry.changes_dict


def test_change_log_entries_cannot_be_changed_or_deleted(db):
    location = LocationFactory()
    entry = entries_for(location).first()
    entry.object_repr = "tampered"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()


def test_audit_events_cannot_be_changed_or_deleted(db):
    event = AuditEvent.objects.create(action=AuditEvent.Action.READ, object_repr="x")
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.update(object_repr="y")


def test_the_admin_offers_no_way_to_edit_the_audit_log(rf, make_user):
    request = rf.get("/admin/")
    request.user = make_user(is_superuser=True, is_staff=True)
    for model in (LogEntry, AuditEvent):
        admin = site._registry[model]
        assert not admin.has_change_permission(request)
        assert not admin.has_delete_permission(request)
        assert not admin.has_add_permission(request)


def test_viewing_a_protected_record_writes_a_read_event(manager_client, manager):
    document = DocumentFactory()
    manager_client.get(f"/documents/{document.pk}/")
    event = AuditEvent.objects.get(action=AuditEvent.Action.READ)
    assert event.user == manager
    assert event.object_id == str(document.pk)


def test_audit_page_filters_by_user_action_object_and_date(client, make_user, manager_client):
    manager_client.post("/locations/new/", LOCATION_FORM)
    auditor = make_user("auditor", two_factor_exempt=True)
    client.force_login(auditor)
    location = Location.objects.get(code="elm")
    response = client.get(
        "/audit/",
        {"action": LogEntry.Action.CREATE, "object_pk": location.pk, "date_from": "2000-01-01"},
    )
    assert response.status_code == 200
    assert "Elm Street Clinic" in response.content.decode()
    response = client.get("/audit/", {"action": LogEntry.Action.DELETE})
    assert "Elm Street Clinic" not in response.content.decode()


def test_audit_log_exports_csv_and_the_export_itself_is_audited(client, make_user, manager_client):
    manager_client.post("/locations/new/", LOCATION_FORM)
    auditor = make_user("auditor", two_factor_exempt=True)
    client.force_login(auditor)
    response = client.get("/audit/", {"export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "When"
    assert any("Elm Street Clinic" in cell for row in rows for cell in row)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, user=auditor).exists()


def test_sign_ins_and_sign_outs_are_events(client, make_user):
    from tests.factories import TEST_PASSWORD

    user = make_user("front_desk")
    client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
    client.post("/accounts/logout/")
    actions = set(AuditEvent.objects.filter(user=user).values_list("action", flat=True))
    assert {AuditEvent.Action.LOGIN, AuditEvent.Action.LOGOUT} <= actions


def test_a_list_of_protected_records_is_audited_as_a_read_of_the_rows_shown(manager_client):
    document = DocumentFactory()
    manager_client.get("/documents/", {"q": document.title})
    event = AuditEvent.objects.get(name="core.document_list")
    assert event.action == AuditEvent.Action.READ
    assert event.detail["ids"] == [document.pk]
