"""The audit log pages: record changes (before/after) and events (reads, sign-ins, exports)."""

from auditlog.models import LogEntry

from practicedesk.core.filters import AuditChangeFilterSet, AuditEventFilterSet
from practicedesk.core.models import AuditEvent
from practicedesk.core.selectors import audit_changes, audit_events
from practicedesk.core.tables import AuditChangeTable, AuditEventTable
from practicedesk.core.views.generic import ObjectListView


class AuditChangeListView(ObjectListView):
    area = "audit"
    model = LogEntry
    title = "Audit log: record changes"
    template_name = "core/audit_list.html"
    table_class = AuditChangeTable
    filterset_class = AuditChangeFilterSet
    paginate_by = 50

    def get_queryset(self):
        return audit_changes()


class AuditEventListView(ObjectListView):
    area = "audit"
    model = AuditEvent
    title = "Audit log: reads, sign-ins and actions"
    template_name = "core/audit_list.html"
    table_class = AuditEventTable
    filterset_class = AuditEventFilterSet
    paginate_by = 50

    def get_queryset(self):
        return audit_events()
