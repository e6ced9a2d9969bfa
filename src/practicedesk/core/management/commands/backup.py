from django.core.management.base import BaseCommand, CommandError

from practicedesk.core.services import BackupError, database_backup


class Command(BaseCommand):
    # A backup or restore must work even while some other part of the app fails its checks.
    requires_system_checks = []
    help = (
        "Write the whole database to FILE: an SQLite copy made with the online backup API "
        "(safe while the app runs), or a pg_dump custom-format file on PostgreSQL. "
        "Uploaded documents are not in the database; back up MEDIA_ROOT or the bucket too."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Where to write the backup, e.g. var/backup.db.")
        parser.add_argument(
            "--overwrite", action="store_true", help="Replace FILE if it already exists."
        )

    def handle(self, *args, file, overwrite, **options):
        try:
            result = database_backup(path=file, overwrite=overwrite)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {result.path} ({result.size_text}, {result.table_count} tables)."
            )
        )
