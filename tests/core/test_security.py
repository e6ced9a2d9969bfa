import subprocess
import sys
import time

import pytest
from django.contrib.auth.models import Group
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from practicedesk import settings as production_settings
from practicedesk.core.middleware import LAST_ACTIVITY_KEY
from practicedesk.core.models import AuditEvent, RolePolicy
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def login(client, username, password=TEST_PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def current_token(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_passwords_are_hashed_with_argon2_outside_tests():
    assert production_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_debug_is_off_unless_asked_for():
    assert production_settings.DEBUG is False


def test_production_refuses_the_default_secret_key():
    result = subprocess.run(
        [sys.executable, "-c", "import practicedesk.settings"],
        env={"PRACTICEDESK_PRODUCTION": "true", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_repeated_failed_logins_lock_the_account(client, make_user):
    user = make_user("front_desk")
    for _ in range(5):
        login(client, user.username, "wrong-password")
    response = login(client, user.username)
    assert response.status_code == 429
    assert "locked" in response.content.decode().lower()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).count() >= 5


def test_a_failed_login_says_what_is_wrong_and_signs_nobody_in(client, make_user):
    user = make_user("front_desk")
    response = login(client, user.username, "wrong-password")
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_idle_session_is_signed_out_after_the_limit(client, make_user, settings):
    user = make_user("front_desk")
    login(client, user.username)
    session = client.session
    session[LAST_ACTIVITY_KEY] = time.time() - settings.IDLE_LOGOFF_SECONDS - 5
    session.save()
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(action=AuditEvent.Action.IDLE_LOGOFF, user=user).exists()


def test_polling_does_not_keep_an_idle_session_alive(client, make_user):
    user = make_user("front_desk")
    login(client, user.username)
    session = client.session
    stamp = time.time() - 60
    session[LAST_ACTIVITY_KEY] = stamp
    session.save()
    client.get("/", headers={"X-Poll": "1"})
    assert client.session[LAST_ACTIVITY_KEY] == stamp
    client.get("/")
    assert client.session[LAST_ACTIVITY_KEY] > stamp


def test_manager_must_enrol_a_second_factor_before_anything_opens(client, make_user):
    user = make_user("manager")
    login(client, user.username)
    response = client.get("/locations/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/two-factor/setup/"
    page = client.get("/accounts/two-factor/setup/")
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    wrong = client.post("/accounts/two-factor/setup/", {"token": "000000"})
    assert "not right" in wrong.content.decode()
    device.refresh_from_db()
    device.throttle_reset()
    client.post("/accounts/two-factor/setup/", {"token": current_token(device)})
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/locations/").status_code == 200


def test_an_enrolled_user_is_asked_for_the_code_at_each_sign_in(client, make_user):
    user = make_user("manager")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    login(client, user.username)
    response = client.get("/locations/")
    assert response["Location"].startswith("/accounts/two-factor/")
    client.post(
        "/accounts/two-factor/?next=/locations/",
        {"token": current_token(device), "next": "/locations/"},
    )
    assert client.get("/locations/").status_code == 200


def test_demo_users_sign_in_without_a_second_factor_and_are_told_so(client, make_user):
    user = make_user("manager", two_factor_exempt=True)
    login(client, user.username)
    response = client.get("/", follow=True)
    assert response.redirect_chain == [("/dashboard/", 302)]
    assert "Two-factor sign-in is off for this demo account" in response.content.decode()


def test_manager_can_require_two_factor_for_another_role(client, make_user):
    manager = make_user("manager", two_factor_exempt=True)
    front_desk_user = make_user("front_desk")
    client.force_login(manager)
    front_desk = Group.objects.get(name="Front desk")
    data = {
        f"role_{policy.group_id}": "on"
        for policy in RolePolicy.objects.filter(requires_two_factor=True)
    }
    data[f"role_{front_desk.pk}"] = "on"
    assert client.post("/roles/", data).status_code == 302
    assert RolePolicy.objects.get(group=front_desk).requires_two_factor
    client.logout()
    login(client, front_desk_user.username)
    assert client.get("/")["Location"] == "/accounts/two-factor/setup/"


def test_pages_carry_a_strict_content_security_policy(manager_client):
    response = manager_client.get("/dashboard/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cache-Control"] == "no-store, private"


def test_no_page_loads_anything_from_another_host(manager_client):
    body = manager_client.get("/", follow=True).content.decode()
    for attribute in ('src="http', "src='http", 'href="http', "href='http", "url(http"):
        assert attribute not in body


def test_a_malformed_url_gets_a_plain_not_found_page(manager_client):
    response = manager_client.get("/locations/999999/")
    assert response.status_code == 404
    assert "Traceback" not in response.content.decode()


def test_a_superuser_without_any_role_still_needs_a_second_factor(client, make_user):
    user = make_user(is_superuser=True, is_staff=True)
    login(client, user.username)
    assert client.get("/")["Location"] == "/accounts/two-factor/setup/"
