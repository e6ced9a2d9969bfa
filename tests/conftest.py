import pytest
from django.contrib.auth.models import Group

from practicedesk.core.roles import ROLES


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def make_user(db):
    from tests.factories import UserFactory

    def make(role_key: str | None = None, **kwargs):
        user = UserFactory(**kwargs)
        if role_key:
            role = next(role for role in ROLES if role.key == role_key)
            user.groups.add(Group.objects.get(name=role.name))
        return user

    return make


@pytest.fixture
def manager(make_user):
    return make_user("manager", username="mgr", two_factor_exempt=True)


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client
