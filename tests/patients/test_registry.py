"""The patient registry: MRNs, search, duplicates before saving, field rules, consents,
alerts on every patient page, coverage rules and who may do what."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from practicedesk.core.models import AuditEvent
from practicedesk.patients.models import ConsentEvent, Coverage, Patient, PatientAlert
from practicedesk.patients.selectors import likely_duplicates, patient_search
from practicedesk.patients.services import patient_register, patient_update
from tests import factories

pytestmark = pytest.mark.django_db

REGISTRATION = {
    "first_name": "Maria",
    "last_name": "Gonzalez",
    "date_of_birth": "1975-03-09",
    "sex_at_birth": "F",
    "preferred_language": "Spanish",
    "mobile_phone": "(555) 410-2233",
    "email": "maria@example.test",
    "address_line1": "12 Oak St",
    "city": "Springfield",
    "state": "IL",
    "postal_code": "62701",
}


def register(**fields) -> Patient:
    values = {**REGISTRATION, **fields}
    values["date_of_birth"] = datetime.date.fromisoformat(values["date_of_birth"])
    values.pop("preferred_language")
    return patient_register(acting_user=None, patient=Patient(**values))


@pytest.fixture
def front_desk_client(client, make_user):
    client.force_login(make_user("front_desk", two_factor_exempt=True))
    return client


def test_mrns_are_assigned_automatically_unique_and_increasing():
    first = register(first_name="Ann", last_name="Alpha")
    second = register(first_name="Bob", last_name="Beta", mobile_phone="")
    third = register(first_name="Cy", last_name="Gamma", mobile_phone="")
    mrns = [first.mrn, second.mrn, third.mrn]
    assert len(set(mrns)) == 3
    assert mrns == sorted(mrns)
    assert all(mrn.isdigit() and len(mrn) == 8 for mrn in mrns)
    assert int(third.mrn) - int(first.mrn) == 2


def test_the_registration_form_never_takes_an_mrn_from_the_user(front_desk_client):
    response = front_desk_client.post("/patients/new/", {**REGISTRATION, "mrn": "99999999"})
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert patient.mrn != "99999999"
    assert response["Location"] == patient.get_absolute_url()


@pytest.fixture
def search_people():
    return {
        "smith": factories.PatientFactory(
            first_name="John", last_name="Smith", mobile_phone="(555) 111-2222"
        ),
        "smithers": factories.PatientFactory(
            first_name="Wayland",
            last_name="Smithers",
            date_of_birth=datetime.date(1961, 2, 3),
            mobile_phone="",
            home_phone="555.333.4444",
        ),
        "jones": factories.PatientFactory(
            first_name="Johanna", last_name="Jones", mobile_phone="(555) 777-8888"
        ),
    }


def found(query) -> set[str]:
    return set(patient_search(query).values_list("last_name", flat=True))


def test_search_finds_patients_by_name_fragment(search_people):
    assert found("smi") == {"Smith", "Smithers"}
    assert found("SMITH jo") == {"Smith"}
    assert found("smith, john") == {"Smith"}
    assert found("john smith") == {"Smith"}
    assert found("wayl") == {"Smithers"}
    assert found("zzz") == set()


def test_search_finds_patients_by_date_of_birth_in_either_form(search_people):
    assert found("1961-02-03") == {"Smithers"}
    assert found("02/03/1961") == {"Smithers"}
    assert found("smi 1961-02-03") == {"Smithers"}


def test_search_finds_patients_by_mrn(search_people):
    jones = search_people["jones"]
    assert found(jones.mrn) == {"Jones"}
    registered = register()
    assert found(registered.mrn.lstrip("0")) == {"Gonzalez"}


def test_search_finds_patients_by_phone_with_any_punctuation(search_people):
    assert found("5551112222") == {"Smith"}
    assert found("(555) 111-2222") == {"Smith"}
    assert found("555-333-4444") == {"Smithers"}  # the second (home) phone
    assert found("1 555 777 8888") == {"Jones"}
    assert found("555777") == {"Jones"}


def test_the_list_page_searches_live_and_exports_csv(client, manager, search_people):
    client.force_login(manager)
    fragment = client.get("/patients/", {"q": "smith jo"}, headers={"HX-Request": "true"})
    body = fragment.content.decode()
    assert "<html" not in body
    assert "Smith" in body and "Smithers" not in body
    export = client.get("/patients/", {"q": "smi", "export": "csv"})
    rows = b"".join(export.streaming_content).decode()
    assert "Smithers" in rows and "Jones" not in rows
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


def test_the_list_filters_by_status_and_hides_merged_records_unless_asked(
    manager_client, search_people
):
    Patient.objects.filter(pk=search_people["jones"].pk).update(
        status=Patient.Status.MERGED, merged_into=search_people["smith"]
    )
    page = manager_client.get("/patients/").content.decode()
    assert "Jones" not in page
    merged = manager_client.get("/patients/", {"status": "merged"}).content.decode()
    assert "Jones" in merged and "Smithers" not in merged
    by_mrn = manager_client.get("/patients/", {"q": search_people["jones"].mrn}).content.decode()
    assert "Jones" in by_mrn


def test_name_search_uses_the_search_index():
    """The search runs on the indexed, normalised columns (so 50,000 patients answer at once)."""
    query = str(patient_search("smi").query)
    assert "search_name" in query
    factories.PatientFactory(last_name="Smith")
    with connection.cursor() as cursor:
        sql, params = patient_search("smi").query.sql_with_params()
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row) for row in cursor.fetchall())
            assert "search_name" in plan and "INDEX" in plan.upper()


def test_the_list_shows_a_name_search_in_name_order_counted_once(manager_client):
    for last, first in [("Thompson", "Zoella"), ("thomas", "Annika"), ("Thomas", "Beatrix")]:
        factories.PatientFactory(last_name=last, first_name=first)
    factories.PatientFactory(last_name="Smith", first_name="Albrecht")
    with CaptureQueriesContext(connection) as captured:
        page = manager_client.get("/patients/", {"q": "tho"}).content.decode()
    assert "Albrecht" not in page
    positions = [page.index(name) for name in ("Annika", "Beatrix", "Zoella")]
    assert positions == sorted(positions)
    assert sum("COUNT(" in query["sql"] for query in captured) == 1
    backwards = manager_client.get("/patients/", {"q": "tho", "sort": "-last_name"})
    positions = [backwards.content.decode().index(name) for name in ("Annika", "Beatrix", "Zoella")]
    assert positions == sorted(positions, reverse=True)


def test_on_postgresql_a_name_search_is_read_in_order_through_its_indexes():
    """A prefix ("tho") is found and ordered by one index range, with no sort, and counted
    from that index alone; a word that starts a first name ("zoe smi") goes through the
    trigram index."""
    if connection.vendor != "postgresql":
        pytest.skip("the indexes of migration 0003 are PostgreSQL's")
    from practicedesk.patients.selectors import patients_by_name

    factories.PatientFactory(last_name="Thomas", first_name="Zoe")
    factories.PatientFactory(last_name="Smith", first_name="Zoe")

    def plan(queryset, *settings: str) -> str:
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            # A handful of rows would otherwise be read whole, whatever the indexes.
            for setting in ("enable_seqscan", *settings):
                cursor.execute(f"SET LOCAL {setting} = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            lines = [row[0] for row in cursor.fetchall()]
            cursor.execute("RESET ALL")
        return "\n".join(lines)

    ordered = plan(patients_by_name(patient_search("tho"))[:25], "enable_sort")
    assert "patient_name_sort_c" in ordered and "Sort" not in ordered
    matches = patient_search("tho").exclude(status=Patient.Status.MERGED)
    matches = matches.order_by().values("status")  # what the page's COUNT reads
    covered = plan(matches, "enable_bitmapscan", "enable_indexscan")
    assert "Index Only Scan using patient_name_sort_c" in covered
    anywhere = plan(
        patients_by_name(patient_search("zoe smi"))[:25], "enable_indexscan", "enable_indexonlyscan"
    )
    assert "patient_search_name_trgm" in anywhere


def test_likely_duplicates_are_same_birthday_and_similar_name_or_same_phone():
    existing = register()
    assert [d.patient for d in likely_duplicates("Mariah", "Gonzales", existing.date_of_birth)] == [
        existing
    ]
    assert likely_duplicates("Peter", "Brown", existing.date_of_birth) == []
    by_phone = likely_duplicates("Peter", "Brown", None, ["555 410 2233"])
    assert [d.patient for d in by_phone] == [existing]
    assert by_phone[0].reasons == ["same phone number"]


def test_likely_duplicates_are_shown_before_saving_and_nothing_is_saved(front_desk_client):
    existing = register()
    response = front_desk_client.post(
        "/patients/new/", {**REGISTRATION, "first_name": "Mariah", "mobile_phone": ""}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "may already be registered" in body
    assert existing.get_absolute_url() in body
    assert "None of these is the same patient" in body
    assert Patient.objects.count() == 1

    confirmed = front_desk_client.post(
        "/patients/new/",
        {**REGISTRATION, "first_name": "Mariah", "mobile_phone": "", "not_duplicate": "on"},
    )
    assert confirmed.status_code == 302
    assert Patient.objects.count() == 2


def test_an_htmx_registration_with_duplicates_comes_back_as_the_form(front_desk_client):
    register()
    response = front_desk_client.post(
        "/patients/new/", REGISTRATION, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "<html" not in body and "may already be registered" in body
    assert Patient.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("date_of_birth", "2999-01-01", "cannot be in the future"),
        ("email", "maria@", "Enter an email address"),
        ("mobile_phone", "12345", "10-digit phone number"),
        ("home_phone", "555-12", "10-digit phone number"),
        ("date_of_birth", "1975-13-40", "YYYY-MM-DD or MM/DD/YYYY"),
    ],
)
def test_bad_input_is_refused_at_the_field(front_desk_client, field, value, message):
    response = front_desk_client.post("/patients/new/", {**REGISTRATION, field: value})
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not Patient.objects.exists()


def test_a_date_of_birth_tomorrow_is_refused_by_the_service_too():
    with pytest.raises(Exception, match="future"):
        register(date_of_birth=(timezone.localdate() + datetime.timedelta(days=1)).isoformat())


def test_consent_given_at_registration_and_changed_later_is_recorded_with_its_date(
    front_desk_client,
):
    front_desk_client.post(
        "/patients/new/", {**REGISTRATION, "reminder_email_consent": "on", "mobile_phone": ""}
    )
    patient = Patient.objects.get()
    given = ConsentEvent.objects.get(patient=patient)
    assert (given.kind, given.given, given.on_date) == (
        ConsentEvent.Kind.REMINDER_EMAIL,
        True,
        timezone.localdate(),
    )
    edit = {**REGISTRATION, "mobile_phone": "", "status": "active", "marketing_email_consent": "on"}
    response = front_desk_client.post(f"/patients/{patient.pk}/edit/", edit)
    assert response.status_code == 302
    events = {(e.kind, e.given) for e in ConsentEvent.objects.filter(patient=patient)}
    assert events == {
        (ConsentEvent.Kind.REMINDER_EMAIL, True),
        (ConsentEvent.Kind.REMINDER_EMAIL, False),
        (ConsentEvent.Kind.MARKETING_EMAIL, True),
    }
    withdrawn = ConsentEvent.objects.get(patient=patient, given=False)
    assert withdrawn.on_date == timezone.localdate()
    assert withdrawn.recorded_by is not None
    page = front_desk_client.get(patient.get_absolute_url()).content.decode()
    assert "Withdrawn" in page and timezone.localdate().isoformat() in page


def test_an_unchanged_consent_records_nothing():
    patient = register(reminder_email_consent=True)
    patient.city = "Chatham"
    patient_update(acting_user=None, patient=patient)
    assert ConsentEvent.objects.filter(patient=patient).count() == 1


def test_active_alerts_are_shown_on_every_page_of_the_patient(front_desk_client):
    patient = factories.PatientFactory()
    coverage = factories.CoverageFactory(patient=patient)
    factories.PatientAlertFactory(patient=patient, text="Cash or card only")
    factories.PatientAlertFactory(patient=patient, kind="other", text="Old note", is_active=False)
    pages = [
        patient.get_absolute_url(),
        f"/patients/{patient.pk}/edit/",
        f"/patients/{patient.pk}/coverage/new/",
        f"/patients/{patient.pk}/alerts/new/",
        f"/patients/coverage/{coverage.pk}/edit/",
    ]
    for url in pages:
        body = front_desk_client.get(url).content.decode()
        banner = body[body.index('class="patient-banner"') :]
        banner = banner[: banner.index("</section>")]
        assert "Checks not accepted: Cash or card only" in banner, url
        assert "badge-warn" in banner, url
        assert patient.mrn in banner, url
        assert "Old note" not in banner, url


def test_an_alert_is_added_and_resolved_from_the_patient_page(front_desk_client):
    patient = factories.PatientFactory()
    front_desk_client.post(
        f"/patients/{patient.pk}/alerts/new/",
        {"kind": "interpreter", "severity": "info", "text": "Speaks Portuguese"},
    )
    alert = PatientAlert.objects.get(patient=patient)
    assert "Needs an interpreter: Speaks Portuguese" in (
        front_desk_client.get(patient.get_absolute_url()).content.decode()
    )
    front_desk_client.post(f"/patients/alerts/{alert.pk}/resolve/")
    alert.refresh_from_db()
    assert alert.is_active is False and alert.resolved_at is not None
    assert AuditEvent.objects.filter(name="patient_alert_resolve").exists()


def test_opening_the_patient_page_is_audited_as_a_read(front_desk_client):
    patient = factories.PatientFactory()
    front_desk_client.get(patient.get_absolute_url())
    read = AuditEvent.objects.get(action=AuditEvent.Action.READ)
    assert read.object_id == str(patient.pk)
    assert read.content_type.model == "patient"


def test_the_patient_page_reads_in_the_same_queries_however_much_the_patient_has(
    manager_client,
):
    patient = factories.PatientFactory()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert manager_client.get(patient.get_absolute_url()).status_code == 200
        return len(captured)

    factories.CoverageFactory(patient=patient)
    factories.PatientAlertFactory(patient=patient)
    few = queries()
    for index in range(5):
        factories.CoverageFactory(patient=patient, order=2)
        factories.PatientAlertFactory(patient=patient, kind="other", text=f"Note {index}")
        factories.PatientFactory(guarantor=patient)
        ConsentEvent.objects.create(patient=patient, kind="marketing_email", given=index % 2 == 0)
    assert queries() == few


COVERAGE = {
    "payer": None,
    "member_id": "ABC-123",
    "order": "1",
    "relationship": "18",
    "effective_date": "2024-01-01",
}


def test_coverage_for_a_dependant_requires_the_subscriber(front_desk_client):
    patient = factories.PatientFactory()
    payer = factories.PayerFactory()
    data = {**COVERAGE, "payer": payer.pk, "relationship": "19"}
    response = front_desk_client.post(f"/patients/{patient.pk}/coverage/new/", data)
    form = response.context["form"]
    for field in ("subscriber_first_name", "subscriber_last_name", "subscriber_date_of_birth"):
        assert "not the subscriber" in " ".join(form.errors[field])
    assert not Coverage.objects.exists()

    complete = {
        **data,
        "subscriber_first_name": "Rosa",
        "subscriber_last_name": "Example",
        "subscriber_date_of_birth": "1950-01-01",
    }
    assert front_desk_client.post(f"/patients/{patient.pk}/coverage/new/", complete).status_code
    coverage = Coverage.objects.get()
    assert coverage.subscriber_first_name == "Rosa"


def test_coverage_ending_before_it_starts_is_refused(front_desk_client):
    patient = factories.PatientFactory()
    payer = factories.PayerFactory()
    data = {**COVERAGE, "payer": payer.pk, "end_date": "2023-12-31"}
    response = front_desk_client.post(f"/patients/{patient.pk}/coverage/new/", data)
    assert "before the effective date" in " ".join(response.context["form"].errors["end_date"])
    assert not Coverage.objects.exists()


def test_coverage_is_changed_through_its_edit_page(front_desk_client):
    coverage = factories.CoverageFactory()
    data = {
        **COVERAGE,
        "payer": coverage.payer_id,
        "member_id": "NEW-1",
        "order": "2",
        "end_date": "2030-01-01",
    }
    response = front_desk_client.post(f"/patients/coverage/{coverage.pk}/edit/", data)
    assert response.status_code == 302
    coverage.refresh_from_db()
    assert (coverage.member_id, coverage.order) == ("NEW-1", 2)


def test_the_guarantor_is_named_by_mrn(front_desk_client):
    parent = factories.PatientFactory(first_name="Parent")
    front_desk_client.post("/patients/new/", {**REGISTRATION, "guarantor_mrn": parent.mrn.lower()})
    child = Patient.objects.get(first_name="Maria")
    assert child.guarantor == parent
    assert (
        child.get_absolute_url()
        in front_desk_client.get(parent.get_absolute_url()).content.decode()
    )
    response = front_desk_client.post("/patients/new/", {**REGISTRATION, "guarantor_mrn": "NOPE"})
    assert "No patient has the MRN NOPE" in response.content.decode()


def test_front_desk_registers_patients(front_desk_client):
    assert front_desk_client.get("/patients/new/").status_code == 200
    assert front_desk_client.post("/patients/new/", REGISTRATION).status_code == 302
    assert Patient.objects.count() == 1


@pytest.mark.parametrize("role_key", ["marketing", "hr", "bookkeeper", "owner"])
def test_roles_without_patient_access_are_refused(client, make_user, role_key):
    client.force_login(make_user(role_key, two_factor_exempt=True))
    patient = factories.PatientFactory()
    assert client.get("/patients/").status_code == 403
    assert client.get(patient.get_absolute_url()).status_code == 403
    assert client.post("/patients/new/", REGISTRATION).status_code == 403
    assert Patient.objects.count() == 1
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.READ).exists()


def test_a_clinician_may_change_but_not_register_or_export(client, make_user):
    client.force_login(make_user("clinician", two_factor_exempt=True))
    assert client.get("/patients/new/").status_code == 403
    assert client.get("/patients/", {"export": "csv"}).status_code == 403
    patient = factories.PatientFactory()
    assert client.get(f"/patients/{patient.pk}/edit/").status_code == 200


def test_payers_are_archived_not_deleted(manager_client):
    payer = factories.PayerFactory()
    factories.CoverageFactory(payer=payer)
    manager_client.post(f"/payers/{payer.pk}/delete/")
    payer.refresh_from_db()
    assert payer.is_active is False


def test_referral_sources_are_listed_with_their_patient_counts(client, make_user):
    client.force_login(make_user("marketing", two_factor_exempt=True))
    source = factories.ReferralSourceFactory(name="Dr. Adams")
    factories.PatientFactory(referral_source=source)
    page = client.get("/referral-sources/").content.decode()
    assert "Dr. Adams" in page
    assert client.get(f"/referral-sources/{source.pk}/").status_code == 200
    response = client.post(
        "/referral-sources/new/", {"name": "Web", "kind": "web", "is_active": "on"}
    )
    assert response.status_code == 302


def test_a_short_number_finds_both_the_mrn_and_phone_numbers_starting_with_it():
    by_phone = factories.PatientFactory(last_name="Phone", mobile_phone="(123) 400-0000")
    by_mrn = factories.PatientFactory(last_name="Record", mrn="00001234", mobile_phone="")
    assert set(patient_search("1234")) == {by_phone, by_mrn}
    assert list(patient_search("00001234")) == [by_mrn]


def test_a_second_active_alert_of_the_same_kind_is_refused_with_a_reason(front_desk_client):
    alert = factories.PatientAlertFactory()
    response = front_desk_client.post(
        f"/patients/{alert.patient_id}/alerts/new/",
        {"kind": alert.kind, "severity": "info", "text": "Again"},
    )
    assert "already has an active alert of this kind" in response.content.decode()
    assert PatientAlert.objects.count() == 1


def test_other_pages_show_the_patient_banner_with_one_template_tag():
    from django.template import Context, Template

    alert = factories.PatientAlertFactory(severity="critical", text="Latex allergy")
    html = Template("{% load patient_tags %}{% patient_banner patient %}").render(
        Context({"patient": alert.patient})
    )
    assert alert.patient.mrn in html
    assert "badge-bad" in html and "Latex allergy" in html
    assert alert.patient.get_absolute_url() in html


def test_pages_carry_no_inline_style_or_script(front_desk_client):
    patient = factories.PatientFactory()
    factories.PatientAlertFactory(patient=patient)
    for url in ("/patients/", "/patients/new/", patient.get_absolute_url(), "/patients/import/"):
        body = front_desk_client.get(url).content.decode()
        assert "style=" not in body, url
        assert "<script>" not in body, url


def test_the_csv_export_has_the_columns_the_screen_leaves_out(manager_client):
    factories.PatientFactory(email="hidden@patients.test", home_phone="(555) 999-0000")
    page = manager_client.get("/patients/").content.decode()
    assert "hidden@patients.test" not in page
    export = manager_client.get("/patients/", {"export": "csv"})
    rows = b"".join(export.streaming_content).decode()
    assert "hidden@patients.test" in rows and "(555) 999-0000" in rows


def test_a_refused_edit_leaves_the_banner_showing_the_saved_record(front_desk_client):
    patient = factories.PatientFactory(last_name="Savedname")
    data = {**REGISTRATION, "last_name": "Typo", "email": "bad@", "status": "active"}
    body = front_desk_client.post(f"/patients/{patient.pk}/edit/", data).content.decode()
    banner = body[body.index('class="patient-banner"') :]
    assert "Savedname" in banner[: banner.index("</section>")]
    patient.refresh_from_db()
    assert patient.last_name == "Savedname"
