"""Back up and restore the whole database: one file, SQLite or PostgreSQL.

SQLite uses the online backup API, which copies a consistent snapshot while the app keeps
writing (WAL mode). PostgreSQL uses ``pg_dump --format=custom`` and ``pg_restore``. Every
check runs before anything is written, so a refused backup or restore changes nothing.
Uploaded documents (MEDIA_ROOT or the S3 bucket) are not in the database and not in the file.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
SQLITE_HEADER = b"SQLite format 3\x00"
PG_CUSTOM_HEADER = b"PGDMP"
PG_PLAIN_HEADER = b"--\n-- PostgreSQL database dump"
# Tables every Practice Desk database has; a file without them is someone else's database.
REQUIRED_TABLES = ("django_migrations", "core_user")
# libpq reads these from the environment, so they never appear on a command line.
PG_OPTION_ENVIRONMENT = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}
PG_TOC_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (?P<schema>\S+) (?P<name>\S+) ")


class BackupError(Exception):
    """A backup or restore was refused or failed; the message says why in one sentence."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    table_count: int
    kind: str

    @property
    def size_text(self) -> str:
        if self.size_bytes < 1024:
            return f"{self.size_bytes} bytes"
        size = self.size_bytes / 1024
        unit = "KB"
        for larger in ("MB", "GB"):
            if size < 1024:
                break
            size, unit = size / 1024, larger
        return f"{size:.1f} {unit}"


def database_backup(
    *, path: str | os.PathLike, overwrite: bool = False, database: dict[str, Any] | None = None
) -> BackupResult:
    """Write a backup of ``database`` (default: the configured one) to ``path``.

    The file is written beside its final name and moved into place only when complete, so an
    interrupted backup never leaves a half-written file under the name asked for. It is created
    readable by its owner only: it holds every patient's data.
    """
    live = connections[DEFAULT_DB_ALIAS] if database is None else None
    settings_dict = live.settings_dict if live is not None else database
    kind = database_kind(settings_dict)
    target = _backup_target(Path(path), overwrite=overwrite)
    temporary = _temporary_beside(target)
    try:
        if kind == SQLITE:
            _sqlite_backup(settings_dict, temporary, live)
        else:
            _pg_dump(settings_dict, temporary)
        tables = _sqlite_tables(temporary) if kind == SQLITE else _pg_dump_tables(temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return BackupResult(
        path=target, size_bytes=target.stat().st_size, table_count=len(tables), kind=kind
    )


def backup_inspect(*, path: str | os.PathLike, kind: str | None = None) -> BackupResult:
    """Check that ``path`` is a Practice Desk backup of ``kind`` (default: this installation's).

    Raises ``BackupError`` for a missing file, a folder, a file that is not a backup, or a
    backup of the other database kind.
    """
    kind = kind or database_kind(connections[DEFAULT_DB_ALIAS].settings_dict)
    source = Path(path)
    if not source.exists():
        raise BackupError(f"{source} does not exist.")
    if source.is_dir():
        raise BackupError(f"{source} is a folder; give the backup file itself.")
    try:
        with source.open("rb") as handle:
            header = handle.read(len(PG_PLAIN_HEADER))
    except OSError as error:
        raise BackupError(f"{source} cannot be read: {error.strerror}.") from error
    found = _kind_of_header(header)
    if found is None:
        raise BackupError(f"{source} is not a Practice Desk backup (not SQLite, not pg_dump).")
    if found == "pg_plain":
        raise BackupError(
            f"{source} is a plain-SQL pg_dump, not a `practicedesk backup` file; "
            "load it with psql or make a new backup with `practicedesk backup`."
        )
    if found != kind:
        raise BackupError(
            f"{source} is {_kind_file(found)}, but this installation uses "
            f"{_kind_name(kind)}; restore it on {_a_kind(found)} installation."
        )
    tables = _sqlite_tables(source) if kind == SQLITE else _pg_dump_tables(source)
    missing = [name for name in REQUIRED_TABLES if name not in tables]
    if missing:
        raise BackupError(
            f"{source} is {_a_kind(kind)} database file but not a Practice Desk backup "
            f"(it has no {' or '.join(missing)} table)."
        )
    return BackupResult(
        path=source, size_bytes=source.stat().st_size, table_count=len(tables), kind=kind
    )


def database_restore(
    *, path: str | os.PathLike, database: dict[str, Any] | None = None
) -> BackupResult:
    """Replace every table of ``database`` (default: the configured one) with the backup's.

    The file is checked first; the copy then runs as one transaction (SQLite backup API,
    ``pg_restore --single-transaction``), so a failure leaves the database as it was.
    """
    live = connections[DEFAULT_DB_ALIAS] if database is None else None
    settings_dict = live.settings_dict if live is not None else database
    kind = database_kind(settings_dict)
    found = backup_inspect(path=path, kind=kind)
    if kind == SQLITE:
        _sqlite_restore(found.path, settings_dict, live)
    else:
        if live is not None:
            # pg_restore drops and recreates every table: our own session must not hold locks.
            live.close()
        _pg_restore(found.path, settings_dict)
    return found


def database_kind(settings_dict: dict[str, Any]) -> str:
    engine = settings_dict["ENGINE"]
    if "sqlite3" in engine:
        return SQLITE
    if "postgresql" in engine:
        return POSTGRESQL
    raise BackupError(f"Backups support SQLite and PostgreSQL, not {engine}.")


def _kind_name(kind: str) -> str:
    return {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}[kind]


def _a_kind(kind: str) -> str:
    return {SQLITE: "an SQLite", POSTGRESQL: "a PostgreSQL"}[kind]


def _kind_file(kind: str) -> str:
    return {SQLITE: "an SQLite database", POSTGRESQL: "a PostgreSQL dump"}[kind]


def _kind_of_header(header: bytes) -> str | None:
    if header.startswith(SQLITE_HEADER):
        return SQLITE
    if header.startswith(PG_CUSTOM_HEADER):
        return POSTGRESQL
    if header.startswith(PG_PLAIN_HEADER):
        return "pg_plain"
    return None


def _backup_target(target: Path, *, overwrite: bool) -> Path:
    target = target.expanduser().absolute()
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give a file name, e.g. {target / 'backup.db'}.")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} already exists; choose another name or pass --overwrite.")
    folder = target.parent
    if folder.exists() and not folder.is_dir():
        raise BackupError(f"{folder} is a file, not a folder.")
    if not folder.is_dir():
        raise BackupError(f"The folder {folder} does not exist.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BackupError(f"The folder {folder} is not writable.")
    return target


def _temporary_beside(target: Path) -> Path:
    try:
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as error:
        raise BackupError(f"Cannot write in {target.parent}: {error.strerror}.") from error
    os.close(handle)
    return Path(name)


def _sqlite_in_memory(settings_dict: dict[str, Any]) -> bool:
    name = str(settings_dict["NAME"])
    return name == ":memory:" or "mode=memory" in name


def _sqlite_path(settings_dict: dict[str, Any]) -> Path | None:
    """The database file, or None for an in-memory database (the test suite's)."""
    if _sqlite_in_memory(settings_dict):
        return None
    return Path(settings_dict["NAME"]).absolute()


@contextmanager
def _sqlite_connection(
    settings_dict: dict[str, Any], live: BaseDatabaseWrapper | None
) -> Iterator[sqlite3.Connection]:
    """The app's own connection when ``live`` is given (it reaches an in-memory database too);
    otherwise a new connection to the file, closed afterwards."""
    if live is not None:
        if live.in_atomic_block:
            raise BackupError("A backup or restore cannot run inside a database transaction.")
        live.ensure_connection()
        yield live.connection
        return
    path = _sqlite_path(settings_dict)
    if path is None:
        raise BackupError("Another process's in-memory SQLite database cannot be reached.")
    timeout = settings_dict.get("OPTIONS", {}).get("timeout", 20)
    with closing(sqlite3.connect(path, timeout=timeout)) as connection:
        yield connection


def _sqlite_backup(
    settings_dict: dict[str, Any], destination: Path, live: BaseDatabaseWrapper | None
) -> None:
    source_path = _sqlite_path(settings_dict)
    # Connecting would create a missing database, and the backup would be of an empty one.
    if source_path is not None and not source_path.is_file():
        raise BackupError(f"The database {source_path} does not exist; run `practicedesk setup`.")
    try:
        with (
            _sqlite_connection(settings_dict, live) as source,
            closing(sqlite3.connect(destination)) as target,
        ):
            source.backup(target)
            # A backup is one self-contained file, not a database plus a -wal file.
            target.execute("PRAGMA journal_mode=DELETE")
    except (sqlite3.Error, DatabaseError) as error:
        raise BackupError(f"SQLite could not back up {settings_dict['NAME']}: {error}.") from error


def _sqlite_tables(path: Path) -> set[str]:
    try:
        connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            rows = connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).fetchall()
            (check,) = connection.execute("PRAGMA quick_check").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise BackupError(f"{path} cannot be read as an SQLite database: {error}.") from error
    if check != "ok":
        raise BackupError(f"{path} is a damaged SQLite database ({check}).")
    return {name for (name,) in rows}


def _sqlite_restore(
    source_path: Path, settings_dict: dict[str, Any], live: BaseDatabaseWrapper | None
) -> None:
    target_path = _sqlite_path(settings_dict)
    if target_path is not None:
        if target_path == source_path.absolute():
            raise BackupError(f"{source_path} is the live database itself; nothing to restore.")
        if not target_path.parent.is_dir():
            raise BackupError(f"The folder {target_path.parent} of the database does not exist.")
    try:
        with (
            closing(
                sqlite3.connect(f"{source_path.absolute().as_uri()}?mode=ro", uri=True)
            ) as source,
            _sqlite_connection(settings_dict, live) as target,
        ):
            # One step (pages=-1): the whole copy is one write transaction on the target.
            source.backup(target)
    except (sqlite3.Error, DatabaseError) as error:
        raise BackupError(
            f"SQLite could not restore into {settings_dict['NAME']}: {error}; "
            "the database is unchanged."
        ) from error


def _pg_program(name: str) -> str:
    program = shutil.which(name)
    if program is None:
        raise BackupError(
            f"{name} is not on PATH; install the PostgreSQL client tools "
            "(the server's major version or newer)."
        )
    return program


def _pg_connection(settings_dict: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Command-line arguments and environment for pg_dump/pg_restore; the password stays out
    of the arguments, which any user of the machine can read in the process list."""
    arguments = []
    if settings_dict.get("HOST"):
        arguments.append(f"--host={settings_dict['HOST']}")
    if settings_dict.get("PORT"):
        arguments.append(f"--port={settings_dict['PORT']}")
    if settings_dict.get("USER"):
        arguments.append(f"--username={settings_dict['USER']}")
    arguments.append(f"--dbname={settings_dict['NAME']}")
    environment = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if settings_dict.get("PASSWORD"):
        environment["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    for option, variable in PG_OPTION_ENVIRONMENT.items():
        value = settings_dict.get("OPTIONS", {}).get(option)
        if value is not None:
            environment[variable] = str(value)
    return arguments, environment


def _pg_run(command: list[str], environment: dict[str, str] | None, failure: str) -> str:
    try:
        completed = subprocess.run(  # noqa: S603 - fixed program, arguments we built
            command, env=environment, capture_output=True, text=True, check=False
        )
    except OSError as error:
        raise BackupError(f"{failure}: {error.strerror}.") from error
    if completed.returncode != 0:
        detail = completed.stderr.strip().splitlines()
        reason = detail[-1] if detail else f"exit status {completed.returncode}"
        raise BackupError(f"{failure}: {reason}")
    return completed.stdout


def _pg_dump(settings_dict: dict[str, Any], destination: Path) -> None:
    arguments, environment = _pg_connection(settings_dict)
    _pg_run(
        [_pg_program("pg_dump"), "--format=custom", f"--file={destination}", *arguments],
        environment,
        f"pg_dump could not back up the database {settings_dict['NAME']}",
    )


def _pg_dump_tables(path: Path) -> set[str]:
    listing = _pg_run(
        [_pg_program("pg_restore"), "--list", str(path)],
        None,
        f"{path} cannot be read as a pg_dump backup",
    )
    return {
        match["name"]
        for line in listing.splitlines()
        if (match := PG_TOC_TABLE.match(line)) and match["schema"] == "public"
    }


def _pg_restore(source_path: Path, settings_dict: dict[str, Any]) -> None:
    arguments, environment = _pg_connection(settings_dict)
    # A running app holds locks on its tables; fail (unchanged) rather than wait for ever.
    environment["PGOPTIONS"] = f"{environment.get('PGOPTIONS', '')} -c lock_timeout=30s".strip()
    _pg_run(
        [
            _pg_program("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            # Grants name the roles of the server the backup came from, which may not exist here.
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            *arguments,
            str(source_path),
        ],
        environment,
        f"pg_restore could not restore into {settings_dict['NAME']} (the database is unchanged)",
    )
