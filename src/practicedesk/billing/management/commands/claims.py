"""`practicedesk claims export [--payer P] -o FILE`: send the ready claims as one 837P file.

Every ready claim (of one payer when ``--payer`` names one, by name or payer id) is scrubbed
again, written into one ASC X12 005010X222A1 batch, checked with pyx12 and marked submitted;
the batch (file, control numbers, claims) is recorded. The file is written inside the same
transaction: when it cannot be written, no claim is marked submitted. ``-o -`` writes the
file to standard output (the summary then goes to standard error).
"""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q

from practicedesk.billing.services import claims_export
from practicedesk.core.models import User
from practicedesk.patients.models import Payer


class Command(BaseCommand):
    help = "Claims (837P): `practicedesk claims export [--payer P] -o FILE`."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=("export",), help="What to do.")
        parser.add_argument(
            "-o", "--output", required=True, help="The 837P file to write (- for stdout)."
        )
        parser.add_argument(
            "--payer", help="Only this payer's claims: its name or its payer id (e.g. 60054)."
        )
        parser.add_argument(
            "--user", help="Username recorded in the audit log as having sent the claims."
        )

    def handle(self, *, action, output, payer, user, **options):
        acting_user = None
        if user:
            acting_user = User.objects.filter(username=user).first()
            if acting_user is None:
                raise CommandError(f"There is no user {user!r}.")
        chosen = self.payer_named(payer) if payer else None
        path = None if output == "-" else Path(output)
        if path is not None:
            if path.is_dir():
                raise CommandError(f"{output} is a directory; name the file to write.")
            if not path.parent.is_dir():
                raise CommandError(f"{output}: the folder {path.parent} does not exist.")
        try:
            with transaction.atomic():
                batch = claims_export(acting_user=acting_user, payer=chosen)
                if path is not None:
                    path.write_text(batch.content, encoding="ascii")
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        except OSError as error:
            raise CommandError(
                f"{output}: cannot be written ({error.strerror}); no claim was submitted."
            ) from error
        report = self.stdout
        if path is None:
            self.stdout.write(batch.content)
            report = self.stderr
        plural = "s" if batch.claim_count != 1 else ""
        report.write(
            f"Exported {batch.claim_count} claim{plural}, total {batch.total_charge}: "
            f"interchange control number {batch.interchange_control_number:09d}, group control "
            f"number {batch.group_control_number}"
            + (f", written to {output}." if path is not None else ".")
        )
        for number, problems in batch.skipped:
            report.write(f"  left ready, fails the scrubber: {number}: {' '.join(problems)}")

    def payer_named(self, value: str) -> Payer:
        matches = list(Payer.objects.filter(Q(name__iexact=value) | Q(payer_id__iexact=value)))
        if not matches:
            raise CommandError(f"There is no payer named {value!r} or with that payer id.")
        if len(matches) > 1:
            names = ", ".join(f"{payer.name} ({payer.payer_id})" for payer in matches)
            raise CommandError(f"{value!r} matches more than one payer: {names}.")
        return matches[0]
