"""Serve the app and run the background worker beside it, until Ctrl+C stops both."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from practicedesk.core.models import User


class Command(BaseCommand):
    help = "Start the web server (gunicorn) and the background-task worker together."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("PRACTICEDESK_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args, bind, workers, **options):
        bin_dir = os.path.dirname(sys.executable)
        worker = subprocess.Popen([os.path.join(bin_dir, "practicedesk"), "worker"])  # noqa: S603
        web = subprocess.Popen(  # noqa: S603
            [
                os.path.join(bin_dir, "gunicorn"),
                "practicedesk.wsgi:application",
                "--bind",
                bind,
                "--workers",
                str(workers),
                "--threads",
                "4",
                "--access-logfile",
                "-",
            ]
        )
        self.stdout.write(self.style.SUCCESS(f"\nPractice Desk is at http://{bind}/"))
        self.stdout.write(f"Database: {settings.DATABASES['default']['NAME']}")
        demo_users = User.objects.filter(two_factor_exempt=True, is_active=True)
        if demo_users.exists():
            self.stdout.write(
                f"Demo sign-ins, password {settings.DEMO_PASSWORD!r} "
                "(two-factor is off for demo users):"
            )
            first_per_role: dict[str, str] = {}
            for user in demo_users.prefetch_related("groups").order_by("username"):
                for role in user.role_names:
                    first_per_role.setdefault(role, user.username)
            for role, username in sorted(first_per_role.items()):
                self.stdout.write(f"  {role:<18} {username}")
        self.stdout.write("Background worker running. Press Ctrl+C to stop.\n")

        def stop(*_):
            for process in (web, worker):
                if process.poll() is None:
                    process.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            while web.poll() is None and worker.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for process in (web, worker):
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
