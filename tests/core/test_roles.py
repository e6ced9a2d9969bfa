import pytest
from django.contrib.auth.models import Group

from practicedesk.core.models import RolePolicy
from practicedesk.core.permissions import can
from practicedesk.core.roles import ACTIONS, AREAS, ROLES
from practicedesk.core.services import roles_sync

pytestmark = pytest.mark.django_db


def test_every_role_is_a_group_with_exactly_its_declared_permissions():
    for role in ROLES:
        group = Group.objects.get(name=role.name)
        granted = set(group.permissions.values_list("codename", flat=True))
        declared = {
            f"{area}_{action}" for area, actions in role.grants.items() for action in actions
        }
        assert granted == declared, role.name


def test_roles_sync_reapplies_permissions_edited_by_hand():
    group = Group.objects.get(name="Front desk")
    group.permissions.clear()
    roles_sync()
    assert group.permissions.filter(codename="patients_view").exists()
    assert not group.permissions.filter(codename="finance_view").exists()


def test_front_desk_cannot_see_ledger_staff_or_audit(make_user):
    user = make_user("front_desk")
    assert can(user, "patients", "view")
    assert not can(user, "finance", "view")
    assert not can(user, "staff", "view")
    assert not can(user, "audit", "view")


def test_owner_is_read_only_over_finance_and_dashboard(make_user):
    user = make_user("owner")
    for area in ("finance", "dashboard"):
        assert can(user, area, "view")
        for action in ("add", "change", "delete", "approve"):
            assert not can(user, area, action)


def test_two_factor_is_required_by_default_for_privileged_roles():
    required = {policy.group.name for policy in RolePolicy.objects.filter(requires_two_factor=True)}
    assert required == {"Practice manager", "Owner", "HR", "Bookkeeper"}


def test_roles_page_shows_the_whole_matrix(manager_client):
    response = manager_client.get("/roles/")
    assert response.status_code == 200
    body = response.content.decode()
    for role in ROLES:
        assert role.name in body
    for label in AREAS.values():
        assert label in body
    for label in ACTIONS.values():
        assert label in body


def test_unknown_permission_is_a_programming_error(make_user):
    with pytest.raises(ValueError, match="declare it"):
        can(make_user("manager"), "spaceships", "view")
