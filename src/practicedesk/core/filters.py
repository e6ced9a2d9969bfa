import django_filters
from auditlog.models import LogEntry
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django_tasks_db.models import DBTaskResult

from practicedesk.core.models import AuditEvent, Document, Location, User
from practicedesk.core.selectors.jobs import JOB_STATES


class SearchFilterSet(django_filters.FilterSet):
    """A FilterSet with a free-text ``q`` over ``search_fields``."""

    search_fields: tuple[str, ...] = ()
    q = django_filters.CharFilter(method="search", label="Search")

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value})
        return queryset.filter(condition)


class LocationFilterSet(SearchFilterSet):
    search_fields = ("name", "code", "city", "npi")

    class Meta:
        model = Location
        fields = ["q", "state", "is_active"]


class UserFilterSet(SearchFilterSet):
    search_fields = ("username", "first_name", "last_name", "email")
    groups = django_filters.CharFilter(field_name="groups__name", label="Role")

    class Meta:
        model = User
        fields = ["q", "is_active"]


class DocumentFilterSet(SearchFilterSet):
    search_fields = ("title", "original_name", "notes")
    document_type = django_filters.ChoiceFilter(choices=Document.Type.choices, label="Type")
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label="Owner")
    retain_before = django_filters.DateFilter(
        field_name="retain_until",
        lookup_expr="lte",
        label="Kept until on or before",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Document
        fields = ["q", "document_type", "owner", "retain_before"]


def content_type_choices():
    return ContentType.objects.order_by("app_label", "model")


class DateRangeFields(django_filters.FilterSet):
    date_from = django_filters.DateFilter(
        label="From", lookup_expr="date__gte", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(
        label="To", lookup_expr="date__lte", widget=forms.DateInput(attrs={"type": "date"})
    )


class AuditChangeFilterSet(DateRangeFields):
    actor = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label="User")
    action = django_filters.ChoiceFilter(choices=LogEntry.Action.choices)
    content_type = django_filters.ModelChoiceFilter(
        queryset=content_type_choices(), label="Object type"
    )
    object_pk = django_filters.CharFilter(label="Object id")

    class Meta:
        model = LogEntry
        fields = ["actor", "action", "content_type", "object_pk"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["date_from"].field_name = "timestamp"
        self.filters["date_to"].field_name = "timestamp"


class AuditEventFilterSet(DateRangeFields):
    user = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label="User")
    action = django_filters.ChoiceFilter(choices=AuditEvent.Action.choices)
    content_type = django_filters.ModelChoiceFilter(
        queryset=content_type_choices(), label="Object type"
    )
    object_id = django_filters.CharFilter(label="Object id")

    class Meta:
        model = AuditEvent
        fields = ["user", "action", "content_type", "object_id"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["date_from"].field_name = "at"
        self.filters["date_to"].field_name = "at"


class JobFilterSet(SearchFilterSet):
    search_fields = ("task_path",)
    status = django_filters.ChoiceFilter(
        choices=[(status, state.word) for status, state in JOB_STATES.items()], label="State"
    )

    class Meta:
        model = DBTaskResult
        fields = ["q", "status"]
