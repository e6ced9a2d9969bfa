from django import forms
from django.conf import settings
from django.contrib.auth.models import Group

from practicedesk.core.models import Document, Location, Organization, User
from practicedesk.core.roles import ROLES
from practicedesk.core.services.documents import ACCEPT_ATTRIBUTE, ACCEPTED_TYPES_TEXT

ADDRESS_ERRORS = {
    "state": {"max_length": "Use the two-letter state code, for example NY."},
    "postal_code": {"max_length": "Use a 5-digit ZIP code or ZIP+4 (12345-6789)."},
}


class OrganizationForm(forms.ModelForm):
    website = forms.URLField(required=False, assume_scheme="https")

    class Meta:
        model = Organization
        fields = [
            "name",
            "legal_name",
            "tax_id",
            "npi",
            "phone",
            "email",
            "website",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
        ]
        error_messages = ADDRESS_ERRORS


class LocationForm(forms.ModelForm):
    class Meta:
        model = Location
        fields = [
            "code",
            "name",
            "phone",
            "fax",
            "npi",
            "tax_id",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "is_active",
        ]
        error_messages = ADDRESS_ERRORS


class UserForm(forms.ModelForm):
    roles = forms.ModelMultipleChoiceField(
        queryset=Group.objects.filter(name__in=[role.name for role in ROLES]).order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Leave empty to keep the current password. At least 10 characters.",
    )

    class Meta:
        model = User
        fields = [
            "username",
            "first_name",
            "last_name",
            "email",
            "phone",
            "home_location",
            "is_active",
            "digest_enabled",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["roles"].initial = self.instance.groups.all()
        else:
            self.fields["password"].required = True

    def clean_password(self):
        from django.contrib.auth.password_validation import validate_password

        password = self.cleaned_data.get("password")
        if password:
            validate_password(password, self.instance)
        return password


class TwoFactorPolicyForm(forms.Form):
    def __init__(self, *args, policies, **kwargs):
        super().__init__(*args, **kwargs)
        for policy in policies:
            self.fields[f"role_{policy.group_id}"] = forms.BooleanField(
                label=policy.group.name, required=False, initial=policy.requires_two_factor
            )


class TokenForm(forms.Form):
    token = forms.CharField(
        label="6-digit code",
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]{6}",
                "autofocus": True,
            }
        ),
        error_messages={"min_length": "Enter the 6 digits your authenticator app shows."},
    )

    def clean_token(self):
        token = self.cleaned_data["token"].strip()
        if not token.isdigit():
            raise forms.ValidationError("The code is 6 digits, numbers only.")
        return token


class DocumentForm(forms.Form):
    """Upload of one document. The file itself (size, type, contents) is judged by
    ``document_upload``, so the form and every other caller give the same answer."""

    file = forms.FileField(
        allow_empty_file=True,
        error_messages={
            "required": "Choose a file to upload.",
            "invalid": "No file arrived; choose the file again.",
            "missing": "No file arrived; choose the file again.",
        },
    )
    title = forms.CharField(
        max_length=200, required=False, help_text="Leave empty to use the file's name."
    )
    document_type = forms.ChoiceField(
        label="Type",
        error_messages={"invalid_choice": "Choose the type of document from the list."},
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True),
        help_text=Document._meta.get_field("owner").help_text,
        error_messages={"invalid_choice": "Choose an active user from the list."},
    )
    retain_until = forms.DateField(
        label="Keep until",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The document cannot be deleted before this date.",
        error_messages={"invalid": "Enter the date as YYYY-MM-DD, for example 2032-12-31."},
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, document_types, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document_type"].choices = [("", "---------"), *document_types]
        limit_mb = settings.DOCUMENT_MAX_BYTES // (1024 * 1024)
        self.fields["file"].widget.attrs["accept"] = ACCEPT_ATTRIBUTE
        self.fields["file"].help_text = f"{ACCEPTED_TYPES_TEXT}; at most {limit_mb} MB."
