"""Generic auditing only (DESIGN.md: signals never carry business rules).

Sign-ins, sign-outs and failed sign-ins become audit events; the change log cannot be
rewritten; the roles are re-applied after every migrate.
"""

from auditlog.models import LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_migrate, pre_delete, pre_save
from django.dispatch import receiver

from practicedesk.core.models import AuditEvent
from practicedesk.core.services import audit_event_record, roles_sync


@receiver(user_logged_in)
def record_login(sender, request, user, **kwargs):
    audit_event_record(action=AuditEvent.Action.LOGIN, user=user, request=request)


@receiver(user_logged_out)
def record_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_event_record(action=AuditEvent.Action.LOGOUT, user=user, request=request)


@receiver(user_login_failed)
def record_login_failed(sender, credentials, request=None, **kwargs):
    event = audit_event_record(
        action=AuditEvent.Action.LOGIN_FAILED,
        request=request,
        detail={"username": credentials.get("username", "")[:150]},
    )
    return event


@receiver(pre_save, sender=LogEntry)
def refuse_change_log_edit(sender, instance, raw=False, **kwargs):
    if raw:
        return  # fixtures and test-database restores load rows as they were
    if instance.pk is not None and LogEntry.objects.filter(pk=instance.pk).exists():
        raise PermissionError("The audit log is append-only; entries cannot be changed.")


@receiver(pre_delete, sender=LogEntry)
def refuse_change_log_delete(sender, instance, **kwargs):
    raise PermissionError("The audit log is append-only; entries cannot be deleted.")


def apply_roles_after_migrate(sender, **kwargs):
    if sender.label == "core":
        roles_sync()


post_migrate.connect(apply_roles_after_migrate, dispatch_uid="practicedesk.roles_sync")
