import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from practicedesk.core.services import BackupError, backup_inspect, database_restore


class Command(BaseCommand):
    # A backup or restore must work even while some other part of the app fails its checks.
    requires_system_checks = []
    help = (
        "Replace ALL data in the configured database with the backup in FILE (made by "
        "`practicedesk backup`). Stop the web server and the workers first. FILE is checked "
        "before anything changes, and the restore runs as one transaction. Asks for "
        "confirmation unless --yes is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="A backup written by `practicedesk backup`.")
        parser.add_argument(
            "--yes", action="store_true", help="Replace all data without asking first."
        )

    def handle(self, *args, file, yes, **options):
        database = connections[DEFAULT_DB_ALIAS].settings_dict["NAME"]
        try:
            found = backup_inspect(path=file)
            if not yes:
                self._confirm(database)
            result = database_restore(path=file)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {result.table_count} tables from {found.path} "
                f"({result.size_text}) into {database}."
            )
        )
        self.stdout.write(
            "If the backup came from an older version, run `practicedesk setup --demo-size none` "
            "to bring its tables up to date."
        )

    def _confirm(self, database) -> None:
        if not sys.stdin.isatty():
            raise CommandError(
                "Restore replaces all data; pass --yes to confirm when not running interactively."
            )
        answer = input(f"This replaces ALL data in {database}. Type 'yes' to continue: ")
        if answer.strip().lower() != "yes":
            raise CommandError("Restore cancelled; nothing was changed.")
