from django import forms
from django.contrib.auth.models import Group

from practicedesk.core.models import Location, Organization, User
from practicedesk.core.roles import ROLES


class OrganizationForm(forms.ModelForm):
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
