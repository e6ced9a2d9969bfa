from django import forms
from django.utils import timezone

from practicedesk.core.forms import ADDRESS_ERRORS
from practicedesk.core.models import Location
from practicedesk.patients.importers import COLUMNS, MAX_UPLOAD_BYTES
from practicedesk.patients.models import Coverage, Patient, PatientAlert, Payer, ReferralSource

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%m/%d/%Y"]
DATE_ERROR = "Enter the date as YYYY-MM-DD or MM/DD/YYYY, for example 1980-05-17."


def date_field(**kwargs) -> forms.DateField:
    return forms.DateField(
        input_formats=DATE_INPUT_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": DATE_ERROR},
        **kwargs,
    )


class PatientForm(forms.ModelForm):
    """Registration and changes of a patient. The guarantor is named by MRN (a list of every
    patient would be tens of thousands of options)."""

    # Sections of the page, in order: (legend, field names).
    SECTIONS = (
        ("Name", ("first_name", "middle_name", "last_name", "suffix", "preferred_name")),
        (
            "Birth and identity",
            ("date_of_birth", "sex_at_birth", "gender_identity", "preferred_language"),
        ),
        ("Contact", ("mobile_phone", "home_phone", "email")),
        ("Address", ("address_line1", "address_line2", "city", "state", "postal_code")),
        (
            "Emergency contact",
            (
                "emergency_contact_name",
                "emergency_contact_phone",
                "emergency_contact_relationship",
            ),
        ),
        ("Practice", ("guarantor_mrn", "referral_source", "home_location", "status")),
        ("Communication consents", ("reminder_email_consent", "marketing_email_consent")),
    )

    date_of_birth = date_field(label="Date of birth")
    guarantor_mrn = forms.CharField(
        label="Guarantor (MRN)",
        required=False,
        max_length=20,
        help_text="The MRN of the patient responsible for the bill; empty if it is this patient.",
    )
    not_duplicate = forms.BooleanField(
        label="None of these is the same patient: register a new record",
        required=False,
    )

    class Meta:
        model = Patient
        fields = [
            "first_name",
            "middle_name",
            "last_name",
            "suffix",
            "preferred_name",
            "date_of_birth",
            "sex_at_birth",
            "gender_identity",
            "preferred_language",
            "mobile_phone",
            "home_phone",
            "email",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "emergency_contact_name",
            "emergency_contact_phone",
            "emergency_contact_relationship",
            "referral_source",
            "home_location",
            "status",
            "reminder_email_consent",
            "marketing_email_consent",
        ]
        error_messages = {
            **ADDRESS_ERRORS,
            "email": {"invalid": "Enter an email address like name@example.com."},
        }
        widgets = {
            "mobile_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "home_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "emergency_contact_phone": forms.TextInput(attrs={"type": "tel"}),
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date_of_birth"].widget.attrs["max"] = timezone.localdate().isoformat()
        self.fields["referral_source"].queryset = ReferralSource.objects.filter(is_active=True)
        self.fields["home_location"].queryset = Location.objects.filter(is_active=True)
        status = self.fields["status"]
        status.choices = [choice for choice in status.choices if choice[0] != Patient.Status.MERGED]
        if self.instance.pk is None:
            del self.fields["status"]
        elif self.instance.guarantor_id:
            self.fields["guarantor_mrn"].initial = self.instance.guarantor.mrn
        if self.instance.pk is not None:
            del self.fields["not_duplicate"]

    def sections(self):
        """The form's fields grouped for the page (fieldsets)."""
        for legend, names in self.SECTIONS:
            fields = [self[name] for name in names if name in self.fields]
            if fields:
                yield legend, fields

    def clean_guarantor_mrn(self):
        mrn = self.cleaned_data["guarantor_mrn"].strip().upper()
        if not mrn:
            self.instance.guarantor = None
            return ""
        guarantor = Patient.objects.filter(mrn=mrn).select_related("merged_into").first()
        if guarantor is None:
            raise forms.ValidationError(f"No patient has the MRN {mrn}.")
        if guarantor.status == Patient.Status.MERGED:
            raise forms.ValidationError(
                f"{mrn} was merged into {guarantor.merged_into}; use that record's MRN."
            )
        if self.instance.pk is not None and guarantor.pk == self.instance.pk:
            raise forms.ValidationError(
                "A patient is their own guarantor when this is empty; leave it empty."
            )
        self.instance.guarantor = guarantor
        return mrn


class CoverageForm(forms.ModelForm):
    effective_date = date_field()
    end_date = date_field(required=False, help_text="Empty while the coverage lasts.")
    subscriber_date_of_birth = date_field(required=False)

    SUBSCRIBER_FIELDS = (
        "subscriber_first_name",
        "subscriber_last_name",
        "subscriber_date_of_birth",
    )

    class Meta:
        model = Coverage
        fields = [
            "payer",
            "plan_name",
            "member_id",
            "group_number",
            "order",
            "relationship",
            "subscriber_first_name",
            "subscriber_last_name",
            "subscriber_date_of_birth",
            "subscriber_sex",
            "effective_date",
            "end_date",
        ]
        help_texts = {
            "relationship": "When it is not Self, the subscriber's name and date of birth "
            "are required."
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        payers = Payer.objects.filter(is_active=True)
        if self.instance.payer_id:
            payers = Payer.objects.filter(is_active=True) | Payer.objects.filter(
                pk=self.instance.payer_id
            )
        self.fields["payer"].queryset = payers.order_by("name")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("relationship", Coverage.Relationship.SELF) != Coverage.Relationship.SELF:
            for name in self.SUBSCRIBER_FIELDS:
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(
                        name, "Required: the patient is not the subscriber of this policy."
                    )
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        # The model's own sentence repeats what the fields above already say.
        if self.has_error("subscriber_first_name") or self.has_error("subscriber_last_name"):
            errors = self.errors.get("__all__")
            if errors:
                kept = [e for e in errors if "not the subscriber" not in e]
                if kept:
                    self.errors["__all__"] = self.error_class(kept)
                else:
                    del self.errors["__all__"]


class PatientAlertForm(forms.ModelForm):
    class Meta:
        model = PatientAlert
        fields = ["kind", "severity", "text"]
        labels = {"text": "Note"}
        help_texts = {"text": "Shown on every page of the patient, e.g. “Cash or card only”."}


class PayerForm(forms.ModelForm):
    class Meta:
        model = Payer
        fields = [
            "name",
            "payer_type",
            "payer_id",
            "phone",
            "timely_filing_days",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "is_active",
        ]
        error_messages = ADDRESS_ERRORS


class ReferralSourceForm(forms.ModelForm):
    class Meta:
        model = ReferralSource
        fields = ["name", "kind", "is_active"]


class PatientMergeForm(forms.Form):
    """Which record to merge into this one: by MRN, or picked from the likely duplicates."""

    source_mrn = forms.CharField(
        label="MRN of the duplicate record",
        max_length=20,
        help_text="Its appointments, coverage, alerts and every other record move to this "
        "patient; the duplicate is kept, marked as merged.",
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, target: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target
        self.source = None

    def clean_source_mrn(self):
        mrn = self.cleaned_data["source_mrn"].strip().upper()
        source = Patient.objects.filter(mrn=mrn).select_related("merged_into").first()
        if source is None:
            raise forms.ValidationError(f"No patient has the MRN {mrn}.")
        from practicedesk.patients.services import patient_merge_refusal

        refusal = patient_merge_refusal(source=source, target=self.target)
        if refusal:
            raise forms.ValidationError(refusal)
        self.source = source
        return mrn


class PatientImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"UTF-8 CSV with a header line naming the columns; at most "
        f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        error_messages={"required": "Choose the CSV file to import."},
    )
    all_or_nothing = forms.BooleanField(
        label="All or nothing: import nothing if any row is wrong",
        required=False,
    )

    columns = COLUMNS

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size // (1024 * 1024)} MB; the limit is "
                f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Split it, or use "
                "`practicedesk import patients FILE.csv`."
            )
        from practicedesk.patients.importers import ImportFileError, csv_header_check

        try:
            csv_header_check(upload)
        except ImportFileError as error:
            raise forms.ValidationError(str(error)) from error
        finally:
            upload.seek(0)
        return upload
