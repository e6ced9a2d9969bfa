"""The flow board drawn once and served to every screen that shows it.

Every screen at a location polls the same board every 15 seconds; drawing it (hundreds of
cards) costs far more than reading it back. A drawn board is kept per location (and whether
its buttons show) with the minute it was drawn in (its waiting times count in minutes) and
the board version, which any saved visit of today, flow step, patient, alert, room, provider
or visit type moves on. The cache is the database's (settings.CACHES), so the new version is
written in the same transaction as the change and seen with it, never before.
"""

import time

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.safestring import mark_safe

VERSION_KEY = "scheduling:flow-board:version"
KEPT_SECONDS = 120
DRAWING_SECONDS = 10


def board_drawn(location_id: int, can_change: bool, draw) -> str:
    """The board's HTML: as kept when it is still current, else ``draw()`` kept for the
    other screens. While one request draws a board anew, the others are served the board
    kept before (a few seconds old) instead of all drawing it at the same moment."""
    key = f"scheduling:flow-board:{location_id}:{int(can_change)}"
    found = cache.get_many([VERSION_KEY, key])
    current = (timezone.localtime().strftime("%Y%m%d%H%M"), found.get(VERSION_KEY, 0))
    kept = found.get(key)
    if kept is not None and (
        kept[0] == current or not cache.add(f"{key}:drawing", 1, DRAWING_SECONDS)
    ):
        return mark_safe(kept[1])  # noqa: S308 - the board template's own rendering
    html = draw()
    cache.set(key, (current, html), KEPT_SECONDS)
    cache.delete(f"{key}:drawing")
    return mark_safe(html)  # noqa: S308 - the board template's own rendering


def board_changed(sender, instance, **kwargs) -> None:
    # A visit on another day is on no board today (a board is redrawn each minute anyway):
    # booking ahead, the most frequent write, costs nothing here.
    if sender._meta.label == "scheduling.Appointment" and (
        timezone.localdate(instance.start) != timezone.localdate()
    ):
        return
    cache.set(VERSION_KEY, time.time_ns(), None)


def board_watch() -> None:
    """Move the version on whenever something a card shows is saved or deleted."""
    from practicedesk.patients.models import Patient, PatientAlert
    from practicedesk.scheduling.models import (
        Appointment,
        AppointmentType,
        FlowEvent,
        Provider,
        Room,
    )

    for model in (Appointment, AppointmentType, FlowEvent, Patient, PatientAlert, Provider, Room):
        post_save.connect(board_changed, sender=model, dispatch_uid=f"flow-board-{model}")
        post_delete.connect(board_changed, sender=model, dispatch_uid=f"flow-board-d-{model}")
