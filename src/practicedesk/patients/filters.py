import django_filters

from practicedesk.core.filters import SearchFilterSet
from practicedesk.core.models import Location
from practicedesk.patients.models import Patient, Payer, ReferralSource
from practicedesk.patients.selectors import patient_search, search_kind


class PatientFilterSet(django_filters.FilterSet):
    """One search box (name, date of birth, MRN or phone), status and home location.

    Merged records are left out unless asked for by status, or found by their MRN or phone,
    so an old MRN on paper still leads to the record it was merged into.
    """

    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=Patient.Status.choices)
    home_location = django_filters.ModelChoiceFilter(
        queryset=Location.objects.all(), label="Home location"
    )

    class Meta:
        model = Patient
        fields = ["q", "status", "home_location"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["q"].field.help_text = "Name, date of birth, MRN or phone"

    def search(self, queryset, name, value):
        return patient_search(value, queryset)

    @property
    def qs(self):
        if not hasattr(self, "_patients"):
            queryset = super().qs
            data = self.form.cleaned_data if self.is_bound and self.form.is_valid() else {}
            if not data.get("status") and search_kind(data.get("q") or "") != "number":
                queryset = queryset.exclude(status=Patient.Status.MERGED)
            self._patients = queryset
        return self._patients


class PayerFilterSet(SearchFilterSet):
    search_fields = ("name", "payer_id", "city")

    class Meta:
        model = Payer
        fields = ["q", "payer_type", "is_active"]


class ReferralSourceFilterSet(SearchFilterSet):
    search_fields = ("name",)

    class Meta:
        model = ReferralSource
        fields = ["q", "kind", "is_active"]
