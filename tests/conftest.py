import email
import email.policy
import socket

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler keeping what arrives; refuses recipients starting with "bounce"."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):
            return "550 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


@pytest.fixture
def mailbox(settings):
    """A real SMTP server on the loopback; Django's SMTP backend sends to it."""
    from aiosmtpd.controller import Controller

    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.PUBLIC_BASE_URL = "https://desk.example.test"
    yield handler
    controller.stop()
