"""Roles: re-applying the declared matrix, the two-factor policy, a user's roles."""

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from practicedesk.core.models import AccessMatrix, AuditEvent, RolePolicy, User
from practicedesk.core.roles import ACTIONS, ROLES, codename
from practicedesk.core.services.audit import audit_event_record


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
    if user.is_superuser:
        return True  # the superuser can do everything, so always needs a second factor
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
