"""Admin for the superuser's maintenance; the audit log stays read-only here too."""

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from practicedesk.core.models import AuditEvent, Document, Location, Organization, User


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class PracticeUserAdmin(UserAdmin):
    fieldsets = (
        *UserAdmin.fieldsets,
        (
            "Practice Desk",
            {"fields": ("phone", "home_location", "two_factor_exempt", "digest_enabled")},
        ),
    )


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "username", "action", "name", "object_repr", "remote_addr")
    list_filter = ("action",)


class ImmutableLogEntryAdmin(ReadOnlyAdmin, LogEntryAdmin):
    pass


admin.site.unregister(LogEntry)
admin.site.register(LogEntry, ImmutableLogEntryAdmin)
admin.site.register(Organization)
admin.site.register(Location)
admin.site.register(Document, ReadOnlyAdmin)
