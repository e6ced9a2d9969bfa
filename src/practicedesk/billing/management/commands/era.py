"""`practicedesk era import FILE.835 [--user USERNAME]`: post an 835 remittance.

Prints what was posted, what is waiting in the reconciliation queue and any difference between
the payment (BPR02) and what its claims account for. Exit status: 0 when the file was posted
(or had already been), 1 when it was refused (nothing was posted; the reason is printed).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from practicedesk.billing.remittances import RemittanceImportError, remittance_import
from practicedesk.core.models import User


class Command(BaseCommand):
    help = "Electronic remittances (835): `practicedesk era import FILE.835`."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=("import",), help="What to do with the file.")
        parser.add_argument("file", help="An ASC X12 005010X221A1 (835) remittance file.")
        parser.add_argument(
            "--user", help="Username recorded in the audit log as having run the import."
        )

    def handle(self, *, action, file, user, verbosity, **options):
        acting_user = None
        if user:
            acting_user = User.objects.filter(username=user).first()
            if acting_user is None:
                raise CommandError(f"There is no user {user!r}.")
        path = Path(file)
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(f"{file}: cannot be read ({error.strerror}).") from error

        def progress(current: int, total: int, message: str) -> None:
            if verbosity > 1:
                self.stderr.write(message)

        try:
            result = remittance_import(
                acting_user=acting_user, content=content, filename=path.name, progress=progress
            )
        except RemittanceImportError as error:
            raise CommandError(f"{file}: {' '.join(error.messages)}", returncode=1) from error
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        for report in result.transactions:
            self.stdout.write(report.summary())
            if report.already_imported_on:
                continue
            for skipped in report.skipped:
                self.stdout.write(f"  to reconcile: {skipped}")
            for discrepancy in report.discrepancies:
                self.stdout.write(f"  difference: {discrepancy}")
