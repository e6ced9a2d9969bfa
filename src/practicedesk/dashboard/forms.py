import datetime

from django import forms
from django.utils import timezone

from practicedesk.core.models import Location, User
from practicedesk.dashboard.periods import PERIOD_CHOICES, Period, period_for

DATE = forms.DateInput(attrs={"type": "date"})
CUSTOM_MAX_DAYS = 3 * 366


class PeriodForm(forms.Form):
    """The period and location the dashboard shows (the query string of every page)."""

    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False, initial="this_month")
    start = forms.DateField(label="From", required=False, widget=DATE)
    end = forms.DateField(label="To", required=False, widget=DATE)
    location = forms.ModelChoiceField(
        queryset=Location.objects.filter(is_active=True).order_by("name"),
        required=False,
        empty_label="All locations",
    )

    def clean(self):
        data = super().clean()
        if data.get("period") == "custom":
            start, end = data.get("start"), data.get("end")
            if start is None or end is None:
                raise forms.ValidationError("A custom period needs both a first and a last day.")
            if start > end:
                raise forms.ValidationError("The period starts after it ends.")
            if (end - start).days > CUSTOM_MAX_DAYS:
                raise forms.ValidationError("Choose a period of at most three years.")
        return data

    def chosen(self, today: datetime.date | None = None) -> tuple[Period, Location | None]:
        """The period and location asked for; this month, all locations, if the form is not
        valid (its errors are shown)."""
        today = today or timezone.localdate()
        if not self.is_valid():
            return period_for("this_month", today), None
        data = self.cleaned_data
        period = period_for(
            data.get("period") or "this_month", today, data.get("start"), data.get("end")
        )
        return period, data.get("location")


class TargetForm(forms.Form):
    kpi_key = forms.CharField(widget=forms.HiddenInput)
    location = forms.ModelChoiceField(
        queryset=Location.objects.filter(is_active=True).order_by("name"),
        required=False,
        empty_label="Whole practice",
    )
    # Text, not DecimalField: the service gives the manager its own plain message.
    target = forms.CharField(max_length=20)
    warning = forms.CharField(label="Warning threshold", max_length=20)
    note = forms.CharField(max_length=200, required=False)


class AssignForm(forms.Form):
    key = forms.CharField(widget=forms.HiddenInput)
    assignee = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("last_name", "first_name"),
        required=False,
        empty_label="Nobody",
        label="Assign to",
    )


class SnoozeForm(forms.Form):
    key = forms.CharField(widget=forms.HiddenInput)
    until = forms.DateField(label="Snooze until", widget=DATE, required=False)
    reason = forms.CharField(max_length=200, required=False)


class DismissForm(forms.Form):
    key = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(max_length=200, required=False)


class RestoreForm(forms.Form):
    key = forms.CharField(widget=forms.HiddenInput)
