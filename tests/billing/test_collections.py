"""Collections: the daily run opens cases and moves them through the notices (each letter a
stored PDF), disputes stop everything, calls respect the contact hours, promises are kept
or broken, agency placement is an audited export that leaves the ledger alone, and a
bad-debt write-off posts only with a second person's approval."""

import csv
import datetime
import hashlib
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from practicedesk.billing.attention import attention_items
from practicedesk.billing.collections import (
    collection_agency_place,
    collection_contact_log,
    collection_dispute,
    collection_dispute_resolve,
    collection_rules,
    collection_rules_set,
    collection_write_off_decide,
    collection_write_off_request,
    collections_daily,
)
from practicedesk.billing.ledger import entry_post
from practicedesk.billing.models import (
    CollectionCase,
    CollectionContact,
    CollectionLetter,
    CollectionWriteOff,
    LedgerEntry,
)
from practicedesk.billing.selectors import patient_balance
from practicedesk.core.models import AuditEvent
from practicedesk.core.navigation import menu_for
from tests import factories
from tests.billing.pdf_text import pdf_text

pytestmark = pytest.mark.django_db
D = Decimal
Stage = CollectionCase.Stage


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def local_noon() -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time(12)))


def age_stage(case: CollectionCase, days: int) -> None:
    CollectionCase.objects.filter(pk=case.pk).update(
        stage_changed_at=timezone.now() - datetime.timedelta(days=days)
    )


@pytest.fixture
def biller(make_user):
    return make_user("biller", username="bea", two_factor_exempt=True)


@pytest.fixture
def manager(make_user):
    return make_user("manager", username="mia", two_factor_exempt=True)


@pytest.fixture
def owing():
    factories.OrganizationFactory(name="Riverside Family Practice")
    patient = factories.PatientFactory(first_name="Olive", last_name="Owens")
    factories.patient_charge(patient, "150.00", date_of_service=days_ago(120))
    factories.patient_charge(patient, "50.00", date_of_service=days_ago(100))
    return patient


def open_case(patient) -> CollectionCase:
    collections_daily()
    return CollectionCase.objects.get(patient=patient, status="open")


def test_the_daily_run_opens_cases_sends_letters_and_moves_them_through_the_stages(owing):
    small = factories.PatientFactory(first_name="Small")
    factories.patient_charge(small, "10.00", date_of_service=days_ago(120))
    recent = factories.PatientFactory(first_name="Recent")
    factories.patient_charge(recent, "500.00", date_of_service=days_ago(30))
    planned = factories.PatientFactory(first_name="Planned")
    factories.patient_charge(planned, "300.00", date_of_service=days_ago(200))
    factories.PaymentPlanFactory(patient=planned, status="active")
    assert [item.key for item in attention_items(timezone.localdate())].count(
        f"billing.collections.{owing.pk}"
    ) == 1

    counts = collections_daily()

    case = CollectionCase.objects.get()
    assert (case.patient, case.stage, case.balance_at_open) == (
        owing,
        Stage.FIRST_NOTICE,
        D("200.00"),
    )
    assert counts["opened"] == 1 and counts["lettered"] == 1
    (letter,) = case.letters.all()
    content = letter.file.read()
    assert hashlib.sha256(content).hexdigest() == letter.sha256
    text = pdf_text(content)
    for expected in (
        "Riverside Family Practice",
        "Olive Owens",
        "200.00",
        "past due",
        "How to pay",
    ):
        assert expected in text, expected
    assert case.contacts.get().kind == CollectionContact.Kind.LETTER
    assert [change.to_stage for change in case.stage_changes.all()] == [Stage.FIRST_NOTICE]
    # Idempotent: a second run the same day changes nothing.
    collections_daily()
    assert (CollectionCase.objects.count(), CollectionLetter.objects.count()) == (1, 1)

    age_stage(case, 31)
    collections_daily()
    case.refresh_from_db()
    assert case.stage == Stage.SECOND_NOTICE
    assert list(case.letters.values_list("stage", flat=True)) == [
        Stage.FIRST_NOTICE,
        Stage.SECOND_NOTICE,
    ]
    age_stage(case, 31)
    collections_daily()
    case.refresh_from_db()
    assert case.stage == Stage.FINAL_NOTICE
    # The daily run never places an account with an agency by itself.
    age_stage(case, 90)
    collections_daily()
    case.refresh_from_db()
    assert case.stage == Stage.FINAL_NOTICE
    assert f"billing.ready_for_agency.{case.pk}" in {
        item.key for item in attention_items(timezone.localdate())
    }

    entry_post(
        kind=LedgerEntry.Kind.PAYMENT,
        amount=D("-200.00"),
        responsibility="patient",
        patient_id=owing.pk,
    )
    collections_daily()
    case.refresh_from_db()
    assert (case.status, case.closed_reason) == ("closed", "Balance paid in full")


def test_a_dispute_stops_letters_stage_moves_and_contact_attempts_until_resolved(owing, biller):
    case = open_case(owing)
    with pytest.raises(ValidationError, match="Say what the patient disputes"):
        collection_dispute(acting_user=biller, case=case, reason="  ")
    collection_dispute(acting_user=biller, case=case, reason="Says the visit was never billed")
    age_stage(case, 200)
    letters = CollectionLetter.objects.count()

    collections_daily()

    case.refresh_from_db()
    assert case.stage == Stage.FIRST_NOTICE and CollectionLetter.objects.count() == letters
    for kind in ("call", "email", "promise"):
        with pytest.raises(ValidationError, match="disputed"):
            collection_contact_log(
                acting_user=biller, case=case, kind=kind, note="tried", now=local_noon()
            )
    note = collection_contact_log(acting_user=biller, case=case, kind="note", note="Sent the EOB")
    assert note.kind == "note"
    with pytest.raises(ValidationError, match="disputed"):
        collection_agency_place(acting_user=biller, case=case, agency_name="Acme Recovery")

    collection_dispute_resolve(acting_user=biller, case=case, resolution="EOB confirms the balance")
    case.refresh_from_db()
    assert not case.disputed and case.stage_changed_at > timezone.now() - datetime.timedelta(
        minutes=1
    )
    assert (
        AuditEvent.objects.filter(
            name__in=["collection_dispute", "collection_dispute_resolve"]
        ).count()
        == 2
    )


def test_calls_outside_the_contact_hours_are_refused_and_promises_are_kept_or_broken(
    owing, biller, settings
):
    settings.COLLECTIONS_CONTACT_HOURS = "8-21"
    case = open_case(owing)
    late = timezone.make_aware(
        datetime.datetime.combine(timezone.localdate(), datetime.time(21, 15))
    )
    before = CollectionContact.objects.count()
    with pytest.raises(ValidationError, match="only from 8:00 to 21:00 local time; it is 21:15"):
        collection_contact_log(
            acting_user=biller, case=case, kind="call", note="No answer", now=late
        )
    assert CollectionContact.objects.count() == before
    call = collection_contact_log(
        acting_user=biller, case=case, kind="call", note="Left a message", now=local_noon()
    )
    assert call.at == local_noon()

    for amount, day, message in (
        ("0", timezone.localdate(), "more than 0.00"),
        ("500.00", timezone.localdate(), "at most the balance"),
        ("abc", timezone.localdate(), "amount of money"),
        ("50.00", days_ago(1), "from today"),
        ("50.00", None, "from today"),
    ):
        with pytest.raises(ValidationError, match=message):
            collection_contact_log(
                acting_user=biller,
                case=case,
                kind="promise",
                promise_amount=amount,
                promise_date=day,
            )
    kept = collection_contact_log(
        acting_user=biller,
        case=case,
        kind="promise",
        promise_amount="40.00",
        promise_date=timezone.localdate() + datetime.timedelta(days=7),
    )
    broken = collection_contact_log(
        acting_user=biller,
        case=case,
        kind="promise",
        promise_amount="100.00",
        promise_date=timezone.localdate(),
    )
    factories.PaymentFactory(
        patient=owing, amount=D("60.00"), received_on=timezone.localdate(), status="received"
    )
    counts = collections_daily(today=timezone.localdate() + datetime.timedelta(days=4))

    kept.refresh_from_db()
    broken.refresh_from_db()
    assert (kept.promise_status, broken.promise_status) == ("kept", "broken")
    assert counts["promises_kept"] == counts["promises_broken"] == 1
    items = {item.key: item for item in attention_items(timezone.localdate())}
    assert f"billing.broken_promise.{broken.pk}" in items


def test_placing_with_an_agency_exports_the_account_and_leaves_the_ledger_alone(
    owing, biller, client
):
    case = open_case(owing)
    with pytest.raises(ValidationError, match="only after its final notice"):
        collection_agency_place(acting_user=biller, case=case, agency_name="Acme Recovery")
    CollectionCase.objects.filter(pk=case.pk).update(stage=Stage.FINAL_NOTICE)
    with pytest.raises(ValidationError, match="Name the collection agency"):
        collection_agency_place(acting_user=biller, case=case, agency_name=" ")
    entries = LedgerEntry.objects.count()

    collection_agency_place(acting_user=biller, case=case, agency_name="Acme Recovery")

    case.refresh_from_db()
    assert (case.stage, case.placed_balance, case.agency_name) == (
        Stage.AGENCY,
        D("200.00"),
        "Acme Recovery",
    )
    assert LedgerEntry.objects.count() == entries and patient_balance(owing.pk) == D("200.00")
    assert case.letters.filter(stage=Stage.AGENCY).count() == 1
    export = AuditEvent.objects.get(name="collection_agency_export")
    assert export.action == AuditEvent.Action.EXPORT and export.user == biller
    client.force_login(biller)
    response = client.get(reverse("billing:collection_agency_export", args=[case.pk]))
    assert response["Content-Type"].startswith("text/csv")
    (row,) = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert (row["account"], row["last_name"], row["balance"]) == (owing.mrn, "Owens", "200.00")
    assert row["date_of_birth"] == "1980-05-17" and row["oldest_service_date"] == str(days_ago(120))
    assert row["phone"] == owing.mobile_phone and row["placed_on"] == str(timezone.localdate())
    with pytest.raises(ValidationError, match="already placed"):
        collection_agency_place(acting_user=biller, case=case, agency_name="Other")


def test_a_bad_debt_write_off_posts_only_when_another_manager_approves(
    owing, biller, manager, make_user
):
    case = open_case(owing)
    with pytest.raises(ValidationError, match="Say why"):
        collection_write_off_request(acting_user=biller, case=case, reason="")
    request = collection_write_off_request(
        acting_user=biller, case=case, reason="Patient moved abroad, no address"
    )
    assert request.amount == D("200.00") and request.status == "pending"
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.WRITE_OFF).exists()
    with pytest.raises(ValidationError, match="already waiting"):
        collection_write_off_request(acting_user=biller, case=case, reason="again")
    items = {item.key: item for item in attention_items(timezone.localdate())}
    assert items[f"billing.write_off_request.{request.pk}"].action == "approve"

    with pytest.raises(ValidationError, match="Only a practice manager"):
        collection_write_off_decide(acting_user=biller, request=request, approve=True)
    with pytest.raises(ValidationError, match="Say why the write-off is rejected"):
        collection_write_off_decide(acting_user=manager, request=request, approve=False)
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.WRITE_OFF).exists()

    collection_write_off_decide(acting_user=manager, request=request, approve=True, note="OK")

    request.refresh_from_db()
    assert (request.status, request.decided_by, request.posted_amount) == (
        "approved",
        manager,
        D("200.00"),
    )
    offs = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.WRITE_OFF)
    assert sorted(entry.amount for entry in offs) == [D("-150.00"), D("-50.00")]
    assert {entry.approved_by for entry in offs} == {manager}
    assert patient_balance(owing.pk) == D("0.00")
    case.refresh_from_db()
    assert (case.status, case.closed_reason) == ("closed", "Written off as bad debt")
    with pytest.raises(ValidationError, match="already approved"):
        collection_write_off_decide(acting_user=manager, request=request, approve=True)

    # A manager who asked cannot approve their own request.
    other = factories.PatientFactory()
    factories.patient_charge(other, "80.00", date_of_service=days_ago(150))
    own = collection_write_off_request(acting_user=manager, case=open_case(other), reason="Dead")
    with pytest.raises(ValidationError, match="another practice manager"):
        collection_write_off_decide(acting_user=manager, request=own, approve=True)
    assert CollectionWriteOff.objects.get(pk=own.pk).status == "pending"


def test_stage_rules_are_a_managers_and_drive_the_first_notice(owing, biller, manager):
    assert collection_rules()["first_notice"] == 90
    with pytest.raises(ValidationError, match="Only a practice manager"):
        collection_rules_set(acting_user=biller, days=dict.fromkeys(Stage.values, 30))
    with pytest.raises(ValidationError):
        collection_rules_set(
            acting_user=manager, days={**dict.fromkeys(Stage.values, 30), "agency": 0}
        )
    collection_rules_set(
        acting_user=manager, days={**dict.fromkeys(Stage.values, 30), "first_notice": 150}
    )
    assert collection_rules()["first_notice"] == 150
    assert collections_daily().get("opened", 0) == 0


def test_the_pages_queue_case_actions_and_letters_are_role_checked(
    owing, biller, manager, client, make_user, settings
):
    case = open_case(owing)
    hour = timezone.localtime().hour
    settings.COLLECTIONS_CONTACT_HOURS = f"{hour + 1}-{hour + 2}" if hour < 22 else "0-1"
    client.force_login(biller)
    queue = client.get(reverse("billing:collection_queue")).content.decode()
    assert "Owens" in queue and "First notice" in queue
    detail = client.get(case.get_absolute_url()).content.decode()
    assert "Log a contact" in detail and "Request a write-off" in detail
    assert AuditEvent.objects.filter(action="read", object_id=str(case.pk)).exists()

    response = client.post(
        reverse("billing:collection_contact_log", args=[case.pk]), {"kind": "call", "note": "Hi"}
    )
    assert response.status_code == 200
    assert "Collection calls are allowed only from" in response.content.decode()
    assert not case.contacts.filter(kind="call").exists()

    letter = case.letters.get()
    response = client.get(reverse("billing:collection_letter_download", args=[letter.pk]))
    assert response.content.startswith(b"%PDF") and response.content == letter.file.read()
    assert AuditEvent.objects.filter(name="collection_letter_reprint").count() == 1

    client.post(reverse("billing:collection_write_off_request", args=[case.pk]), {"reason": "Gone"})
    request = CollectionWriteOff.objects.get()
    assert (
        client.get(reverse("billing:collection_write_off_decide", args=[request.pk])).status_code
        == 403
    )
    client.force_login(manager)
    rules = {"first_notice": 120, "second_notice": 20, "final_notice": 20, "agency": 0}
    response = client.post(reverse("billing:collection_rules"), rules)
    assert "Ensure this value is greater than or equal to 1" in response.content.decode()
    response = client.post(reverse("billing:collection_rules"), {**rules, "agency": 45})
    assert response.status_code == 302 and collection_rules()["agency"] == 45
    response = client.post(
        reverse("billing:collection_write_off_decide", args=[request.pk]),
        {"decision": "approve", "note": ""},
    )
    assert response.status_code == 302
    assert patient_balance(owing.pk) == D("0.00")

    front_desk = make_user("front_desk", two_factor_exempt=True)
    client.force_login(front_desk)
    assert client.get(reverse("billing:collection_queue")).status_code == 403
    menu = {entry.label for _, entries in menu_for(front_desk) for entry in entries}
    assert "Collections" not in menu and "Statements" not in menu
    assert client.get(reverse("billing:collection_rules")).status_code == 403


def test_the_work_queue_takes_a_fixed_number_of_queries(
    owing, biller, client, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    collections_daily()
    client.force_login(biller)
    url = reverse("billing:collection_queue")
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for index in range(6):
        patient = factories.PatientFactory(first_name=f"More{index}")
        factories.patient_charge(patient, "90.00", date_of_service=days_ago(130))
    collections_daily()
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url).content.decode()
    assert page.count("First notice") >= 7
