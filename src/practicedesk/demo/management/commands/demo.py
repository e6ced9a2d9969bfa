import time

from django.conf import settings
from django.core.management.base import BaseCommand

from practicedesk.core.periodic import periodic_run_now
from practicedesk.core.roles import ROLES
from practicedesk.demo.billing import build_billing
from practicedesk.demo.clinical import build_clinical
from practicedesk.demo.foundation import ROLE_USERS, build_foundation
from practicedesk.demo.sizes import NIGHTLY_FIGURES, SCALE_SIZE_NAMES, SIZES


class Command(BaseCommand):
    help = "Create a deterministic demo practice; running it again adds nothing twice."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=[*sorted(SIZES), *SCALE_SIZE_NAMES], default="small")
        parser.add_argument(
            "--billing-provider-step",
            type=int,
            default=None,
            help="Bill only every n-th provider's visits (default: the size's own; tests use "
            "a slice to stay fast).",
        )

    def handle(self, *args, size, billing_provider_step=None, **options):
        if size in SCALE_SIZE_NAMES:
            from practicedesk.demo.scale import scale_command

            return scale_command(self, size)
        started = time.monotonic()
        demo_size = SIZES[size]
        created = build_foundation(demo_size)
        counts = build_clinical(demo_size, self.progress)
        billing = build_billing(demo_size, self.progress, billing_provider_step)
        periodic_run_now(*NIGHTLY_FIGURES)
        self.stdout.write(
            f"\rDemo practice ({size}) ready in {time.monotonic() - started:.0f} s: "
            f"{created['locations']} new location(s), {created['users']} new user(s); "
            f"{counts['providers']} providers, {counts['patients']:,} patients, "
            f"{counts['appointments']:,} appointments; billing: {billing['charges']:,} charges, "
            f"{billing['claims']:,} claims, {billing['remittances']:,} remittances, "
            f"{billing['payments']:,} payments, {billing['ledger_entries']:,} ledger entries."
        )
        self.stdout.write(
            f"Demo sign-ins (password: {settings.DEMO_PASSWORD}; two-factor is off for demo users):"
        )
        for role in ROLES:
            self.stdout.write(f"  {role.name:<18} {ROLE_USERS[role.key][0]}")

    def progress(self, label: str, count: int) -> None:
        self.stdout.write(f"\r  {label}: {count:,}      ", ending="")
        self.stdout.flush()
