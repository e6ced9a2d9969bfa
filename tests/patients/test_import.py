"""Patient import from CSV: valid rows in, each bad row reported with its line and reason,
all-or-nothing, whole-file refusals, the command line and the background upload page."""

import io
import signal

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from practicedesk.core.models import AuditEvent, JobProgress
from practicedesk.core.services import roles_sync
from practicedesk.patients.importers import ImportFileError, patients_import
from practicedesk.patients.models import ConsentEvent, Patient
from practicedesk.patients.selectors import patient_search
from practicedesk.patients.tasks import patients_import_stored

pytestmark = pytest.mark.django_db

HEADER = (
    "last_name,first_name,middle_name,preferred_name,date_of_birth,sex_at_birth,"
    "gender_identity,address_line1,address_line2,city,state,postal_code,mobile_phone,"
    "home_phone,email,preferred_language,reminder_email_consent,marketing_email_consent,"
    "external_id"
)
GOOD = (
    "Smith,John,Q,Jack,1980-05-17,M,male,1 Elm St,,Springfield,IL,62701,(555) 201-0001,,"
    "john@example.test,,yes,no,OLD-1"
)
GOOD_US_DATE = (
    "Jones,Mary,,,05/17/1981,F,,2 Oak St,Apt 4,Chatham,il,62629,555.201.0002,555 201 0003,,"
    "Spanish,no,yes,OLD-2"
)


def csv_bytes(*rows: str, header: str = HEADER) -> io.BytesIO:
    return io.BytesIO(("\n".join([header, *rows]) + "\n").encode())


def run(*rows, all_or_nothing=False, header=HEADER):
    return patients_import(
        acting_user=None, source=csv_bytes(*rows, header=header), all_or_nothing=all_or_nothing
    )


def test_valid_rows_are_imported_with_mrns_search_columns_and_consents():
    result = run(GOOD, GOOD_US_DATE)
    assert (result.rows, result.imported, result.errors) == (2, 2, [])
    smith = Patient.objects.get(last_name="Smith")
    jones = Patient.objects.get(last_name="Jones")
    assert smith.mrn.isdigit() and int(jones.mrn) == int(smith.mrn) + 1
    assert (result.first_mrn, result.last_mrn) == (smith.mrn, jones.mrn)
    assert str(jones.date_of_birth) == "1981-05-17"
    assert jones.state == "IL" and jones.preferred_language == "Spanish"
    assert smith.preferred_language == "English" and smith.gender_identity == "male"
    # The normalised search columns are those save() would have written.
    for patient in (smith, jones):
        expected = Patient.objects.get(pk=patient.pk)
        expected.refresh_search_fields()
        assert (patient.search_name, patient.phone_digits) == (
            expected.search_name,
            expected.phone_digits,
        )
    assert list(patient_search("smith jo")) == [smith]
    assert list(patient_search("555 201 0003")) == [jones]
    assert {(c.patient.last_name, c.kind) for c in ConsentEvent.objects.all()} == {
        ("Smith", ConsentEvent.Kind.REMINDER_EMAIL),
        ("Jones", ConsentEvent.Kind.MARKETING_EMAIL),
    }
    event = AuditEvent.objects.get(name="patients_import")
    assert event.detail["imported"] == 2


def test_each_bad_row_is_reported_with_its_line_number_and_reason_and_the_rest_imported():
    future = GOOD.replace("1980-05-17", "2999-01-01")
    bad_email = GOOD_US_DATE.replace(",,Spanish", ",mary@,Spanish")
    bad_phone = GOOD.replace("(555) 201-0001", "12345").replace("OLD-1", "OLD-3")
    no_name = GOOD.replace("Smith,John", ",John")
    bad_words = GOOD.replace(",M,male,", ",X,robot,").replace(",yes,no,", ",maybe,no,")
    too_many = GOOD + ",extra"
    result = run(GOOD, future, bad_email, bad_phone, no_name, bad_words, too_many, GOOD_US_DATE)
    assert result.imported == 2
    assert result.refused == 6
    report = [str(error) for error in result.errors]
    assert report == [
        "line 3 (external id OLD-1): date_of_birth: A date of birth cannot be in the future.",
        "line 4 (external id OLD-2): email: Enter a valid email address.",
        "line 5 (external id OLD-3): mobile_phone: Enter a 10-digit phone number, for example "
        "(555) 201-3344 or 555-201-3344 x12.",
        "line 6 (external id OLD-1): last_name: This field cannot be blank.",
        "line 7 (external id OLD-1): sex_at_birth: “X” is not one of F, M or U.",
        "line 7 (external id OLD-1): gender_identity: “robot” is not one of female, male, "
        "non_binary, transgender_female, transgender_male, other or declined.",
        "line 7 (external id OLD-1): reminder_email_consent: “maybe” is not yes or no.",
        "line 8: has 20 values but the header names 19 columns.",
    ]
    assert Patient.objects.count() == 2


def test_line_numbers_count_lines_of_the_file_even_with_quoted_line_breaks_and_blank_lines():
    multi_line = GOOD.replace("1 Elm St", '"1 Elm St\nBack door"')
    result = run(multi_line, "", GOOD.replace("1980-05-17", "17.05.1980"))
    assert [str(error) for error in result.errors] == [
        "line 5 (external id OLD-1): date_of_birth: Enter the date as YYYY-MM-DD or "
        "MM/DD/YYYY, for example 1980-05-17."
    ]
    assert Patient.objects.get().address_line1 == "1 Elm St\nBack door"


def test_all_or_nothing_imports_nothing_when_any_row_is_bad():
    result = run(GOOD, GOOD_US_DATE, GOOD.replace("1980-05-17", "2999-01-01"), all_or_nothing=True)
    assert result.imported == 0
    assert result.refused == 1
    assert "Nothing imported" in result.summary()
    assert not Patient.objects.exists()
    assert not ConsentEvent.objects.exists()


def test_all_or_nothing_imports_everything_when_every_row_is_good():
    result = run(GOOD, GOOD_US_DATE, all_or_nothing=True)
    assert result.imported == Patient.objects.count() == 2


def test_all_or_nothing_rolls_back_rows_already_inserted_in_earlier_batches(monkeypatch):
    from practicedesk.patients import importers

    monkeypatch.setattr(importers, "BATCH_SIZE", 2)
    result = run(GOOD, GOOD, GOOD, GOOD, GOOD.replace(",M,", ",Q,"), all_or_nothing=True)
    assert result.refused == 1
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"   \n", "The file is empty."),
        (b"PK\x03\x04\x14\x00binary", "not a CSV file"),
        (b"last_name\x00first", "not a CSV file"),
        (HEADER.encode() + b"\n", "header line but no patient rows"),
        (b"name;dob;sex\nSmith;1980-01-01;M\n", "separated by semicolons"),
        (b"name,dob\nSmith,1980-01-01\n", "none of its names is a known column"),
        (
            b"last_name,first_name,date_of_birth\nSmith,John,1980-01-01\n",
            "Required columns missing: sex_at_birth, address_line1, city, state, postal_code.",
        ),
        (HEADER.encode() + b"\n" + GOOD.encode() + b"\n\xff\xfe bad\n", "Line 3 is not UTF-8"),
    ],
)
def test_a_bad_file_is_refused_with_one_clear_error_and_nothing_imported(content, message):
    with pytest.raises(ImportFileError, match=message.replace(".", r"\.")):
        patients_import(acting_user=None, source=io.BytesIO(content))
    assert not Patient.objects.exists()


def test_a_byte_order_mark_and_upper_case_column_names_are_accepted():
    content = "\ufeff" + HEADER.upper() + "\n" + GOOD + "\n"
    result = patients_import(acting_user=None, source=io.BytesIO(content.encode()))
    assert result.imported == 1


def test_unknown_columns_are_ignored_and_reported():
    header = HEADER + ",favourite_colour"
    result = run(GOOD + ",blue", header=header)
    assert result.imported == 1
    assert result.ignored_columns == ["favourite_colour"]


def test_the_import_inserts_in_batches_never_a_query_per_row():
    """The 100,000-row benchmark needs batches: 490 more rows cost a few statements more
    (SQLite caps the values of one INSERT), never a query per row."""

    def queries(count: int) -> int:
        rows = [GOOD.replace("(555) 201-0001", f"(555) 300-{i:04d}") for i in range(count)]
        with CaptureQueriesContext(connection) as captured:
            assert run(*rows).imported == count
        return len(captured)

    assert queries(500) - queries(10) < 490 // 10


@pytest.mark.parametrize("all_or_nothing", [False, True])
def test_the_import_costs_a_fixed_number_of_queries_per_batch_whatever_its_rows(
    monkeypatch, all_or_nothing
):
    """Every statement of an import belongs to a batch (its block of MRNs, one insert of its
    patients, one of their consents) or to the file (the audit event): rows only decide how
    many batches there are."""
    from practicedesk.patients import importers

    monkeypatch.setattr(importers, "BATCH_SIZE", 20)

    def queries(count: int) -> int:
        rows = [GOOD.replace("(555) 201-0001", f"(555) 300-{i:04d}") for i in range(count)]
        with CaptureQueriesContext(connection) as captured:
            assert run(*rows, all_or_nothing=all_or_nothing).imported == count
        return len(captured)

    queries(1)  # the MRN counter's row is created by the first import
    one_batch = queries(20)
    assert queries(3) == one_batch
    per_batch = queries(40) - one_batch
    assert queries(60) - one_batch == 2 * per_batch
    assert 0 < per_batch <= 12


def write_csv(tmp_path, *rows, name="patients.csv"):
    path = tmp_path / name
    path.write_bytes(csv_bytes(*rows).getvalue())
    return path


def test_the_command_imports_and_lists_bad_rows(tmp_path, capsys):
    path = write_csv(tmp_path, GOOD, GOOD.replace("1980-05-17", "2999-01-01"))
    with pytest.raises(CommandError) as refused:
        call_command("import", "patients", str(path))
    assert refused.value.returncode == 2
    out, err = capsys.readouterr()
    assert "Imported 1 of 2 patients" in out
    assert (
        "line 3 (external id OLD-1): date_of_birth: A date of birth cannot be in the future."
        in (err)
    )
    assert Patient.objects.count() == 1


def test_the_command_with_all_or_nothing_imports_nothing_on_a_bad_row(tmp_path, capsys):
    path = write_csv(tmp_path, GOOD, GOOD.replace("john@example.test", "john@"))
    with pytest.raises(CommandError, match="Nothing imported") as refused:
        call_command("import", "patients", str(path), "--all-or-nothing")
    assert refused.value.returncode == 1
    assert "line 3" in capsys.readouterr().err
    assert not Patient.objects.exists()


def test_the_command_refuses_a_bad_file_and_a_missing_file(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("hello,world\n")
    with pytest.raises(CommandError, match="none of its names is a known column"):
        call_command("import", "patients", str(path))
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("import", "patients", str(tmp_path / "missing.csv"))


def test_the_command_succeeds_quietly_when_every_row_is_good(tmp_path, capsys):
    path = write_csv(tmp_path, GOOD, GOOD_US_DATE)
    call_command("import", "patients", str(path))
    assert "Imported 2 of 2 patients" in capsys.readouterr().out


@pytest.fixture
def front_desk_client(client, make_user):
    client.force_login(make_user("front_desk", two_factor_exempt=True))
    return client


def upload(client, content: bytes, **data):
    file = io.BytesIO(content)
    file.name = "patients.csv"
    return client.post("/patients/import/", {"file": file, **data})


def test_the_upload_page_documents_the_columns(front_desk_client):
    page = front_desk_client.get("/patients/import/").content.decode()
    for name in ("last_name", "date_of_birth", "reminder_email_consent", "external_id"):
        assert f"<code>{name}</code>" in page


def test_an_upload_runs_as_a_background_job_and_reports_its_bad_rows(front_desk_client):
    content = csv_bytes(GOOD, GOOD.replace("1980-05-17", "2999-01-01")).getvalue()
    response = upload(front_desk_client, content)
    job = DBTaskResult.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/patients/import/{job.pk}/"
    assert job.task_path == "practicedesk.patients.tasks.patients_import_file"
    kwargs = job.args_kwargs["kwargs"]
    assert default_storage.exists(kwargs["storage_name"])
    assert not Patient.objects.exists()  # nothing happens until the worker runs it
    waiting = front_desk_client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 2s"' in waiting

    result = patients_import_stored(
        job.pk,
        storage_name=kwargs["storage_name"],
        all_or_nothing=kwargs["all_or_nothing"],
        user_id=kwargs["user_id"],
    )
    DBTaskResult.objects.filter(pk=job.pk).update(
        status=TaskResultStatus.SUCCESSFUL, return_value=result
    )
    assert not default_storage.exists(kwargs["storage_name"])
    assert Patient.objects.count() == 1
    progress = JobProgress.objects.get(task_result_id=str(job.pk))
    assert (progress.current, progress.total) == (2, 2)
    page = front_desk_client.get(response["Location"]).content.decode()
    assert "Imported 1 of 2 patients" in page
    assert (
        "line 3 (external id OLD-1): date_of_birth: A date of birth cannot be in the future."
        in (page)
    )
    assert "hx-trigger" not in page
    assert "style=" not in page and "<script>" not in page
    event = AuditEvent.objects.get(name="patients_import")
    assert event.user.role_names == ["Front desk"]


def test_an_upload_without_the_required_columns_is_refused_at_once(front_desk_client):
    response = upload(front_desk_client, b"last_name,first_name\nSmith,John\n")
    assert "Required columns missing" in response.content.decode()
    assert not DBTaskResult.objects.exists()


def test_marketing_may_not_import_patients(client, make_user):
    client.force_login(make_user("marketing", two_factor_exempt=True))
    assert client.get("/patients/import/").status_code == 403
    assert upload(client, csv_bytes(GOOD).getvalue()).status_code == 403
    assert not DBTaskResult.objects.exists()


@pytest.fixture
def restore_signal_handlers():
    names = [signal.SIGINT, signal.SIGTERM] + (
        [signal.SIGQUIT] if hasattr(signal, "SIGQUIT") else []
    )
    saved = {name: signal.getsignal(name) for name in names}
    yield
    for name, handler in saved.items():
        signal.signal(name, handler)


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_an_uploaded_import_to_the_end(client, make_user, restore_signal_handlers):
    roles_sync()  # an earlier transactional test may have flushed the roles
    client.force_login(make_user("front_desk", two_factor_exempt=True))
    upload(client, csv_bytes(GOOD, GOOD_US_DATE).getvalue(), all_or_nothing="on")
    call_command(
        "worker", batch=True, startup_delay=False, reload=False, worker_id="imp", verbosity=0
    )
    job = DBTaskResult.objects.get()
    assert job.status == TaskResultStatus.SUCCESSFUL, job.traceback
    assert job.return_value["imported"] == 2
    assert job.return_value["all_or_nothing"] is True
    assert Patient.objects.count() == 2


def test_a_file_that_breaks_after_its_header_is_reported_by_the_job_and_deleted():
    stored = default_storage.save(
        "imports/patients/broken.csv",
        io.BytesIO(b"".join([csv_bytes(GOOD).getvalue(), b"\xff\xfe not text\n"])),
    )
    job = DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="practicedesk.patients.tasks.patients_import_file",
        backend_name="default",
        run_after=timezone.now(),
    )
    result = patients_import_stored(job.pk, storage_name=stored, all_or_nothing=False, user_id=None)
    assert result["file_error"].startswith("Line 3 is not UTF-8 text")
    assert result["imported"] == 0
    assert not Patient.objects.exists()
    assert not default_storage.exists(stored)
