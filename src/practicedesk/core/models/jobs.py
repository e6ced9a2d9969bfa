from django.db import models


class JobProgress(models.Model):
    """How far a long background job has come; the Jobs page polls it."""

    task_result_id = models.CharField(max_length=64, unique=True)
    current = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name_plural = "job progress"

    def __str__(self) -> str:
        return f"{self.current}/{self.total} {self.message}"

    @property
    def percent(self) -> int:
        if not self.total:
            return 0
        return min(100, round(100 * self.current / self.total))


class WorkerHeartbeat(models.Model):
    """Each running worker writes here every few seconds, so /healthz can tell it is alive."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=120)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"


class PeriodicRun(models.Model):
    """When each periodic job (declared in an app's ``periodic.py``) was last enqueued.

    Workers claim a due job by locking its row, so with several workers each run happens once.
    """

    name = models.CharField(max_length=100, unique=True)
    last_enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (last {self.last_enqueued_at or 'never'})"
