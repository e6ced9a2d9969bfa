"""/healthz: open to monitors, 200 while the database answers, 503 when it does not."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from practicedesk.core import selectors
from practicedesk.core.models import WorkerHeartbeat
from practicedesk.core.services import worker_heartbeat_record

pytestmark = pytest.mark.django_db


def test_healthz_answers_200_with_the_database_ok_and_no_worker_yet(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["status"] == "ok"
    assert body["worker"]["status"] == "absent"
    assert "time" in body


def test_healthz_is_ok_once_a_worker_has_reported(client):
    worker_heartbeat_record(worker_id="w1", started_at=timezone.now())
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["worker"]["status"] == "ok"
    assert body["worker"]["workers"] == 1


def test_a_worker_silent_for_minutes_is_reported_stale(client):
    worker_heartbeat_record(worker_id="w1", started_at=timezone.now() - timedelta(hours=1))
    WorkerHeartbeat.objects.update(last_seen=timezone.now() - timedelta(minutes=5))
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["worker"]["status"] == "stale"
    assert body["worker"]["seconds_since"] >= 300


def test_healthz_answers_503_when_the_database_does_not(client, monkeypatch):
    class UnreachableDatabase:
        vendor = "postgresql"

        def cursor(self):
            raise OperationalError('could not connect to server at "db.internal" port 5432')

    monkeypatch.setattr(selectors, "connection", UnreachableDatabase())
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"]["status"] == "error"
    # Open to anyone: it must not name the database host.
    assert "db.internal" not in response.content.decode()


def test_healthz_needs_no_sign_in_and_no_second_factor(client, make_user):
    assert client.get("/healthz").status_code == 200
    client.force_login(make_user("manager"))  # must enrol a second factor before pages open
    assert client.get("/jobs/").status_code == 302
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith(("no-cache", "max-age=0", "no-store"))
