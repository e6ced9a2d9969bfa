from django.core.management import call_command
from django.core.management.base import BaseCommand

from practicedesk.settings import VAR_DIR


class Command(BaseCommand):
    help = "Prepare a database and static files to serve: migrate, cache table, roles, demo data."

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo-size",
            choices=["none", "small", "clinic", "group"],
            default="small",
            help="Load demo data of this size (idempotent); 'none' loads nothing.",
        )

    def handle(self, *args, demo_size, **options):
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write("Database migrated, roles applied, static files collected.")
        if demo_size != "none":
            call_command("demo", size=demo_size, stdout=self.stdout)
