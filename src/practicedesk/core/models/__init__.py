"""Core models: the organization and its locations, users and roles, audit, documents, jobs."""

from practicedesk.core.models.audit import AuditEvent
from practicedesk.core.models.documents import Document
from practicedesk.core.models.jobs import JobProgress, PeriodicRun, WorkerHeartbeat
from practicedesk.core.models.organization import Address, Location, Organization
from practicedesk.core.models.sequences import Sequence
from practicedesk.core.models.users import AccessMatrix, RolePolicy, User

__all__ = [
    "AccessMatrix",
    "Address",
    "AuditEvent",
    "Document",
    "JobProgress",
    "Location",
    "Organization",
    "PeriodicRun",
    "RolePolicy",
    "Sequence",
    "User",
    "WorkerHeartbeat",
]
