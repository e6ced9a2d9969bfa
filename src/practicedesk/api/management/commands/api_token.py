from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from practicedesk.core.models import AuditEvent, User
from practicedesk.core.services import audit_event_record


class Command(BaseCommand):
    help = (
        "Print the API token of a user, creating it if needed (--rotate replaces it). "
        "The token acts with that user's roles: give integrations their own user."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--rotate", action="store_true", help="Revoke the current token and issue a new one."
        )

    def handle(self, *args, username, rotate, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}; create the user first.")
        if not user.is_active:
            raise CommandError(f"{username} is deactivated; a token would not work.")
        if rotate:
            Token.objects.filter(user=user).delete()
        token, created = Token.objects.get_or_create(user=user)
        if created:
            audit_event_record(
                action=AuditEvent.Action.ACTION,
                obj=user,
                name="api_token_issue",
                detail={"rotated": rotate},
            )
        self.stdout.write(token.key)
