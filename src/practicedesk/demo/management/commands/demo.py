from django.conf import settings
from django.core.management.base import BaseCommand

from practicedesk.core.roles import ROLES
from practicedesk.demo.foundation import ROLE_USERS, build_foundation
from practicedesk.demo.sizes import SIZES


class Command(BaseCommand):
    help = "Create a deterministic demo practice; running it again adds nothing twice."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), default="small")

    def handle(self, *args, size, **options):
        created = build_foundation(SIZES[size])
        self.stdout.write(
            f"Demo practice ({size}): {created['locations']} new location(s), "
            f"{created['users']} new user(s)."
        )
        self.stdout.write(
            f"Demo sign-ins (password: {settings.DEMO_PASSWORD}; two-factor is off for demo users):"
        )
        for role in ROLES:
            self.stdout.write(f"  {role.name:<18} {ROLE_USERS[role.key][0]}")
