"""The manager's choices about the dashboard: targets per KPI, and what was done with each
attention item (assigned, snoozed, dismissed). The figures and the items themselves are not
stored: every app computes them from its own data."""

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
