"""Merging two patients: every record of the duplicate moves, none is lost, the duplicate is
kept as merged, the merge is audited, and only a manager may do it."""

import dataclasses
import datetime

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from practicedesk.core.models import AuditEvent
from practicedesk.patients import services
from practicedesk.patients.models import ConsentEvent, Coverage, Patient, PatientAlert
from practicedesk.patients.services import patient_merge, patient_merge_links
from practicedesk.scheduling.models import Appointment, Encounter, Recall, WaitlistEntry
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit_setup():
    return {
        "provider": factories.ProviderFactory(),
        "location": factories.LocationFactory(),
        "type": factories.AppointmentTypeFactory(),
    }


def appointment_for(patient, setup, *, days, coverage=None) -> Appointment:
    start = timezone.now().replace(microsecond=0) + datetime.timedelta(days=days)
    return Appointment.objects.create(
        patient=patient,
        provider=setup["provider"],
        location=setup["location"],
        appointment_type=setup["type"],
        coverage=coverage,
        start=start,
        end=start + datetime.timedelta(minutes=20),
    )


def table_sizes() -> dict[str, int]:
    return {
        model._meta.label: model._base_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in ("patients", "scheduling", "core")
        and model._meta.managed
        and not model._meta.proxy
    }


@pytest.fixture
def duplicate_pair(visit_setup, manager):
    target = factories.PatientFactory(first_name="Maria", last_name="Gonzalez")
    source = factories.PatientFactory(first_name="Mariah", last_name="Gonzales")
    target_coverage = factories.CoverageFactory(patient=target)
    source_coverage = factories.CoverageFactory(patient=source, order=2)
    appointment_for(target, visit_setup, days=3, coverage=target_coverage)
    past = appointment_for(source, visit_setup, days=-30, coverage=source_coverage)
    appointment_for(source, visit_setup, days=10)
    Encounter.objects.create(
        appointment=past,
        patient=source,
        provider=visit_setup["provider"],
        date_of_service=past.start.date(),
        opened_at=past.start,
    )
    WaitlistEntry.objects.create(
        patient=source,
        appointment_type=visit_setup["type"],
        location=visit_setup["location"],
        wanted_before=timezone.localdate() + datetime.timedelta(days=20),
    )
    Recall.objects.create(
        patient=source,
        appointment_type=visit_setup["type"],
        due_date=timezone.localdate() + datetime.timedelta(days=60),
        reason="Annual physical",
    )
    factories.PatientAlertFactory(patient=source)
    ConsentEvent.objects.create(patient=source, kind="reminder_email", given=True)
    factories.PatientFactory(first_name="Kid", guarantor=source)
    factories.PatientFactory(first_name="Older", status=Patient.Status.MERGED, merged_into=source)
    factories.DocumentFactory(
        owner=manager,
        document_type="patient",
        attached_type=ContentType.objects.get_for_model(Patient),
        attached_id=str(source.pk),
    )
    return source, target


def test_merge_moves_every_record_to_the_target_and_loses_no_row(duplicate_pair, manager):
    source, target = duplicate_pair
    sizes_before = table_sizes()

    moved = patient_merge(acting_user=manager, source=source, target=target)

    assert table_sizes() == {**sizes_before, "core.AuditEvent": sizes_before["core.AuditEvent"] + 1}
    assert moved == {
        "core.document.attached_to": 1,
        "patients.consentevent.patient": 1,
        "patients.coverage.patient": 1,
        "patients.patient.guarantor": 1,
        "patients.patient.merged_into": 1,
        "patients.patientalert.patient": 1,
        "scheduling.appointment.patient": 2,
        "scheduling.encounter.patient": 1,
        "scheduling.recall.patient": 1,
        "scheduling.waitlistentry.patient": 1,
    }
    assert Appointment.objects.filter(patient=target).count() == 3
    assert Coverage.objects.filter(patient=target).count() == 2
    assert PatientAlert.objects.filter(patient=target, is_active=True).count() == 1
    assert Encounter.objects.get().patient == target
    assert Patient.objects.get(first_name="Kid").guarantor == target
    assert Patient.objects.get(first_name="Older").merged_into == target
    # A visit and its coverage move together, so the visit still bills the patient's insurance.
    for appointment in Appointment.objects.exclude(coverage=None):
        assert appointment.coverage.patient_id == appointment.patient_id
    for link in patient_merge_links():
        assert not link.rows(source).exists(), link.label

    source.refresh_from_db()
    target.refresh_from_db()
    assert source.status == Patient.Status.MERGED
    assert source.merged_into == target
    assert target.first_name == "Maria" and target.status == Patient.Status.ACTIVE


def test_a_merge_is_audited_with_what_moved(duplicate_pair, manager):
    source, target = duplicate_pair
    patient_merge(acting_user=manager, source=source, target=target)
    event = AuditEvent.objects.get(name="patient_merge")
    assert event.user == manager
    assert event.object_id == str(target.pk)
    assert event.detail["source"] == {"id": source.pk, "mrn": source.mrn}
    assert event.detail["moved"]["scheduling.appointment.patient"] == 2
    assert len(event.detail["moved_ids"]["scheduling.appointment.patient"]) == 2


def test_the_merge_walks_every_relation_to_a_patient_in_every_app():
    labels = {link.label for link in patient_merge_links()}
    assert {
        "scheduling.appointment.patient",
        "scheduling.recordsrequest.patient",
        "patients.coverage.patient",
        "patients.patient.guarantor",
        "core.document.attached_to",
    } <= labels
    assert not any(label.startswith("core.auditevent") for label in labels)


def test_a_patient_cannot_be_merged_into_itself():
    patient = factories.PatientFactory()
    with pytest.raises(ValidationError, match="into itself"):
        patient_merge(acting_user=None, source=patient, target=patient)


def test_a_merged_record_can_be_neither_source_nor_target(duplicate_pair):
    source, target = duplicate_pair
    patient_merge(acting_user=None, source=source, target=target)
    other = factories.PatientFactory()
    with pytest.raises(ValidationError, match="already merged"):
        patient_merge(acting_user=None, source=source, target=other)
    with pytest.raises(ValidationError, match="merge into that record instead"):
        patient_merge(acting_user=None, source=other, target=source)
    assert AuditEvent.objects.filter(name="patient_merge").count() == 1


def test_a_patient_is_not_merged_into_their_own_dependant():
    parent = factories.PatientFactory()
    child = factories.PatientFactory(guarantor=parent)
    with pytest.raises(ValidationError, match="guarantor"):
        patient_merge(acting_user=None, source=parent, target=child)


def test_a_unique_or_one_to_one_conflict_refuses_the_merge_and_moves_nothing(monkeypatch):
    source = factories.PatientFactory()
    target = factories.PatientFactory()
    payer = factories.PayerFactory()
    factories.CoverageFactory(patient=source, payer=payer)
    factories.CoverageFactory(patient=target, payer=payer)
    factories.PatientAlertFactory(patient=source)
    factories.PatientAlertFactory(patient=target)
    real_links = patient_merge_links

    def links_with_rules(rule):
        def links():
            return [rule(link) for link in real_links()]

        return links

    one_coverage_per_payer = links_with_rules(
        lambda link: (
            dataclasses.replace(link, unique_sets=(("patient", "payer"),))
            if link.label == "patients.coverage.patient"
            else link
        )
    )
    monkeypatch.setattr(services, "patient_merge_links", one_coverage_per_payer)
    with pytest.raises(ValidationError, match="same payer"):
        patient_merge(acting_user=None, source=source, target=target)

    one_alert_each = links_with_rules(
        lambda link: (
            dataclasses.replace(link, one_to_one=True)
            if link.label == "patients.patientalert.patient"
            else link
        )
    )
    monkeypatch.setattr(services, "patient_merge_links", one_alert_each)
    with pytest.raises(ValidationError, match="may have only one"):
        patient_merge(acting_user=None, source=source, target=target)

    assert Coverage.objects.filter(patient=source).count() == 1
    assert PatientAlert.objects.filter(patient=source).count() == 1
    source.refresh_from_db()
    assert source.status == Patient.Status.ACTIVE
    assert not AuditEvent.objects.filter(name="patient_merge").exists()


def test_a_move_that_would_lose_rows_undoes_the_whole_merge(monkeypatch, duplicate_pair):
    source, target = duplicate_pair
    original_update = QuerySet.update

    def update_losing_a_row(queryset, **kwargs):
        count = original_update(queryset, **kwargs)
        return count - 1 if queryset.model is PatientAlert else count

    monkeypatch.setattr(QuerySet, "update", update_losing_a_row)
    with pytest.raises(ValidationError, match="would not keep every"):
        patient_merge(acting_user=None, source=source, target=target)
    monkeypatch.undo()
    assert Appointment.objects.filter(patient=source).count() == 2
    assert PatientAlert.objects.filter(patient=source).count() == 1
    source.refresh_from_db()
    assert source.status == Patient.Status.ACTIVE
    assert not AuditEvent.objects.filter(name="patient_merge").exists()


def test_the_merge_page_previews_what_moves_then_merges(manager_client, duplicate_pair):
    source, target = duplicate_pair
    page = manager_client.get(f"/patients/{target.pk}/merge/").content.decode()
    assert source.mrn in page  # offered as a likely duplicate (same birthday, similar name)

    preview = manager_client.post(f"/patients/{target.pk}/merge/", {"source_mrn": source.mrn})
    body = preview.content.decode()
    assert "Appointments" in body and "Coverages" in body
    assert 'name="confirm" value="True"' in body
    assert Patient.objects.get(pk=source.pk).status == Patient.Status.ACTIVE

    done = manager_client.post(
        f"/patients/{target.pk}/merge/", {"source_mrn": source.mrn, "confirm": "True"}
    )
    assert done.status_code == 302
    assert Patient.objects.get(pk=source.pk).status == Patient.Status.MERGED
    merged_page = manager_client.get(source.get_absolute_url()).content.decode()
    assert "This record was merged into" in merged_page


def test_the_merge_page_refuses_a_merged_or_same_record(manager_client):
    patient = factories.PatientFactory()
    response = manager_client.post(f"/patients/{patient.pk}/merge/", {"source_mrn": patient.mrn})
    assert "cannot be merged into itself" in response.content.decode()
    response = manager_client.post(f"/patients/{patient.pk}/merge/", {"source_mrn": "NOPE"})
    assert "No patient has the MRN NOPE" in response.content.decode()


@pytest.mark.parametrize("role_key", ["front_desk", "clinician", "biller"])
def test_only_a_manager_may_merge(client, make_user, role_key, duplicate_pair):
    source, target = duplicate_pair
    client.force_login(make_user(role_key, two_factor_exempt=True))
    assert client.get(f"/patients/{target.pk}/merge/").status_code == 403
    response = client.post(
        f"/patients/{target.pk}/merge/", {"source_mrn": source.mrn, "confirm": "True"}
    )
    assert response.status_code == 403
    assert Patient.objects.get(pk=source.pk).status == Patient.Status.ACTIVE
    page = client.get(target.get_absolute_url()).content.decode()
    assert "Merge a duplicate" not in page
