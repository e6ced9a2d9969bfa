"""`practicedesk worker`: django-tasks-db's database worker that also reports it is alive.

The heartbeat is written by a small thread, not by the task loop, so a worker busy with one
long job (checking thousands of documents) still reads as alive on ``/healthz``. The same
thread enqueues the periodic jobs that are due (``core.periodic``): reminders, digests.
"""

import logging
import os
import threading

from django.core.management.base import CommandError
from django.db import DatabaseError, connection
from django.utils import timezone
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker

from practicedesk.core.periodic import periodic_enqueue_due
from practicedesk.core.services import (
    worker_heartbeat_record,
    worker_heartbeat_remove,
    worker_heartbeats_prune,
)

logger = logging.getLogger("practicedesk.worker")

HEARTBEAT_SECONDS = 10


class HeartbeatWorker(Worker):
    heartbeat_seconds: float = HEARTBEAT_SECONDS

    def run(self) -> None:
        started_at = timezone.now()
        worker_heartbeats_prune()
        worker_heartbeat_record(worker_id=self.worker_id, started_at=started_at)
        stop = threading.Event()
        beater = threading.Thread(
            target=self.beat_until, args=(stop, started_at), name="worker-heartbeat", daemon=True
        )
        beater.start()
        try:
            super().run()
        finally:
            stop.set()
            beater.join(timeout=self.heartbeat_seconds)
            try:
                worker_heartbeat_remove(worker_id=self.worker_id)
            except DatabaseError:
                logger.warning("Could not remove the heartbeat of worker %s", self.worker_id)

    def beat_until(self, stop: threading.Event, started_at) -> None:
        try:
            while not stop.wait(self.heartbeat_seconds):
                try:
                    worker_heartbeat_record(worker_id=self.worker_id, started_at=started_at)
                    periodic_enqueue_due()
                except DatabaseError:
                    # The database may be briefly locked or away; the next beat tries again.
                    logger.warning("Could not record the heartbeat of worker %s", self.worker_id)
        finally:
            connection.close()


class Command(DBWorkerCommand):
    help = "Run the background-task worker (and report its heartbeat for /healthz)."

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options,
    ) -> None:
        # The same steps as db_worker's handle(), with our Worker class in place of its own.
        self.configure_logging(verbosity)
        reload = reload and not batch
        queue_names = queue_name.split(",")
        excluded_queue_names = exclude_queues.split(",") if exclude_queues else []
        if excluded_queue_names and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = HeartbeatWorker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded_queue_names,
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
