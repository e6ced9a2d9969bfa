"""Billing forms."""

import datetime

from django import forms
from django.utils import timezone

from practicedesk.billing.models import (
    Claim,
    CollectionCase,
    CollectionContact,
    Fee,
    FeeSchedule,
    FinancialAssistanceBand,
    LedgerEntry,
    Payment,
    PaymentPlan,
    ServiceCode,
    icd10_normalise,
    modifier_validator,
    validate_icd10,
)
from practicedesk.billing.selectors import fee_in_force, icd10_description
from practicedesk.billing.services import ChargeLine, FeeBulkMode, RefundMethod
from practicedesk.core.models import Location, User
from practicedesk.patients.models import Payer

# Remittances (835), reconciliation, underpayments, payer comparison

MAX_REMITTANCE_BYTES = 20 * 1024 * 1024


class RemittanceUploadForm(forms.Form):
    file = forms.FileField(
        label="835 remittance file",
        help_text="An ASC X12 005010X221A1 electronic remittance advice (ERA), as the "
        f"clearinghouse or payer sends it; at most {MAX_REMITTANCE_BYTES // (1024 * 1024)} MB.",
        error_messages={"required": "Choose the 835 file to import."},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size == 0:
            raise forms.ValidationError("The file is empty.")
        if upload.size > MAX_REMITTANCE_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size // (1024 * 1024)} MB; the limit is "
                f"{MAX_REMITTANCE_BYTES // (1024 * 1024)} MB."
            )
        return upload


class ReconciliationResolveForm(forms.Form):
    resolution = forms.CharField(
        label="How was it resolved?",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="E.g. “Posted by hand to claim PD00000123”, “Refund requested from payer”.",
        error_messages={"required": "Say how the item was resolved."},
    )


class UnderpaymentDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="Decision",
        choices=[
            ("appealed", "Appeal: ask the payer for the difference"),
            ("accepted", "Accept what was paid"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose appeal or accept."},
    )
    note = forms.CharField(
        label="Note", max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class PayerComparisonForm(forms.Form):
    code = forms.CharField(
        label="Procedure code",
        max_length=5,
        required=False,
        help_text="Empty: every code.",
    )
    start = forms.DateField(
        label="Services from", widget=forms.DateInput(attrs={"type": "date"}), required=False
    )
    end = forms.DateField(
        label="Services to", widget=forms.DateInput(attrs={"type": "date"}), required=False
    )

    def clean(self):
        data = super().clean()
        end = data.get("end") or datetime.date.today()
        start = data.get("start") or end - datetime.timedelta(days=365)
        if start > end:
            raise forms.ValidationError("The period starts after it ends.")
        data["start"], data["end"] = start, end
        data["code"] = (data.get("code") or "").strip().upper()
        return data


# Service codes, fee schedules, bulk fee updates


class ServiceCodeForm(forms.ModelForm):
    class Meta:
        model = ServiceCode
        fields = ["code", "description", "default_units", "is_active"]
        help_texts = {
            "code": "5 characters: a CPT code (e.g. 99213) or a HCPCS code (e.g. G0439).",
            "description": "The practice's own short wording; no licensed descriptions.",
        }

    def clean_code(self):
        return (self.cleaned_data.get("code") or "").strip().upper()


class FeeScheduleForm(forms.ModelForm):
    class Meta:
        model = FeeSchedule
        fields = ["name", "payer", "effective_from", "effective_to"]
        widgets = {
            "effective_from": forms.DateInput(attrs={"type": "date"}),
            "effective_to": forms.DateInput(attrs={"type": "date"}),
        }
        labels = {"payer": "Payer (empty: the practice's own fees)"}
        help_texts = {
            "payer": "Empty for the practice's own fees; a payer for its contracted allowed "
            "amounts.",
            "effective_to": "Empty: until a later schedule starts.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payer"].empty_label = "— The practice's own fees —"

    def clean(self):
        data = super().clean()
        start, end = data.get("effective_from"), data.get("effective_to")
        if start and end and end < start:
            self.add_error("effective_to", "The schedule would end before it starts.")
        if start:
            same_start = FeeSchedule.objects.filter(
                payer=data.get("payer"), effective_from=start
            ).exclude(pk=self.instance.pk)
            if same_start.exists():
                self.add_error(
                    "effective_from",
                    f"“{same_start.first()}” already starts on {start}; change its fees or "
                    "choose another date.",
                )
        return data


class FeeForm(forms.ModelForm):
    class Meta:
        model = Fee
        fields = ["service_code", "amount"]
        labels = {"amount": "Amount ($)"}

    def __init__(self, *args, fee_schedule: FeeSchedule, **kwargs):
        super().__init__(*args, **kwargs)
        self.fee_schedule = fee_schedule
        self.fields["service_code"].queryset = ServiceCode.objects.filter(is_active=True)
        self.fields["amount"].widget.attrs.update({"min": "0", "step": "0.01"})

    def clean_amount(self):
        amount = self.cleaned_data.get("amount")
        if amount is not None and amount < 0:
            raise forms.ValidationError("A fee cannot be negative.")
        return amount

    def clean_service_code(self):
        code = self.cleaned_data.get("service_code")
        taken = Fee.objects.filter(fee_schedule=self.fee_schedule, service_code=code).exclude(
            pk=self.instance.pk
        )
        if code is not None and taken.exists():
            raise forms.ValidationError(
                f"{code.code} already has a fee in this schedule; change that one."
            )
        return code

    def save(self, commit=True):
        self.instance.fee_schedule = self.fee_schedule
        return super().save(commit)


class FeeBulkUpdateForm(forms.Form):
    mode = forms.ChoiceField(
        label="Change the fees",
        choices=FeeBulkMode.choices,
        widget=forms.RadioSelect,
        initial=FeeBulkMode.PERCENTAGE,
    )
    percentage = forms.DecimalField(
        label="By percent",
        required=False,
        max_digits=6,
        decimal_places=2,
        help_text="E.g. 3.5 for +3.5%, -2 for -2%.",
    )
    payer = forms.ModelChoiceField(
        label="Payer",
        queryset=Payer.objects.filter(fee_schedules__isnull=False).distinct(),
        required=False,
        empty_label="— Choose a payer —",
    )
    multiple = forms.DecimalField(
        label="Multiple of its allowed amounts",
        required=False,
        max_digits=5,
        decimal_places=3,
        help_text="E.g. 1.4 for 140% of the payer's allowed amount.",
    )
    effective_from = forms.DateField(
        label="Effective from",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The current practice schedule ends the day before.",
    )
    name = forms.CharField(label="Name of the new schedule", max_length=120, required=False)

    def clean(self):
        data = super().clean()
        if data.get("mode") == FeeBulkMode.PERCENTAGE and data.get("percentage") is None:
            self.add_error("percentage", "Enter the change in percent, e.g. 3.5.")
        if data.get("mode") == FeeBulkMode.PAYER_MULTIPLE:
            if data.get("payer") is None:
                self.add_error("payer", "Choose the payer whose allowed amounts to use.")
            if data.get("multiple") is None:
                self.add_error("multiple", "Enter the multiple, e.g. 1.4.")
        return data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "mode": data["mode"],
            "effective_from": data["effective_from"],
            "percentage": data.get("percentage"),
            "payer": data.get("payer"),
            "multiple": data.get("multiple"),
        }


# Charges: a visit's diagnoses and service lines

MAX_DIAGNOSES = 12


class VisitDiagnosesForm(forms.Form):
    """Up to 12 ICD-10-CM codes, in claim order; each is checked against the classification."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for position in range(1, MAX_DIAGNOSES + 1):
            self.fields[f"diagnosis_{position}"] = forms.CharField(
                label=f"Diagnosis {position}",
                max_length=10,
                required=position == 1,
                error_messages={"required": "A visit has at least one diagnosis."},
                widget=forms.TextInput(attrs={"placeholder": "e.g. E11.9", "size": 8}),
            )

    def clean(self):
        data = super().clean()
        seen: dict[str, int] = {}
        for position in range(1, MAX_DIAGNOSES + 1):
            name = f"diagnosis_{position}"
            value = (data.get(name) or "").strip()
            if not value:
                continue
            code = icd10_normalise(value)
            try:
                validate_icd10(code)
            except forms.ValidationError as error:
                self.add_error(name, error)
                continue
            if code in seen:
                self.add_error(name, f"Already listed as diagnosis {seen[code]}.")
                continue
            seen[code] = position
            data[name] = code
        positions = [
            position
            for position in range(1, MAX_DIAGNOSES + 1)
            if (self[f"diagnosis_{position}"].value() or "").strip()
        ]
        if positions and positions != list(range(1, len(positions) + 1)):
            raise forms.ValidationError(
                "List the diagnoses without gaps: diagnosis 1, 2, 3… (pointers count on it)."
            )
        return data

    def codes(self) -> list[str]:
        return [
            self.cleaned_data[f"diagnosis_{position}"]
            for position in range(1, MAX_DIAGNOSES + 1)
            if self.cleaned_data.get(f"diagnosis_{position}")
        ]

    def rows(self) -> list[tuple]:
        """(field, description) pairs, the description of a valid code from the classification."""
        rows = []
        for position in range(1, MAX_DIAGNOSES + 1):
            field = self[f"diagnosis_{position}"]
            rows.append((field, icd10_description(field.value())))
        return rows


class ServiceLineForm(forms.Form):
    service_code = forms.ModelChoiceField(
        label="Procedure code",
        queryset=ServiceCode.objects.filter(is_active=True),
        empty_label="—",
    )
    modifier1 = forms.CharField(label="Modifier 1", max_length=2, required=False)
    modifier2 = forms.CharField(label="Modifier 2", max_length=2, required=False)
    modifier3 = forms.CharField(label="Modifier 3", max_length=2, required=False)
    modifier4 = forms.CharField(label="Modifier 4", max_length=2, required=False)
    units = forms.IntegerField(label="Units", min_value=1, max_value=999, initial=1)
    place_of_service = forms.RegexField(
        label="Place of service",
        regex=r"^\d{2}$",
        initial="11",
        error_messages={"invalid": "Place of service is a 2-digit code, e.g. 11."},
    )
    pointer1 = forms.IntegerField(
        label="Diagnosis pointer 1",
        min_value=1,
        max_value=MAX_DIAGNOSES,
        initial=1,
        error_messages={"required": "Point to at least one diagnosis."},
    )
    pointer2 = forms.IntegerField(
        label="Pointer 2", min_value=1, max_value=MAX_DIAGNOSES, required=False
    )
    pointer3 = forms.IntegerField(
        label="Pointer 3", min_value=1, max_value=MAX_DIAGNOSES, required=False
    )
    pointer4 = forms.IntegerField(
        label="Pointer 4", min_value=1, max_value=MAX_DIAGNOSES, required=False
    )

    MODIFIERS = ("modifier1", "modifier2", "modifier3", "modifier4")
    POINTERS = ("pointer1", "pointer2", "pointer3", "pointer4")

    def __init__(self, *args, diagnosis_count: int | None = None, day=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.diagnosis_count = diagnosis_count
        self.day = day
        for name in self.MODIFIERS:
            self.fields[name].widget.attrs["size"] = 2
        for name in ("units", "pointer1", "pointer2", "pointer3", "pointer4"):
            self.fields[name].widget.attrs["size"] = 3

    def clean(self):
        data = super().clean()
        for name in self.MODIFIERS:
            value = (data.get(name) or "").strip().upper()
            if value:
                try:
                    modifier_validator(value)
                except forms.ValidationError as error:
                    self.add_error(name, error)
                    continue
            data[name] = value
        pointers = []
        for name in self.POINTERS:
            pointer = data.get(name)
            if pointer is None:
                continue
            if self.diagnosis_count is not None and pointer > self.diagnosis_count:
                self.add_error(
                    name,
                    f"The visit has {self.diagnosis_count} diagnos"
                    f"{'i' if self.diagnosis_count == 1 else 'e'}s; there is no {pointer}.",
                )
            elif pointer in pointers:
                self.add_error(name, f"Diagnosis {pointer} is already pointed to.")
            pointers.append(pointer)
        code = data.get("service_code")
        if code is not None and self.day is not None and fee_in_force(code.pk, self.day) is None:
            self.add_error(
                "service_code",
                f"{code.code} has no practice fee in force on {self.day}; add it to the fee "
                "schedule first.",
            )
        return data

    def charge_line(self) -> ChargeLine:
        data = self.cleaned_data
        return ChargeLine(
            service_code=data["service_code"],
            units=data["units"],
            modifiers=tuple(data[name] for name in self.MODIFIERS if data.get(name)),
            diagnosis_pointers=tuple(
                data[name] for name in self.POINTERS if data.get(name) is not None
            ),
            place_of_service=data["place_of_service"],
        )


class BaseServiceLineFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        if not any(form.has_changed() and form.cleaned_data for form in self.forms):
            raise forms.ValidationError("Add at least one service line.")

    def charge_lines(self) -> list[ChargeLine]:
        return [
            form.charge_line() for form in self.forms if form.has_changed() and form.cleaned_data
        ]


ServiceLineFormSet = forms.formset_factory(
    ServiceLineForm, formset=BaseServiceLineFormSet, extra=3, max_num=30, absolute_max=30
)


class ChargeReverseForm(forms.Form):
    reason = forms.CharField(
        label="Why is the charge reversed?",
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="E.g. “Wrong code: 99214 documented, not 99213”. A corrected line is then "
        "posted anew.",
        error_messages={"required": "Say why the charge is reversed."},
    )


# Eligibility (270/271)

MAX_ELIGIBILITY_BYTES = 10 * 1024 * 1024


class EligibilityImportForm(forms.Form):
    file = forms.FileField(
        label="271 eligibility response",
        help_text="An ASC X12 005010X279A1 271 file, as the clearinghouse or payer sends it.",
        error_messages={"required": "Choose the 271 file to import."},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size == 0:
            raise forms.ValidationError("The file is empty.")
        if upload.size > MAX_ELIGIBILITY_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_ELIGIBILITY_BYTES // (1024 * 1024)} MB; a 271 "
                "is much smaller. Is it the right file?"
            )
        return upload


class EligibilityRequestForm(forms.Form):
    day = forms.DateField(
        label="Appointments on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="A 270 inquiry is written for each booked appointment of the day.",
    )


# Claims (837P)


class ClaimStepForm(forms.Form):
    """A lifecycle step taken by hand on the claim's page, with a note for its history."""

    to_status = forms.ChoiceField(
        choices=[
            (Claim.Status.DRAFT, "Back to draft"),
            (Claim.Status.APPEALED, "Appeal"),
            (Claim.Status.CLOSED, "Close"),
        ],
        widget=forms.HiddenInput,
    )
    note = forms.CharField(
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the claim's history.",
    )


class ClaimExportForm(forms.Form):
    payer = forms.ModelChoiceField(
        queryset=Payer.objects.filter(claims__status=Claim.Status.READY).distinct(),
        required=False,
        empty_label="All payers",
        help_text="Export one payer's ready claims, or all of them.",
    )


# Payments, refunds, returned checks, write-offs, payment plans, financial assistance

ALLOCATE_OLDEST_FIRST = "oldest_first"
ALLOCATE_BY_HAND = "by_hand"
ALLOCATE_NONE = "none"


def money_field(label: str, *, required: bool = True, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=12,
        decimal_places=2,
        required=required,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )


def date_field(label: str, *, required: bool = True, **kwargs) -> forms.DateField:
    return forms.DateField(
        label=label, required=required, widget=forms.DateInput(attrs={"type": "date"}), **kwargs
    )


class ChargeAllocationMixin:
    """A field per charge the patient owes on, for applying money by hand."""

    def add_charge_fields(self, charges) -> None:
        self.charges = {charge.pk: charge for charge in charges}
        for charge in charges:
            self.fields[f"charge_{charge.pk}"] = money_field(
                f"{charge.date_of_service:%Y-%m-%d} {charge.service_code.code} "
                f"(owes {charge.owed})",
                required=False,
            )

    def charge_fields(self):
        return [self[f"charge_{pk}"] for pk in self.charges]

    def allocation_value(self):
        mode = self.cleaned_data["allocation"]
        if mode != ALLOCATE_BY_HAND:
            return mode
        return [
            (charge, self.cleaned_data[f"charge_{pk}"])
            for pk, charge in self.charges.items()
            if self.cleaned_data.get(f"charge_{pk}")
        ]

    def clean_allocation_by_hand(self, cleaned):
        if cleaned.get("allocation") == ALLOCATE_BY_HAND and not any(
            cleaned.get(f"charge_{pk}") for pk in self.charges
        ):
            raise forms.ValidationError(
                {"allocation": "Enter the amount for at least one charge, or apply oldest first."}
            )


class PaymentReceiveForm(ChargeAllocationMixin, forms.Form):
    method = forms.ChoiceField(
        label="Paid by", choices=Payment.Method.choices, widget=forms.RadioSelect
    )
    amount = money_field("Amount")
    received_on = date_field("Received on", initial=timezone.localdate)
    location = forms.ModelChoiceField(
        label="Location", queryset=Location.objects.filter(is_active=True)
    )
    check_number = forms.CharField(label="Check number", max_length=20, required=False)
    routing_number = forms.CharField(
        label="Bank routing number",
        max_length=11,
        required=False,
        help_text="Checks: the 9 digits printed first on the bottom line of the check.",
    )
    reference = forms.CharField(
        label="Card authorization or EFT trace number",
        max_length=50,
        required=False,
        help_text="Card: the authorization code or last 4 digits, never the card number.",
    )
    plan = forms.ModelChoiceField(
        label="Instalment of the payment plan",
        queryset=PaymentPlan.objects.none(),
        required=False,
        empty_label="Not a plan instalment",
    )
    allocation = forms.ChoiceField(
        label="Apply it",
        choices=[
            (ALLOCATE_OLDEST_FIRST, "To the oldest charges first"),
            (ALLOCATE_BY_HAND, "By hand, to the charges below"),
            (ALLOCATE_NONE, "Keep it all as credit on the account"),
        ],
        initial=ALLOCATE_OLDEST_FIRST,
        widget=forms.RadioSelect,
    )
    memo = forms.CharField(label="Memo", max_length=200, required=False)

    def __init__(self, *args, charges=(), plans=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plans if plans is not None else PaymentPlan.objects.none()
        if user is not None and getattr(user, "home_location_id", None):
            self.fields["location"].initial = user.home_location_id
        self.add_charge_fields(charges)

    def clean(self):
        cleaned = super().clean()
        self.clean_allocation_by_hand(cleaned)
        return cleaned


class PaymentAllocateForm(ChargeAllocationMixin, forms.Form):
    allocation = forms.ChoiceField(
        label="Apply the credit",
        choices=[
            (ALLOCATE_OLDEST_FIRST, "To the oldest charges first"),
            (ALLOCATE_BY_HAND, "By hand, to the charges below"),
        ],
        initial=ALLOCATE_OLDEST_FIRST,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, charges=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.add_charge_fields(charges)

    def clean(self):
        cleaned = super().clean()
        self.clean_allocation_by_hand(cleaned)
        return cleaned


class PaymentRefundForm(forms.Form):
    amount = money_field("Amount to refund")
    method = forms.ChoiceField(
        label="Paid back by", choices=RefundMethod.choices, widget=forms.RadioSelect
    )
    reference = forms.CharField(label="Check number or reference", max_length=40, required=False)
    reason = forms.CharField(label="Reason", max_length=150)


class PaymentReturnForm(forms.Form):
    returned_on = date_field("The bank returned it on", initial=timezone.localdate)
    reason = forms.CharField(label="Reason", max_length=150, initial="Insufficient funds")


class WriteOffForm(forms.Form):
    charge = forms.TypedChoiceField(label="Charge", coerce=int)
    responsibility = forms.ChoiceField(
        label="Balance written off",
        choices=LedgerEntry.Responsibility.choices,
        initial=LedgerEntry.Responsibility.PATIENT,
        widget=forms.RadioSelect,
    )
    amount = money_field("Amount")
    reason = forms.CharField(label="Reason", max_length=150)

    def __init__(self, *args, charges=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.charges = {charge.pk: charge for charge in charges}
        self.fields["charge"].choices = [
            (
                charge.pk,
                f"{charge.date_of_service:%Y-%m-%d} {charge.service_code.code} — patient owes "
                f"{charge.patient_owed}, insurance {charge.insurance_owed}",
            )
            for charge in charges
        ]


class PaymentPlanForm(forms.Form):
    down_payment = money_field("Down payment", required=False)
    instalment_amount = money_field("Instalment")
    frequency = forms.ChoiceField(label="Every", choices=PaymentPlan.Frequency.choices)
    start_date = date_field(
        "Start date",
        initial=timezone.localdate,
        help_text="The down payment (or the first instalment) is due then.",
    )
    instalment_count = forms.IntegerField(
        label="Number of instalments",
        min_value=1,
        max_value=120,
        required=False,
        help_text="Optional: checked against the amounts, which must add up exactly.",
    )
    note = forms.CharField(label="Note", max_length=300, required=False)


class PaymentPlanCancelForm(forms.Form):
    reason = forms.CharField(label="Why is the plan cancelled?", max_length=200)


class FinancialAssistanceBandForm(forms.ModelForm):
    class Meta:
        model = FinancialAssistanceBand
        fields = ["name", "poverty_level_max", "discount_percent", "is_active"]


class FinancialAssistanceApprovalForm(forms.Form):
    household_income = money_field("Yearly household income")
    household_size = forms.IntegerField(label="People in the household", min_value=1)
    valid_from = date_field("Valid from", initial=timezone.localdate)
    valid_until = date_field(
        "Valid until", required=False, help_text="Empty: twelve months from the start."
    )
    note = forms.CharField(label="Note", max_length=300, required=False)


class DailyCloseForm(forms.Form):
    day = date_field("Day", required=False)
    location = forms.ModelChoiceField(
        label="Location", queryset=Location.objects.all(), required=False, empty_label="All"
    )
    user = forms.ModelChoiceField(
        label="Received by", queryset=User.objects.none(), required=False, empty_label="Anyone"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(
            pk__in=Payment.objects.values("received_by")
        ).order_by("last_name", "first_name", "username")


class ConfirmForm(forms.Form):
    """No fields: the button that confirms an action described on the page."""


# Statements


class StatementRunStartForm(forms.Form):
    statement_date = date_field(
        "Statement date",
        initial=timezone.localdate,
        help_text="The statements show the accounts as of this day; usually today.",
    )


# Collections


class CollectionRulesForm(forms.Form):
    """The days of each stage's rule, all four on one page."""

    def __init__(self, *args, rules: dict[str, int], **kwargs):
        super().__init__(*args, **kwargs)
        help_texts = {
            CollectionCase.Stage.FIRST_NOTICE: "Days a balance has been owed before the first "
            "notice.",
            CollectionCase.Stage.SECOND_NOTICE: "Days after the first notice.",
            CollectionCase.Stage.FINAL_NOTICE: "Days after the second notice.",
            CollectionCase.Stage.AGENCY: "Days after the final notice before the account is "
            "ready for an agency (a biller places it).",
        }
        for stage, label in CollectionCase.Stage.choices:
            self.fields[stage] = forms.IntegerField(
                label=label,
                min_value=1,
                max_value=365,
                initial=rules[stage],
                help_text=help_texts[stage],
            )


class CollectionContactForm(forms.Form):
    kind = forms.ChoiceField(
        label="What happened",
        choices=[
            (CollectionContact.Kind.CALL, "Call"),
            (CollectionContact.Kind.EMAIL, "Email"),
            (CollectionContact.Kind.PROMISE, "Promise to pay"),
            (CollectionContact.Kind.NOTE, "Note (not a contact attempt)"),
        ],
        initial=CollectionContact.Kind.CALL,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="Note", max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    promise_amount = money_field("Amount promised", required=False)
    promise_date = date_field("Promised to pay by", required=False)


class CollectionDisputeForm(forms.Form):
    reason = forms.CharField(
        label="What does the patient dispute?",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CollectionDisputeResolveForm(forms.Form):
    resolution = forms.CharField(
        label="How was the dispute resolved?",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CollectionAgencyForm(forms.Form):
    agency_name = forms.CharField(label="Collection agency", max_length=120)


class CollectionWriteOffRequestForm(forms.Form):
    reason = forms.CharField(
        label="Why can the balance not be collected?",
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CollectionWriteOffDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="Decision",
        choices=[("approve", "Approve and post the write-off"), ("reject", "Reject")],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label="Note", max_length=200, required=False)
