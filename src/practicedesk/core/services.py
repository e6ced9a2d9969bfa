"""Core business actions: audit events, roles, two-factor policy, documents."""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.http import HttpRequest

from practicedesk.core.models import AccessMatrix, AuditEvent, RolePolicy, User
from practicedesk.core.roles import ACTIONS, ROLES, codename


def client_address(request: HttpRequest | None) -> str | None:
    """The address the request came from; behind a proxy, the first X-Forwarded-For hop."""
    if request is None:
        return None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def audit_event_record(
    *,
    action: str,
    user: User | None = None,
    request: HttpRequest | None = None,
    obj: models.Model | None = None,
    name: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event: a read of protected data, a sign-in, an export, a business action."""
    if user is None and request is not None and request.user.is_authenticated:
        user = request.user
    return AuditEvent.objects.create(
        action=action,
        user=user if user is not None and user.pk else None,
        username=user.get_username() if user is not None else "",
        remote_addr=client_address(request),
        name=name,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        path=request.get_full_path()[:300] if request is not None else "",
        detail=detail or {},
    )


@transaction.atomic
def roles_sync() -> list[Group]:
    """Make every role's group hold exactly the permissions ``core.roles`` declares."""
    content_type = ContentType.objects.get_for_model(AccessMatrix, for_concrete_model=False)
    wanted = dict(AccessMatrix._meta.permissions)
    for code, name in wanted.items():
        Permission.objects.update_or_create(
            content_type=content_type, codename=code, defaults={"name": name}
        )
    Permission.objects.filter(content_type=content_type).exclude(codename__in=wanted).delete()
    by_codename = {p.codename: p for p in Permission.objects.filter(content_type=content_type)}
    groups = []
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role.name)
        group.permissions.set(
            by_codename[codename(area, action)]
            for area, actions in role.grants.items()
            for action in ACTIONS
            if action in actions
        )
        RolePolicy.objects.get_or_create(
            group=group, defaults={"requires_two_factor": role.two_factor_default}
        )
        groups.append(group)
    return groups


@transaction.atomic
def role_two_factor_set(*, acting_user: User, group: Group, required: bool) -> RolePolicy:
    policy, _ = RolePolicy.objects.select_for_update().get_or_create(group=group)
    policy.requires_two_factor = required
    policy.full_clean()
    policy.save()
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=policy,
        name="role_two_factor_set",
        detail={"role": group.name, "requires_two_factor": required},
    )
    return policy


def user_requires_two_factor(user: User) -> bool:
    if not user.is_authenticated or user.two_factor_exempt:
        return False
    return RolePolicy.objects.filter(group__in=user.groups.all(), requires_two_factor=True).exists()


@transaction.atomic
def user_roles_set(*, acting_user: User, user: User, role_groups: Iterable[Group]) -> User:
    role_groups = list(role_groups)
    user.groups.set(role_groups)
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=user,
        name="user_roles_set",
        detail={"roles": sorted(group.name for group in role_groups)},
    )
    return user
