"""Core business actions, one module per concern; import them from here."""

from practicedesk.core.services.audit import audit_event_record, client_address
from practicedesk.core.services.backup import (
    BackupError,
    BackupResult,
    backup_inspect,
    database_backup,
    database_restore,
)
from practicedesk.core.services.documents import (
    document_delete,
    document_file_inspect,
    document_upload,
)
from practicedesk.core.services.jobs import (
    job_progress_report,
    job_retry,
    job_start,
    worker_heartbeat_record,
    worker_heartbeat_remove,
    worker_heartbeats_prune,
)
from practicedesk.core.services.roles import (
    role_two_factor_set,
    roles_sync,
    user_requires_two_factor,
    user_roles_set,
)
from practicedesk.core.services.sequences import sequence_next

__all__ = [
    "BackupError",
    "BackupResult",
    "audit_event_record",
    "backup_inspect",
    "client_address",
    "database_backup",
    "database_restore",
    "document_delete",
    "document_file_inspect",
    "document_upload",
    "job_progress_report",
    "job_retry",
    "job_start",
    "role_two_factor_set",
    "roles_sync",
    "sequence_next",
    "user_requires_two_factor",
    "user_roles_set",
    "worker_heartbeat_record",
    "worker_heartbeat_remove",
    "worker_heartbeats_prune",
]
