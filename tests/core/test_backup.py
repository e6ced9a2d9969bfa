"""Backups: a restore into a fresh database holds every row; bad input changes nothing."""

import io
import sqlite3
import uuid
from contextlib import closing

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from psycopg import sql

from practicedesk.core.models import User
from practicedesk.core.services import database_backup, database_restore, roles_sync
from tests.factories import LocationFactory, OrganizationFactory, UserFactory

sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="needs SQLite")
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
# Committed rows, visible to the backup's own connection.
committed = pytest.mark.django_db(transaction=True)


def practice_rows() -> None:
    # An earlier transactional test may have flushed the roles the migrations wrote.
    roles_sync()
    OrganizationFactory()
    locations = LocationFactory.create_batch(2)
    UserFactory.create_batch(3, home_location=locations[0])


def row_counts_here() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


def backup_to(path) -> str:
    out = io.StringIO()
    call_command("backup", str(path), stdout=out)
    return out.getvalue()


def assert_practice_rows_counted(counts: dict[str, int]) -> None:
    assert counts["core_user"] == 3
    assert counts["core_location"] == 2
    assert counts["core_organization"] == 1
    assert counts["auth_group"] > 0
    assert counts["django_migrations"] > 0


@sqlite_only
@committed
def test_sqlite_backup_restored_into_a_fresh_database_holds_every_row(tmp_path):
    practice_rows()
    expected = row_counts_here()
    backup = tmp_path / "practice.db"

    output = backup_to(backup)
    fresh = tmp_path / "fresh.sqlite3"
    database_restore(path=backup, database={**connection.settings_dict, "NAME": str(fresh)})

    with closing(sqlite3.connect(fresh)) as restored:
        actual = {
            table: restored.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            for table in expected
        }
    assert actual == expected
    assert_practice_rows_counted(actual)
    assert f"Wrote {backup} (" in output
    assert f"{len(expected)} tables" in output


def connect_to(settings_dict, **options) -> psycopg.Connection:
    return psycopg.connect(
        host=settings_dict.get("HOST") or None,
        port=settings_dict.get("PORT") or None,
        user=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None,
        dbname=settings_dict["NAME"],
        **options,
    )


@pytest.fixture
def throwaway_database():
    """A new, empty PostgreSQL database beside the test database, dropped afterwards."""
    settings_dict = connection.settings_dict
    name = f"{settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    server = {**settings_dict, "NAME": "postgres"}
    with connect_to(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield {**settings_dict, "NAME": name}
    with connect_to(server, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@postgres_only
@committed
def test_postgres_backup_restored_into_a_fresh_database_holds_every_row(
    tmp_path, throwaway_database
):
    practice_rows()
    expected = row_counts_here()
    backup = tmp_path / "practice.dump"

    output = backup_to(backup)
    database_restore(path=backup, database=throwaway_database)

    with connect_to(throwaway_database) as restored:
        actual = {
            table: restored.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]
            for table in expected
        }
    assert actual == expected
    assert_practice_rows_counted(actual)
    assert f"Wrote {backup} (" in output
    assert f"{len(expected)} tables" in output


@committed
def test_restore_replaces_the_rows_written_after_the_backup(tmp_path):
    UserFactory(username="before-backup")
    backup = tmp_path / "practice.backup"
    backup_to(backup)
    UserFactory(username="after-backup")

    out = io.StringIO()
    call_command("restore", str(backup), "--yes", stdout=out)

    assert set(User.objects.values_list("username", flat=True)) == {"before-backup"}
    assert "Restored" in out.getvalue()


@committed
def test_restore_without_yes_asks_and_refuses_when_no_one_can_answer(tmp_path, monkeypatch):
    UserFactory(username="before-backup")
    backup = tmp_path / "practice.backup"
    backup_to(backup)
    UserFactory(username="after-backup")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    with pytest.raises(CommandError, match="pass --yes"):
        call_command("restore", str(backup))

    assert User.objects.count() == 2


def other_kind_of_backup(path) -> None:
    """A file of the database kind this installation does not use, with our tables in it."""
    if connection.vendor == "sqlite":
        path.write_bytes(b"PGDMP\x01\x0e\x00" + b"\x00" * 64)
        return
    with closing(sqlite3.connect(path)) as other:
        other.execute("CREATE TABLE django_migrations (id integer)")
        other.execute("CREATE TABLE core_user (id integer)")
        other.commit()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make_file", "message"),
    [
        (None, "does not exist"),
        (lambda path: path.mkdir(), "is a folder"),
        (lambda path: path.write_text("name,amount\nrent,100\n"), "not a Practice Desk backup"),
        (lambda path: path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84), "SQLite"),
        (other_kind_of_backup, "but this installation uses"),
    ],
    ids=["missing", "folder", "not-a-backup", "damaged-sqlite", "other-database-kind"],
)
def test_restore_refuses_a_file_that_is_not_a_backup_of_this_database(tmp_path, make_file, message):
    UserFactory(username="still-here")
    path = tmp_path / "candidate.backup"
    if make_file is not None:
        make_file(path)

    with pytest.raises(CommandError, match=message):
        call_command("restore", str(path), "--yes")

    assert list(User.objects.values_list("username", flat=True)) == ["still-here"]


def test_restore_refuses_a_database_of_another_application(tmp_path, request):
    path = tmp_path / "other.backup"
    if connection.vendor == "sqlite":
        with closing(sqlite3.connect(path)) as other:
            other.execute("CREATE TABLE invoices (id integer)")
            other.commit()
    else:
        other = request.getfixturevalue("throwaway_database")
        with closing(connect_to(other)) as other_connection:
            other_connection.execute("CREATE TABLE invoices (id integer)")
            other_connection.commit()
        database_backup(path=path, database=other)

    with pytest.raises(CommandError, match="no django_migrations or core_user table"):
        call_command("restore", str(path), "--yes")


@pytest.mark.django_db
def test_backup_refuses_a_target_it_cannot_write(tmp_path):
    with pytest.raises(CommandError, match="is a folder"):
        call_command("backup", str(tmp_path))
    with pytest.raises(CommandError, match="does not exist"):
        call_command("backup", str(tmp_path / "no-such-folder" / "practice.backup"))
    (tmp_path / "a-file").write_text("")
    with pytest.raises(CommandError, match="is a file, not a folder"):
        call_command("backup", str(tmp_path / "a-file" / "practice.backup"))


@pytest.mark.django_db
def test_backup_never_overwrites_an_existing_file_unasked(tmp_path):
    existing = tmp_path / "practice.backup"
    existing.write_text("last week's backup")

    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", str(existing))

    assert existing.read_text() == "last week's backup"
    assert [path.name for path in tmp_path.iterdir()] == ["practice.backup"]
