from django.core.management.base import BaseCommand, CommandError

from practicedesk.core.roles import ROLES
from practicedesk.core.services import roles_sync


class Command(BaseCommand):
    help = "Roles: `roles sync` re-applies the declared permissions; `roles list` shows them."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["sync", "list"])

    def handle(self, *args, action, **options):
        if action == "sync":
            groups = roles_sync()
            self.stdout.write(self.style.SUCCESS(f"Re-applied {len(groups)} roles."))
            return
        if action == "list":
            for role in ROLES:
                grants = ", ".join(
                    f"{area}:{'/'.join(sorted(actions))}" for area, actions in role.grants.items()
                )
                self.stdout.write(f"{role.name}: {grants}")
            return
        raise CommandError(f"Unknown action {action!r}; use sync or list.")
