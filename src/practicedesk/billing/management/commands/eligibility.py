"""Eligibility by file (clearinghouse-agnostic).

``practicedesk eligibility request [--date YYYY-MM-DD | --appointments ID,ID] -o FILE``
writes a 005010X279A1 270 for tomorrow's appointments (or that day's, or those appointments)
and records an inquiry per coverage. ``practicedesk eligibility import FILE`` records a 271's
answers on those inquiries and notes them on the appointments.

Exit status: 0 when done; 1 when refused (nothing was written or changed; the reason is printed).
"""

import datetime
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from practicedesk.billing.selectors import appointments_on
from practicedesk.billing.services import eligibility_import, eligibility_request
from practicedesk.core.models import User
from practicedesk.scheduling.models import Appointment


def appointment_ids(value: str) -> list[int]:
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise CommandError(
            f"--appointments takes ids separated by commas, not {value!r}."
        ) from None


class Command(BaseCommand):
    help = (
        "Eligibility (270/271): `practicedesk eligibility request -o FILE` for tomorrow's "
        "appointments, `practicedesk eligibility import FILE` for a 271."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        request = actions.add_parser("request", help="Write a 270 inquiry file.")
        which = request.add_mutually_exclusive_group()
        which.add_argument(
            "--date",
            type=datetime.date.fromisoformat,
            help="Ask about the booked appointments of this day (YYYY-MM-DD); default tomorrow.",
        )
        which.add_argument(
            "--appointments", type=appointment_ids, help="Ask about these appointment ids: 12,15."
        )
        request.add_argument("-o", "--output", required=True, help="Where to write the 270.")
        request.add_argument("--user", help="Username recorded in the audit log.")
        answer = actions.add_parser("import", help="Record the answers of a 271 file.")
        answer.add_argument("file", help="An ASC X12 005010X279A1 271 file.")
        answer.add_argument("--user", help="Username recorded in the audit log.")

    def handle(self, *args, action, user=None, **options):
        acting_user = None
        if user:
            acting_user = User.objects.filter(username=user).first()
            if acting_user is None:
                raise CommandError(f"There is no user {user!r}.")
        if action == "request":
            self.request(acting_user, **options)
        else:
            self.answer(acting_user, options["file"])

    def request(self, acting_user, *, date=None, appointments=None, output, **options):
        if appointments:
            chosen = list(
                Appointment.objects.filter(pk__in=appointments).select_related(
                    "patient", "coverage__payer"
                )
            )
            missing = sorted(set(appointments) - {appointment.pk for appointment in chosen})
            if missing:
                raise CommandError(f"No appointment with id {', '.join(map(str, missing))}.")
        else:
            day = date or timezone.localdate() + datetime.timedelta(days=1)
            chosen = list(appointments_on(day))
            if not chosen:
                raise CommandError(f"No booked appointment on {day}; nothing to ask about.")
        path = Path(output)
        if path.exists() and path.is_dir():
            raise CommandError(f"{output} is a directory; give a file name.")
        try:
            result = eligibility_request(acting_user=acting_user, appointments=chosen)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        try:
            path.write_text(result.text, encoding="ascii")
        except OSError as error:
            raise CommandError(f"Could not write {output}: {error.strerror}.") from None
        for reason in result.skipped:
            self.stderr.write(f"not asked: {reason}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {output}: {len(result.checks)} inquir"
                f"{'y' if len(result.checks) == 1 else 'ies'} "
                f"(trace numbers {result.checks[0].trace_number}"
                f"{'…' + result.checks[-1].trace_number if len(result.checks) > 1 else ''})."
            )
        )

    def answer(self, acting_user, file):
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Could not read {file}: {error.strerror}.") from None
        try:
            result = eligibility_import(acting_user=acting_user, data=data, filename=path.name)
        except ValidationError as error:
            raise CommandError(
                f"{file} was refused, nothing was recorded: {' '.join(error.messages)}"
            ) from None
        for check in result.recorded:
            note = check.appointment.eligibility_note if check.appointment else check.message
            self.stdout.write(
                f"{check.trace_number}: {check.coverage.patient} — {check.get_status_display()}"
                f"{': ' + note if note else ''}"
            )
        for line in result.unmatched:
            self.stdout.write(f"unmatched: {line}")
        for line in result.already:
            self.stdout.write(f"already recorded: {line}")
        self.stdout.write(self.style.SUCCESS(f"Imported {file}: {result.summary}"))
