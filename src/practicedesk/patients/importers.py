"""Import patients from a CSV file (``practicedesk import patients FILE.csv`` and the upload page).

The file is UTF-8 text (a byte-order mark is fine: "CSV UTF-8" from a spreadsheet) with one
header line naming the columns, in any order; names are not case-sensitive. Columns:

=========================  ========  ===================================================
column                     required  meaning
=========================  ========  ===================================================
last_name                  yes       legal last name
first_name                 yes       legal first name
middle_name                          middle name
preferred_name                       the name the patient goes by
date_of_birth              yes       YYYY-MM-DD or MM/DD/YYYY; not in the future
sex_at_birth               yes       F, M or U (Female, Male, Unknown)
gender_identity                      female, male, non_binary, transgender_female,
                                     transgender_male, other or declined
address_line1              yes       street address
address_line2                        apartment, suite...
city                       yes       city
state                      yes       two-letter state code, e.g. NY
postal_code                yes       5-digit ZIP code or ZIP+4
mobile_phone                         10-digit phone number, any punctuation
home_phone                           10-digit phone number, any punctuation
email                                email address
preferred_language                   empty means English
reminder_email_consent               yes or no (empty: no): appointment reminders by email
marketing_email_consent              yes or no (empty: no): marketing email
external_id                          the patient's id in the old system; only used to
                                     name the row in the error report
=========================  ========  ===================================================

Every row is checked by the same rules as the registration form. Each bad row is reported as
``line N: <column>: <reason>`` (N counts lines of the file, the header being line 1). Without
``--all-or-nothing`` the valid rows are imported and the bad ones listed; with it, one bad row
means nothing is imported. A file that is not a CSV, is empty, or lacks a required column is
refused as a whole before anything is imported.

Rows are inserted in batches of 1,000 with one MRN reservation per batch (COPY on PostgreSQL,
one prepared INSERT on SQLite), so a file of 100,000 rows imports in seconds. Without
``--all-or-nothing`` each batch commits on its own; the import as a whole is one audit event
(``patients_import``) with its counts and MRN range.
"""

import codecs
import csv
import datetime
import os
import re
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from practicedesk.core.models import AuditEvent, User
from practicedesk.core.services import audit_event_record
from practicedesk.patients.models import ConsentEvent, Patient

BATCH_SIZE = 1000
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
MAX_REPORTED_ERRORS = 1000
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    meaning: str


COLUMNS: tuple[Column, ...] = (
    Column("last_name", True, "Legal last name"),
    Column("first_name", True, "Legal first name"),
    Column("middle_name", False, "Middle name"),
    Column("preferred_name", False, "The name the patient goes by"),
    Column("date_of_birth", True, "YYYY-MM-DD or MM/DD/YYYY; not in the future"),
    Column("sex_at_birth", True, "F, M or U (Female, Male, Unknown)"),
    Column(
        "gender_identity",
        False,
        "female, male, non_binary, transgender_female, transgender_male, other or declined",
    ),
    Column("address_line1", True, "Street address"),
    Column("address_line2", False, "Apartment, suite…"),
    Column("city", True, "City"),
    Column("state", True, "Two-letter state code, e.g. NY"),
    Column("postal_code", True, "5-digit ZIP code or ZIP+4"),
    Column("mobile_phone", False, "10-digit phone number, any punctuation"),
    Column("home_phone", False, "10-digit phone number, any punctuation"),
    Column("email", False, "Email address"),
    Column("preferred_language", False, "Empty means English"),
    Column("reminder_email_consent", False, "yes or no (empty: no): reminders by email"),
    Column("marketing_email_consent", False, "yes or no (empty: no): marketing email"),
    Column("external_id", False, "The id in the old system; only used in the error report"),
)
COLUMN_NAMES = {column.name for column in COLUMNS}
REQUIRED_COLUMNS = tuple(column.name for column in COLUMNS if column.required)
TEXT_COLUMNS = (
    "last_name",
    "first_name",
    "middle_name",
    "preferred_name",
    "address_line1",
    "address_line2",
    "city",
    "postal_code",
    "mobile_phone",
    "home_phone",
    "email",
)
CONSENT_COLUMNS = {
    "reminder_email_consent": ConsentEvent.Kind.REMINDER_EMAIL,
    "marketing_email_consent": ConsentEvent.Kind.MARKETING_EMAIL,
}
YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0", ""}
SEX_WORDS = {"f": "F", "female": "F", "m": "M", "male": "M", "u": "U", "unknown": "U"}
GENDER_WORDS = {
    **{value: value for value in Patient.GenderIdentity.values},
    **{str(label).lower(): value for value, label in Patient.GenderIdentity.choices},
    **{value.replace("_", " "): value for value in Patient.GenderIdentity.values},
    **{value.replace("_", "-"): value for value in Patient.GenderIdentity.values},
}
GENDER_LIST = (
    ", ".join(Patient.GenderIdentity.values[:-1]) + " or " + Patient.GenderIdentity.values[-1]
)


class ImportFileError(Exception):
    """The file as a whole cannot be imported; the message says why in one sentence."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str
    external_id: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}"
        if self.external_id:
            where += f" (external id {self.external_id})"
        return (
            f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )


@dataclass
class ImportResult:
    all_or_nothing: bool = False
    rows: int = 0
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    first_mrn: str = ""
    last_mrn: str = ""

    @property
    def refused_lines(self) -> list[int]:
        return sorted({error.line for error in self.errors})

    @property
    def refused(self) -> int:
        return len(self.refused_lines)

    def summary(self) -> str:
        if self.all_or_nothing and self.errors:
            return (
                f"Nothing imported: {self.refused} of {self.rows} rows are wrong (all or nothing)."
            )
        text = f"Imported {self.imported} of {self.rows} patients"
        if self.imported:
            text += f" (MRN {self.first_mrn} to {self.last_mrn})"
        if self.refused:
            text += f"; {self.refused} rows refused"
        return text + "."

    def as_dict(self, *, max_errors: int = MAX_REPORTED_ERRORS) -> dict[str, Any]:
        """A JSON-ready summary (a background job's result); the error list is capped."""
        return {
            "all_or_nothing": self.all_or_nothing,
            "rows": self.rows,
            "imported": self.imported,
            "refused": self.refused,
            "first_mrn": self.first_mrn,
            "last_mrn": self.last_mrn,
            "ignored_columns": self.ignored_columns,
            "errors": [str(error) for error in self.errors[:max_errors]],
            "errors_total": len(self.errors),
            "summary": self.summary(),
        }


def _open(source: str | os.PathLike | IO[bytes]) -> IO[bytes]:
    """The file to read, checked to look like text; a path is opened here."""
    if isinstance(source, str | os.PathLike):
        try:
            handle = Path(source).open("rb")  # noqa: SIM115 - closed by patients_import
        except OSError as error:
            raise ImportFileError(f"{source} cannot be read: {error.strerror}.") from error
    else:
        handle = source
    handle.seek(0)
    sample = handle.read(SNIFF_BYTES)
    handle.seek(0)
    if not sample.strip():
        if handle is not source:
            handle.close()
        raise ImportFileError("The file is empty.")
    if b"\x00" in sample or sample.startswith(b"PK\x03\x04"):
        if handle is not source:
            handle.close()
        raise ImportFileError(
            "This is not a CSV file (it looks like a spreadsheet or other binary file); "
            "save it as “CSV UTF-8” and import that."
        )
    return handle


def _lines(handle: IO[bytes]) -> Iterator[str]:
    """The file's lines as text, decoded one by one so a bad byte is reported on its line."""
    handle.seek(0)
    for number, raw in enumerate(handle, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ImportFileError(
                f"Line {number} is not UTF-8 text; save the file as “CSV UTF-8” and import that."
            ) from error


def _header(reader: Iterator[list[str]]) -> list[str]:
    try:
        names = next(reader)
    except StopIteration as error:
        raise ImportFileError("The file is empty.") from error
    except csv.Error as error:
        raise ImportFileError(f"Line 1 cannot be read as CSV: {error}.") from error
    return [name.strip().lower().replace(" ", "_").replace("-", "_") for name in names]


def _check_header(names: list[str]) -> list[str]:
    """Refuse a header without the required columns; returns the unknown (ignored) names."""
    if len(names) == 1 and ";" in names[0]:
        raise ImportFileError(
            "The columns are separated by semicolons; save the file with commas (CSV)."
        )
    duplicated = sorted({name for name in names if name and names.count(name) > 1})
    if duplicated:
        raise ImportFileError(f"The header names a column twice: {', '.join(duplicated)}.")
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        if not COLUMN_NAMES & set(names):
            raise ImportFileError(
                "The first line must name the columns (last_name, first_name, date_of_birth, "
                "...); none of its names is a known column."
            )
        raise ImportFileError(
            f"Required column{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}."
        )
    return [name for name in names if name and name not in COLUMN_NAMES]


def csv_header_check(source: IO[bytes]) -> list[str]:
    """Check a file's first line at once (the upload page), before it is queued for import.
    Returns the names of columns that will be ignored."""
    return _check_header(_header(csv.reader(_lines(_open(source)))))


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def _date_value(raw: str) -> datetime.date:
    """YYYY-MM-DD or MM/DD/YYYY (the forms the search box takes too), read without strptime:
    an import reads one per row."""
    try:
        if ISO_DATE.fullmatch(raw):
            return datetime.date.fromisoformat(raw)
        match = US_DATE.fullmatch(raw)
        if match:
            month, day, year = (int(part) for part in match.groups())
            return datetime.date(year, month, day)
    except ValueError:
        pass
    raise ValueError("Enter the date as YYYY-MM-DD or MM/DD/YYYY, for example 1980-05-17.")


def _choice_value(raw: str, words: dict[str, str], allowed: str) -> str:
    value = words.get(raw.strip().lower())
    if value is None:
        raise ValueError(f"“{raw}” is not one of {allowed}.")
    return value


def _consent_value(raw: str) -> bool:
    word = raw.strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    raise ValueError(f"“{raw}” is not yes or no.")


def _row_values(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """One row's field values, read from its text, and the columns whose text is unreadable."""
    fields: dict[str, Any] = {name: values.get(name, "") for name in TEXT_COLUMNS}
    fields["state"] = values.get("state", "").upper()
    fields["preferred_language"] = values.get("preferred_language", "") or "English"
    problems: dict[str, str] = {}
    for name, read in READERS.items():
        raw = values.get(name, "")
        if name in ("date_of_birth", "sex_at_birth") and not raw:
            problems[name] = "This column is required; it is empty."
            continue
        try:
            fields[name] = read(raw)
        except ValueError as error:
            problems[name] = str(error)
    return fields, problems


READERS: dict[str, Callable[[str], Any]] = {
    "date_of_birth": _date_value,
    "sex_at_birth": lambda raw: _choice_value(raw, SEX_WORDS, "F, M or U"),
    "gender_identity": lambda raw: _choice_value(raw, GENDER_WORDS, GENDER_LIST) if raw else "",
    **dict.fromkeys(CONSENT_COLUMNS, _consent_value),
}
# The model's own fields and validators judge each value, as Model.full_clean() would (a test
# holds the two to the same answers); calling them directly is many times faster per row.
CHECKED_FIELDS = [
    Patient._meta.get_field(name)
    for name in (
        *TEXT_COLUMNS,
        "state",
        "preferred_language",
        "date_of_birth",
        "sex_at_birth",
        "gender_identity",
    )
]
MODEL_HAS_CLEAN = Patient.clean is not Model.clean


# Columns whose values repeat from row to row; a value found valid once is not checked again.
REPEATING_FIELDS = frozenset(
    {
        "date_of_birth",
        "sex_at_birth",
        "gender_identity",
        "city",
        "state",
        "postal_code",
        "preferred_language",
    }
)


def _field_problems(
    fields: dict[str, Any], skip: dict[str, str], valid_seen: set[tuple[str, Any]]
) -> dict[str, str]:
    problems: dict[str, str] = {}
    for model_field in CHECKED_FIELDS:
        name = model_field.name
        if name in skip:
            continue
        value = fields[name]
        if value in model_field.empty_values:
            if not model_field.blank:
                problems[name] = str(model_field.error_messages["blank"])
            continue
        repeating = name in REPEATING_FIELDS
        if repeating and (name, value) in valid_seen:
            continue
        try:
            if model_field.choices and value not in CHOICE_VALUES[name]:
                model_field.validate(value, None)
            for validator in model_field.validators:
                validator(value)
        except ValidationError as error:
            problems[name] = " ".join(error.messages)
        else:
            if repeating:
                valid_seen.add((name, value))
    if MODEL_HAS_CLEAN and not problems and not skip:
        try:
            Patient(**fields).clean()
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                problems[name if name != "__all__" else ""] = " ".join(messages)
    return problems


CHOICE_VALUES = {
    model_field.name: {str(value) for value, _ in model_field.flatchoices}
    for model_field in CHECKED_FIELDS
    if model_field.choices
}


def _rows(handle: IO[bytes], names: list[str]) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(line, values) for each data row, or (line, problem) for a row with too many values."""
    reader = csv.reader(_lines(handle))
    next(reader)
    last_line = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ImportFileError(
                f"Line {last_line + 1} cannot be read as CSV: {error}."
            ) from error
        line, last_line = last_line + 1, reader.line_num
        if not any(value.strip() for value in row):
            continue  # blank lines and the empty rows spreadsheets leave at the end
        if len(row) > len(names) and any(value.strip() for value in row[len(names) :]):
            yield line, f"has {len(row)} values but the header names {len(names)} columns."
            continue
        yield line, {name: value.strip() for name, value in zip(names, row, strict=False) if name}


def _count_rows(handle: IO[bytes]) -> int:
    """The number of data rows (blank ones aside); reading them all also proves the whole file
    is UTF-8 CSV before anything is written."""
    reader = csv.reader(_lines(handle))
    count = -1  # the header
    try:
        for row in reader:
            if any(value.strip() for value in row):
                count += 1
    except csv.Error as error:
        raise ImportFileError(f"Line {reader.line_num} cannot be read as CSV: {error}.") from error
    return max(count, 0)


PATIENT_COLUMNS = [
    model_field for model_field in Patient._meta.concrete_fields if not model_field.primary_key
]
CONSENT_COLUMNS_SQL = ("patient_id", "kind", "given", "on_date", "recorded_by_id", "recorded_at")
PLAIN_TYPES = {"CharField", "TextField", "EmailField", "BooleanField", "ForeignKey"}


def _insert_rows(cursor, table: str, columns: list[str], rows: list) -> None:
    """Insert many rows in one go: PostgreSQL by COPY, SQLite by one prepared INSERT run
    over every row (both many times faster than building the SQL of each row)."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(name) for name in columns)
    # Table and column names come from the model's metadata; every value is a parameter.
    if connection.vendor == "postgresql":
        with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join(["%s"] * len(columns))
    cursor.executemany(
        f"INSERT INTO {quote(table)} ({names}) VALUES ({placeholders})",  # noqa: S608
        rows,
    )


def _insert(batch: list[dict[str, Any]], acting_user: User | None) -> list[str]:
    """Insert one batch of checked rows with their consents; returns their MRNs.

    One INSERT run over the batch (``executemany``): the ORM's bulk_create spends most of an
    import compiling SQL. Defaults, ``auto_now`` times and the normalised search columns are
    filled here, the search columns by the model's own ``refresh_search_fields``.
    """
    from practicedesk.patients.services import mrns_reserve

    mrns = mrns_reserve(len(batch))
    now = timezone.now()
    ops = connection.ops
    from_row = set(batch[0])
    constants: dict[str, Any] = {}
    convert: dict[str, Callable[[Any], Any] | None] = {}
    for model_field in PATIENT_COLUMNS:
        name = model_field.attname
        kind = model_field.get_internal_type()
        if name in from_row or name in ("search_name", "phone_digits", "mrn"):
            convert[name] = (
                None
                if kind in PLAIN_TYPES
                else ops.adapt_datefield_value
                if kind == "DateField"
                else lambda value, f=model_field: f.get_db_prep_save(value, connection)
            )
            continue
        auto = getattr(model_field, "auto_now", False) or getattr(
            model_field, "auto_now_add", False
        )
        constants[name] = model_field.get_db_prep_save(
            now if auto else model_field.get_default(), connection
        )
    rows = []
    for fields, mrn in zip(batch, mrns, strict=True):
        record = SimpleNamespace(**fields, mrn=mrn)
        Patient.refresh_search_fields(record)
        values = []
        for model_field in PATIENT_COLUMNS:
            name = model_field.attname
            if name in constants:
                values.append(constants[name])
                continue
            value = getattr(record, name)
            adapt = convert[name]
            values.append(value if adapt is None else adapt(value))
        rows.append(values)
    consent_kinds = [
        [kind for column, kind in CONSENT_COLUMNS.items() if fields[column]] for fields in batch
    ]
    with connection.cursor() as cursor:
        _insert_rows(cursor, Patient._meta.db_table, [f.column for f in PATIENT_COLUMNS], rows)
        if any(consent_kinds):
            ids = dict(
                Patient.objects.filter(mrn__gte=mrns[0], mrn__lte=mrns[-1]).values_list("mrn", "pk")
            )
            on_date = ops.adapt_datefield_value(timezone.localdate())
            recorded_at = ops.adapt_datetimefield_value(now)
            user_id = acting_user.pk if acting_user is not None else None
            _insert_rows(
                cursor,
                ConsentEvent._meta.db_table,
                list(CONSENT_COLUMNS_SQL),
                [
                    (ids[mrn], kind, True, on_date, user_id, recorded_at)
                    for mrn, kinds in zip(mrns, consent_kinds, strict=True)
                    for kind in kinds
                ],
            )
    return mrns


class _Rollback(Exception):
    pass


def patients_import(
    *,
    acting_user: User | None,
    source: str | os.PathLike | IO[bytes],
    all_or_nothing: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import the patients of a CSV file (see this module's docstring for the columns).

    Raises ``ImportFileError`` (nothing imported) when the file as a whole is unusable.
    Without ``all_or_nothing`` each batch commits on its own, so other work is not held up
    by a long import; with it, the whole import is one transaction.
    """
    handle = _open(source)
    try:
        names = _header(csv.reader(_lines(handle)))
        result = ImportResult(all_or_nothing=all_or_nothing, ignored_columns=_check_header(names))
        # A first pass reads the whole file, so a file that breaks half-way is refused before
        # anything is written, and progress has a total.
        total = _count_rows(handle)
        if total == 0:
            raise ImportFileError("The file has a header line but no patient rows.")
        try:
            with transaction.atomic() if all_or_nothing else nullcontext():
                _import_rows(handle, names, result, acting_user, all_or_nothing, progress, total)
                if all_or_nothing and result.errors:
                    raise _Rollback
        except _Rollback:
            result.imported = 0
            result.first_mrn = result.last_mrn = ""
    finally:
        if handle is not source:
            handle.close()
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        name="patients_import",
        detail={
            "rows": result.rows,
            "imported": result.imported,
            "refused": result.refused,
            "all_or_nothing": all_or_nothing,
            "first_mrn": result.first_mrn,
            "last_mrn": result.last_mrn,
        },
    )
    return result


def _import_rows(handle, names, result, acting_user, all_or_nothing, progress, total) -> None:
    batch: list[dict[str, Any]] = []
    valid_seen: set[tuple[str, Any]] = set()

    def flush() -> None:
        if not batch:
            return
        if all_or_nothing and result.errors:
            batch.clear()  # nothing will be kept; only checking goes on
        else:
            with transaction.atomic():
                mrns = _insert(batch, acting_user)
            result.imported += len(batch)
            result.first_mrn = result.first_mrn or mrns[0]
            result.last_mrn = mrns[-1]
            batch.clear()
        if progress is not None:
            progress(result.rows, total)

    for line, values in _rows(handle, names):
        result.rows += 1
        if isinstance(values, str):
            result.errors.append(RowError(line, "", values))
            continue
        fields, problems = _row_values(values)
        problems.update(_field_problems(fields, problems, valid_seen))
        if problems:
            external_id = values.get("external_id", "")
            ordered = sorted(problems.items(), key=lambda item: _column_order(item[0]))
            result.errors.extend(
                RowError(line, name, message, external_id) for name, message in ordered
            )
            continue
        batch.append(fields)
        if len(batch) >= BATCH_SIZE:
            flush()
    flush()
    if progress is not None:
        progress(result.rows, total)


def _column_order(name: str) -> int:
    for index, column in enumerate(COLUMNS):
        if column.name == name:
            return index
    return len(COLUMNS)
