import django_tables2 as tables
from django.utils.html import format_html

from practicedesk.patients.models import Patient, Payer, ReferralSource
from practicedesk.patients.selectors import patients_by_name

STATUS_BADGES = {
    Patient.Status.ACTIVE: "badge-ok",
    Patient.Status.INACTIVE: "badge-muted",
    Patient.Status.DECEASED: "badge-muted",
    Patient.Status.MERGED: "badge-warn",
}


class PatientTable(tables.Table):
    mrn = tables.Column(verbose_name="MRN", linkify=True)
    last_name = tables.Column(verbose_name="Last name", linkify=True)
    first_name = tables.Column(verbose_name="First name")
    date_of_birth = tables.DateColumn(verbose_name="Date of birth", format="Y-m-d")
    home_location = tables.Column(verbose_name="Home location")
    # In the CSV export, not on the screen (the list stays one screen wide).
    preferred_name = tables.Column(visible=False)
    home_phone = tables.Column(visible=False)
    email = tables.Column(visible=False)

    class Meta:
        model = Patient
        fields = (
            "mrn",
            "last_name",
            "first_name",
            "preferred_name",
            "date_of_birth",
            "sex_at_birth",
            "mobile_phone",
            "home_phone",
            "email",
            "home_location",
            "status",
        )
        order_by = ("last_name",)

    def order_last_name(self, queryset, is_descending):
        """By the whole normalised name (last, first, middle), through the index the search
        uses, so a name search's page is read in order instead of sorted."""
        return patients_by_name(queryset, descending=is_descending), True

    def render_status(self, record, value):
        return format_html(
            '<span class="badge {}">{}</span>', STATUS_BADGES.get(record.status, ""), value
        )

    def value_status(self, record):
        return record.get_status_display()


class PayerTable(tables.Table):
    name = tables.Column(linkify=True)

    class Meta:
        model = Payer
        fields = ("name", "payer_type", "payer_id", "phone", "timely_filing_days", "is_active")


class ReferralSourceTable(tables.Table):
    name = tables.Column(linkify=("patients:referral_source_detail", {"pk": tables.A("pk")}))
    patient_count = tables.Column(verbose_name="Patients", orderable=True)

    class Meta:
        model = ReferralSource
        fields = ("name", "kind", "is_active")
        sequence = ("name", "kind", "patient_count", "is_active")
