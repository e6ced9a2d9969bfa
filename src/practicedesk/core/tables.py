import django_tables2 as tables
from auditlog.models import LogEntry

from practicedesk.core.models import AuditEvent, Location, User


class LocationTable(tables.Table):
    name = tables.Column(linkify=True)

    class Meta:
        model = Location
        fields = ("code", "name", "city", "state", "phone", "npi", "is_active")


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
        return record.changes_str if hasattr(record, "changes_str") else str(record.changes)


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
