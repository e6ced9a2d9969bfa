"""The manager's choices about the dashboard: targets per KPI, and what was done with each
attention item (assigned, snoozed, dismissed); and the figures of closed months (``KpiMonth``),
kept so that a 12-month trend is read, not computed again. The current figures and the items
themselves are not stored: every app computes them from its own data."""

from django.conf import settings
from django.db import models
from django.urls import reverse

TARGET = {"max_digits": 12, "decimal_places": 2}


class KpiTarget(models.Model):
    """The manager's target and warning threshold for a KPI, practice-wide (no location) or
    for one location. Without a row the KPI's published default applies."""

    kpi_key = models.CharField("KPI", max_length=80)
    location = models.ForeignKey(
        "core.Location",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: the whole practice.",
    )
    target = models.DecimalField(**TARGET)
    warning = models.DecimalField("warning threshold", **TARGET)
    note = models.CharField(max_length=200, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kpi_key", "location__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["kpi_key"],
                condition=models.Q(location__isnull=True),
                name="one_practice_target_per_kpi",
            ),
            models.UniqueConstraint(
                fields=["kpi_key", "location"],
                condition=models.Q(location__isnull=False),
                name="one_location_target_per_kpi",
            ),
        ]

    def __str__(self) -> str:
        where = self.location.name if self.location_id else "practice"
        return f"Target of {self.kpi_key} ({where}): {self.target}"

    def get_absolute_url(self) -> str:
        return reverse("dashboard:targets")


class AttentionState(models.Model):
    """What people did with one attention item, found by the item's stable key."""

    item_key = models.CharField(max_length=200, unique=True)
    title = models.CharField(max_length=300, blank=True, help_text="The item as last seen.")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attention_assigned",
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateField(null=True, blank=True)
    snooze_reason = models.CharField(max_length=200, blank=True)
    snoozed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dismiss_reason = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["item_key"]
        indexes = [models.Index(fields=["assigned_to"])]

    def __str__(self) -> str:
        return self.title or self.item_key

    def get_absolute_url(self) -> str:
        return reverse("dashboard:attention")


class KpiMonth(models.Model):
    """A figure's value for one closed calendar month, practice-wide or at one location, as
    computed by its app's selector: the history the trends are drawn from.

    Taken the first time the month is shown once it is over, and taken again each night for
    the last months (``selectors.kpi_history_close``), so late postings reach it; older
    months stay as they closed, like a month-end report.
    """

    kpi_key = models.CharField("KPI", max_length=80)
    location = models.ForeignKey(
        "core.Location", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    month = models.DateField(help_text="The first day of the month.")
    value = models.CharField(
        max_length=40,
        null=True,
        blank=True,
        help_text="The Decimal exactly as computed, as text; empty: no data for the month.",
    )
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kpi_key", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["kpi_key", "month"],
                condition=models.Q(location__isnull=True),
                name="one_practice_value_per_kpi_month",
            ),
            models.UniqueConstraint(
                fields=["kpi_key", "location", "month"],
                condition=models.Q(location__isnull=False),
                name="one_location_value_per_kpi_month",
            ),
        ]
        indexes = [models.Index(fields=["month", "location"])]

    def __str__(self) -> str:
        return f"{self.kpi_key} {self.month:%Y-%m}: {self.value}"
