"""The attention list: one list from every app, each item assignable, snoozable and
dismissable (audited), seen only by roles that open its area, counted in the menu."""

import datetime
import re

import pytest
from django.utils import timezone

from practicedesk.billing.models import ClaimStatusChange
from practicedesk.core.models import AuditEvent
from practicedesk.dashboard.models import AttentionState
from practicedesk.dashboard.selectors import attention_for
from tests import factories

pytestmark = pytest.mark.django_db

ATTENTION = "/dashboard/attention/"
ACT = "/dashboard/attention/act/"


@pytest.fixture
def items(db):
    """An overdue records request (scheduling) and a denial nobody worked for 10 days."""
    today = timezone.localdate()
    request = factories.RecordsRequestFactory(
        patient=factories.PatientFactory(last_name="Requester"),
        received_date=today - datetime.timedelta(days=45),
    )
    claim = factories.ClaimFactory(status="denied", denial_reason="CO-16 information missing")
    change = ClaimStatusChange.objects.create(
        claim=claim, from_status="submitted", to_status="denied"
    )
    ClaimStatusChange.objects.filter(pk=change.pk).update(
        at=timezone.now() - datetime.timedelta(days=10)
    )
    return {
        "records": f"scheduling.records_request.{request.pk}",
        "denial": f"billing.denial.{claim.pk}",
        "claim": claim,
    }


def nav_count(body: str) -> int | None:
    found = re.search(r'class="badge badge-warn nav-count"[^>]*>(\d+)<', body)
    return int(found.group(1)) if found else None


def test_the_list_gathers_every_apps_items_with_severity_due_date_owner_and_link(
    client, login, items
):
    login("manager")
    body = client.get(ATTENTION).content.decode()
    assert "Records request for Requester, " in body and "overdue since" in body
    assert f"Denied claim {items['claim'].claim_number}" in body
    assert items["claim"].get_absolute_url() in body
    assert "Critical" in body and "Biller" in body and "overdue" in body
    assert nav_count(body) == 2


def test_dismissing_needs_a_reason_is_audited_and_lowers_the_menu_count(client, login, items):
    manager = login("manager")
    client.get(ATTENTION)
    refused = client.post(ACT, {"action": "dismiss", "key": items["records"]}, follow=True)
    assert "Say why the item needs no action." in refused.content.decode()
    assert not AttentionState.objects.filter(dismissed_at__isnull=False).exists()

    client.post(ACT, {"action": "dismiss", "key": items["records"], "reason": "Sent by post"})
    state = AttentionState.objects.get(item_key=items["records"])
    assert state.dismissed_by == manager and state.dismiss_reason == "Sent by post"
    event = AuditEvent.objects.get(name="attention_dismiss")
    assert event.user == manager and event.detail["reason"] == "Sent by post"

    body = client.get("/dashboard/targets/").content.decode()
    assert nav_count(body) == 1
    listed = client.get(ATTENTION).content.decode()
    assert "Records request for" not in listed
    everything = client.get(ATTENTION, {"show": "all"}).content.decode()
    assert "Dismissed by" in everything and "Sent by post" in everything

    client.post(ACT, {"action": "restore", "key": items["records"], "show": "all"})
    assert nav_count(client.get(ATTENTION).content.decode()) == 2


def test_snoozing_hides_the_item_until_the_day_chosen(client, login, items):
    manager = login("manager")
    today = timezone.localdate()
    client.get(ATTENTION)
    refused = client.post(
        ACT,
        {"action": "snooze", "key": items["denial"], "until": today.isoformat(), "reason": "x"},
        follow=True,
    )
    assert "Snooze until a day after today." in refused.content.decode()
    tomorrow = today + datetime.timedelta(days=1)
    client.post(
        ACT,
        {
            "action": "snooze",
            "key": items["denial"],
            "until": tomorrow.isoformat(),
            "reason": "Payer call booked",
        },
    )
    assert AuditEvent.objects.filter(name="attention_snooze", user=manager).exists()
    assert [row.item.key for row in attention_for(manager)] == [items["records"]]
    back = attention_for(manager, today=tomorrow)
    assert {row.item.key for row in back} == {items["records"], items["denial"]}


def test_the_manager_assigns_an_item_to_someone_whose_role_opens_it(
    client, login, make_user, items
):
    manager = login("manager")
    biller = make_user("biller", username="bea", first_name="Bea", last_name="Biller")
    desk = make_user("front_desk", username="fred")
    client.get(ATTENTION)
    client.post(ACT, {"action": "assign", "key": items["denial"], "assignee": biller.pk})
    state = AttentionState.objects.get(item_key=items["denial"])
    assert state.assigned_to == biller and state.assigned_by == manager
    assert AuditEvent.objects.get(name="attention_assign").detail["assignee"] == biller.pk
    assert "Bea Biller" in client.get(ATTENTION).content.decode()

    refused = client.post(
        ACT, {"action": "assign", "key": items["denial"], "assignee": desk.pk}, follow=True
    )
    assert "cannot open this item" in refused.content.decode()
    assert AttentionState.objects.get(item_key=items["denial"]).assigned_to == biller


def test_the_front_desk_sees_and_works_only_the_items_of_its_areas(client, login, items):
    login("front_desk")
    body = client.get(ATTENTION).content.decode()
    assert "Records request for" in body and "Denied claim" not in body
    assert nav_count(body) == 1
    assert client.post(ACT, {"action": "assign", "key": items["records"]}).status_code == 403
    assert (
        client.post(ACT, {"action": "dismiss", "key": items["denial"], "reason": "no"}).status_code
        == 403
    )
    client.post(ACT, {"action": "dismiss", "key": items["records"], "reason": "Done"})
    assert AttentionState.objects.get(item_key=items["records"]).dismissed_at is not None


def test_the_owner_reads_the_billing_items_but_cannot_change_them(client, login, items):
    login("owner")
    body = client.get(ATTENTION).content.decode()
    assert "Denied claim" in body and "Records request for" not in body
    assert 'name="reason"' not in body and "Read only" in body
    response = client.post(ACT, {"action": "dismiss", "key": items["denial"], "reason": "no"})
    assert response.status_code == 403
    assert not AttentionState.objects.exists()
