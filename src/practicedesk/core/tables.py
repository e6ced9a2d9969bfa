import django_tables2 as tables
from auditlog.models import LogEntry
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from practicedesk.core.models import AuditEvent, Document, Location, User
from practicedesk.core.selectors import (
    change_lines,
    document_attached_record,
    duration_text,
    job_duration,
    job_state,
    job_task_label,
)


class LocationTable(tables.Table):
    name = tables.Column(linkify=True)

    class Meta:
        model = Location
        fields = ("code", "name", "city", "state", "phone", "npi", "is_active")


class DocumentTable(tables.Table):
    title = tables.Column(linkify=True)
    size_bytes = tables.Column(verbose_name="Size")
    retain_until = tables.DateColumn(verbose_name="Keep until")
    attached_to = tables.Column(empty_values=(), orderable=False, verbose_name="Attached to")

    class Meta:
        model = Document
        fields = (
            "title",
            "document_type",
            "owner",
            "size_bytes",
            "retain_until",
            "attached_to",
            "uploaded_at",
        )

    def render_size_bytes(self, value):
        return filesizeformat(value)

    def value_size_bytes(self, value):
        return value

    def render_attached_to(self, record):
        target = document_attached_record(record)
        if target is None:
            return "—"
        if hasattr(target, "get_absolute_url"):
            return format_html('<a href="{}">{}</a>', target.get_absolute_url(), target)
        return str(target)

    def value_attached_to(self, record):
        target = document_attached_record(record)
        return str(target) if target is not None else ""


class UserTable(tables.Table):
    username = tables.Column(linkify=True)
    roles = tables.Column(empty_values=(), orderable=False, verbose_name="Roles")

    class Meta:
        model = User
        fields = (
            "username",
            "first_name",
            "last_name",
            "email",
            "roles",
            "is_active",
            "last_login",
        )

    def render_roles(self, record):
        return ", ".join(record.role_names) or "—"

    def value_roles(self, record):
        return "; ".join(record.role_names)


class AuditChangeTable(tables.Table):
    timestamp = tables.DateTimeColumn(verbose_name="When", format="Y-m-d H:i:s")
    actor = tables.Column(verbose_name="Who", default="system")
    remote_addr = tables.Column(verbose_name="From")
    action = tables.Column(verbose_name="Action")
    content_type = tables.Column(verbose_name="Object type")
    object_repr = tables.Column(verbose_name="Object")
    changes = tables.TemplateColumn(
        template_name="core/partials/audit_changes_cell.html",
        orderable=False,
        verbose_name="Changes",
    )

    class Meta:
        model = LogEntry
        fields = (
            "timestamp",
            "actor",
            "remote_addr",
            "action",
            "content_type",
            "object_pk",
            "object_repr",
            "changes",
        )
        order_by = ("-timestamp",)

    def value_changes(self, record):
        return "; ".join(
            f"{field}: {before or '∅'} → {after or '∅'}"
            for field, before, after in change_lines(record)
        )


class AuditEventTable(tables.Table):
    at = tables.DateTimeColumn(verbose_name="When", format="Y-m-d H:i:s")
    username = tables.Column(verbose_name="Who", default="system")
    remote_addr = tables.Column(verbose_name="From")
    content_type = tables.Column(verbose_name="Object type")

    class Meta:
        model = AuditEvent
        fields = (
            "at",
            "username",
            "remote_addr",
            "action",
            "name",
            "content_type",
            "object_id",
            "object_repr",
            "path",
        )
        order_by = ("-at",)


class JobTable(tables.Table):
    """Recent background jobs. The view sets ``progress_by_id`` for the shown page only."""

    task_path = tables.Column(
        verbose_name="Task", linkify=("core:job_detail", {"pk": tables.A("pk")})
    )
    status = tables.Column(verbose_name="State")
    enqueued_at = tables.DateTimeColumn(verbose_name="Queued", format="Y-m-d H:i:s")
    started_at = tables.DateTimeColumn(verbose_name="Started", format="Y-m-d H:i:s")
    finished_at = tables.DateTimeColumn(verbose_name="Finished", format="Y-m-d H:i:s")
    duration = tables.Column(empty_values=(), orderable=False)
    progress = tables.Column(empty_values=(), orderable=False)

    class Meta:
        model = DBTaskResult
        fields = ("task_path", "status", "enqueued_at", "started_at", "finished_at")
        sequence = (*fields, "duration", "progress")
        order_by = ("-enqueued_at",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.progress_by_id: dict = {}

    def render_task_path(self, value):
        return job_task_label(value)

    def value_task_path(self, value):
        return job_task_label(value)

    # ``value`` would be the choice's label; the state's word and colour go by its code.
    def render_status(self, record):
        state = job_state(record.status)
        return format_html('<span class="badge {}">{}</span>', state.badge, state.word)

    def value_status(self, record):
        return job_state(record.status).word

    def render_duration(self, record):
        return duration_text(job_duration(record)) or "—"

    def value_duration(self, record):
        return duration_text(job_duration(record))

    def render_progress(self, record):
        progress = self.progress_by_id.get(str(record.pk))
        if record.status == TaskResultStatus.RUNNING:
            if progress is None or not progress.total:
                # No count yet: an indeterminate bar says "working" without a number.
                return format_html('<progress aria-label="Running">Running</progress>')
            return format_html(
                '<progress value="{}" max="{}" aria-label="{}% done">{}%</progress>'
                ' <span class="muted">{}</span>',
                progress.current,
                progress.total,
                progress.percent,
                progress.percent,
                progress.message or f"{progress.current} of {progress.total}",
            )
        if progress is not None and progress.total:
            return f"{progress.current} of {progress.total}"
        return "—"

    def value_progress(self, record):
        progress = self.progress_by_id.get(str(record.pk))
        return f"{progress.current}/{progress.total}" if progress else ""
