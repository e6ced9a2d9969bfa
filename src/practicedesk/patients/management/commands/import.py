"""`practicedesk import patients FILE.csv [--all-or-nothing]`: bulk import from CSV.

The columns are described in ``practicedesk.patients.importers`` (and the README). Each bad
row is printed as ``line N: <column>: <reason>``. The exit status is 0 when every row was
imported, 1 when nothing could be imported (a bad file, or a bad row with --all-or-nothing)
and 2 when the valid rows were imported but some rows were refused.
"""

from django.core.management.base import BaseCommand, CommandError

from practicedesk.core.models import User
from practicedesk.patients.importers import ImportFileError, patients_import

KINDS = ("patients",)


class Command(BaseCommand):
    help = "Import records from a CSV file: `practicedesk import patients FILE.csv`."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS, help="What the file holds.")
        parser.add_argument("file", help="The CSV file (UTF-8, with a header line).")
        parser.add_argument(
            "--all-or-nothing",
            action="store_true",
            help="Import nothing if any row is wrong (default: import the valid rows).",
        )
        parser.add_argument(
            "--user",
            help="Username recorded in the audit log as having run the import.",
        )

    def handle(self, *, kind, file, all_or_nothing, user, verbosity, **options):
        acting_user = None
        if user:
            acting_user = User.objects.filter(username=user).first()
            if acting_user is None:
                raise CommandError(f"There is no user {user!r}.")

        def progress(current: int, total: int) -> None:
            if verbosity > 1:
                self.stderr.write(f"{current} of {total} rows read")

        try:
            result = patients_import(
                acting_user=acting_user,
                source=file,
                all_or_nothing=all_or_nothing,
                progress=progress,
            )
        except ImportFileError as error:
            raise CommandError(f"{file}: {error} Nothing was imported.") from error
        for error in result.errors:
            self.stderr.write(str(error))
        if result.ignored_columns:
            self.stderr.write(f"Ignored columns (not known): {', '.join(result.ignored_columns)}")
        if result.errors and all_or_nothing:
            raise CommandError(result.summary(), returncode=1)
        self.stdout.write(result.summary())
        if result.errors:
            raise CommandError(
                f"{result.refused} rows were refused; fix them and import those rows again.",
                returncode=2,
            )
