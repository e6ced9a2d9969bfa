"""Patient accounts and the money that moves on them: the ledger with running balances,
payments and their credit, refunds, returned checks, write-offs; the daily close; payment
plans; financial assistance.

Who may do what (core.roles, area "billing"): the front desk views accounts, takes payments
and proposes plans ("add"); billers also apply credit, refund and mark checks returned
("change") and export the daily close; only a manager ("approve") writes off, authorizes a
plan, approves financial assistance and keeps its bands. Every write is a service in
``billing.services``; these views only validate the form and show the service's refusal.
"""

import csv

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View

from practicedesk.billing.filters import (
    FinancialAssistanceApprovalFilterSet,
    FinancialAssistanceBandFilterSet,
    PaymentPlanFilterSet,
)
from practicedesk.billing.forms import (
    ConfirmForm,
    DailyCloseForm,
    FinancialAssistanceApprovalForm,
    FinancialAssistanceBandForm,
    PaymentAllocateForm,
    PaymentPlanCancelForm,
    PaymentPlanForm,
    PaymentReceiveForm,
    PaymentRefundForm,
    PaymentReturnForm,
    WriteOffForm,
)
from practicedesk.billing.models import (
    FinancialAssistanceApproval,
    FinancialAssistanceBand,
    Payment,
    PaymentPlan,
    Statement,
)
from practicedesk.billing.selectors import (
    charges_owed_by_patient,
    charges_with_balances,
    daily_close,
    financial_assistance_approvals,
    patient_account,
    patient_balance,
    payment_credit,
    payment_entries,
    payment_plans,
    payments,
    plan_paid_total,
    plan_schedule,
    poverty_guideline,
)
from practicedesk.billing.services import (
    financial_assistance_apply,
    financial_assistance_approve,
    payment_allocate,
    payment_plan_authorize,
    payment_plan_cancel,
    payment_plan_propose,
    payment_receive,
    payment_refund,
    payment_return_nsf,
    returned_check_fee,
    write_off,
)
from practicedesk.billing.tables import (
    FinancialAssistanceApprovalTable,
    FinancialAssistanceBandTable,
    PaymentPlanTable,
)
from practicedesk.billing.views.fees import add_service_errors
from practicedesk.core.models import AuditEvent
from practicedesk.core.permissions import can
from practicedesk.core.services import audit_event_record
from practicedesk.core.views.generic import AreaPermissionMixin, ObjectEditView, ObjectListView
from practicedesk.patients.models import Patient, PatientAlert
from practicedesk.patients.selectors import patient_for_user, patients_for_user

ACTIONS = ("view", "add", "change", "export", "approve")


def billing_perms(user) -> dict[str, bool]:
    return {action: can(user, "billing", action) for action in ACTIONS}


def payment_for_user(user, pk) -> Payment:
    """The payment, if it is a payer's or of a patient this user may see (404 otherwise)."""
    visible = payments().filter(Q(patient__in=patients_for_user(user)) | Q(patient__isnull=True))
    return get_object_or_404(visible, pk=pk)


def plan_for_user(user, pk) -> PaymentPlan:
    return get_object_or_404(payment_plans().filter(patient__in=patients_for_user(user)), pk=pk)


def approval_for_user(user, pk) -> FinancialAssistanceApproval:
    return get_object_or_404(
        financial_assistance_approvals().filter(patient__in=patients_for_user(user)), pk=pk
    )


def account_url(patient_id: int, anchor: str = "") -> str:
    url = reverse("billing:patient_account", args=[patient_id])
    return f"{url}#{anchor}" if anchor else url


# The account page


class PatientAccountView(AreaPermissionMixin, View):
    """A patient's account: balances, the ledger in posting order with running balances,
    payments with their unapplied credit, plans and financial assistance."""

    area = "billing"
    model = Patient
    template_name = "billing/accounts/patient_account.html"

    def get(self, request, pk):
        patient = patient_for_user(request.user, pk)
        audit_event_record(
            action=AuditEvent.Action.READ, request=request, obj=patient, name="patient_account"
        )
        account = patient_account(patient)
        context = {
            "title": f"Account of {patient.display_name}",
            "patient": patient,
            "account": account,
            "perms_billing": billing_perms(request.user),
            "live_plan": next(
                (plan for plan in account.plans if plan.status in PaymentPlan.LIVE_STATUSES),
                None,
            ),
            "statements": Statement.objects.filter(guarantor_id=patient.responsible_party.pk)[:12],
        }
        return TemplateResponse(request, self.template_name, context)


# Forms on an account, a payment, a plan or an approval


class AccountFormView(AreaPermissionMixin, View):
    """A form about one patient's money: the patient banner above it, the service's refusal
    beside the fields (nothing posted), back to the account when it is done."""

    area = "billing"
    template_name = "billing/accounts/account_form.html"
    submit_label = "Save"
    danger = False
    form_class = None

    def load(self, pk) -> None:
        """Fetch what the URL names (through the user's restricted querysets)."""
        self.patient = patient_for_user(self.request.user, pk)
        self.object = self.patient

    def get_title(self) -> str:
        raise NotImplementedError

    def get_form_kwargs(self) -> dict:
        return {}

    def get_form(self, data=None):
        return self.form_class(data, **self.get_form_kwargs())

    def perform(self, form) -> str:
        """Run the service; return the success message."""
        raise NotImplementedError

    def get_success_url(self) -> str:
        return account_url(self.patient.pk) if self.patient else reverse("billing:daily_close")

    def get_context(self) -> dict:
        return {}

    def get(self, request, pk):
        self.load(pk)
        return self.render(self.get_form())

    def post(self, request, pk):
        self.load(pk)
        form = self.get_form(request.POST)
        if form.is_valid():
            try:
                message = self.perform(form)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, message)
                return HttpResponseRedirect(self.get_success_url())
        return self.render(form)

    def render(self, form):
        context = {
            "form": form,
            "title": self.get_title(),
            "patient": self.patient,
            "object": self.object,
            "submit_label": self.submit_label,
            "danger": self.danger,
            "cancel_url": self.get_success_url(),
            **self.get_context(),
        }
        return TemplateResponse(self.request, self.template_name, context)


class PaymentReceiveView(AccountFormView):
    """Take a payment at the desk (cash, check, card or EFT) and apply it."""

    action = "add"
    model = Patient
    form_class = PaymentReceiveForm
    template_name = "billing/accounts/payment_receive.html"
    submit_label = "Receive the payment"

    def get_title(self):
        return f"Receive a payment from {self.patient.display_name}"

    def get_form_kwargs(self):
        self.charges = charges_owed_by_patient(self.patient.pk)
        return {
            "charges": self.charges,
            "plans": self.patient.payment_plans.filter(
                status__in=[PaymentPlan.Status.ACTIVE, PaymentPlan.Status.DELINQUENT]
            ),
            "user": self.request.user,
        }

    def get_context(self):
        return {
            "balance": patient_balance(self.patient.pk),
            "checks_refused": self.patient.alerts.filter(
                kind=PatientAlert.Kind.CHECKS_NOT_ACCEPTED, is_active=True
            ).exists(),
        }

    def perform(self, form):
        data = form.cleaned_data
        payment = payment_receive(
            acting_user=self.request.user,
            amount=data["amount"],
            method=data["method"],
            location=data["location"],
            patient=self.patient,
            received_on=data["received_on"],
            check_number=data["check_number"],
            routing_number=data["routing_number"],
            reference=data["reference"],
            allocation=form.allocation_value(),
            plan=data["plan"],
            memo=data["memo"],
        )
        self.payment = payment
        credit = payment_credit(payment)
        return (
            f"Receipt {payment.receipt_number}: {payment.amount} received, {credit.applied} "
            f"applied, {credit.unapplied} kept as credit."
        )

    def get_success_url(self):
        payment = getattr(self, "payment", None)
        return payment.get_absolute_url() if payment else account_url(self.patient.pk)


class WriteOffView(AccountFormView):
    """A manager writes off part of a charge's balance; they are the recorded approver."""

    action = "approve"
    model = Patient
    form_class = WriteOffForm
    submit_label = "Write it off"
    danger = True

    def get_title(self):
        return f"Write off a balance of {self.patient.display_name}"

    def get_form_kwargs(self):
        self.charges = charges_with_balances(self.patient.pk)
        return {"charges": self.charges}

    def get_context(self):
        return {
            "intro": "A write-off lowers what is owed on a charge for good; it is posted with "
            "you as the approving manager and the reason you give.",
        }

    def perform(self, form):
        data = form.cleaned_data
        charge = form.charges.get(data["charge"])
        if charge is None:
            raise ValidationError({"charge": "Choose one of the patient's charges."})
        entry = write_off(
            acting_user=self.request.user,
            approver=self.request.user,
            charge=charge,
            amount=data["amount"],
            reason=data["reason"],
            responsibility=data["responsibility"],
        )
        return f"{-entry.amount} written off {charge}."


class PaymentPlanProposeView(AccountFormView):
    """Propose a plan for the patient's whole balance; a manager authorizes it."""

    action = "add"
    model = Patient
    form_class = PaymentPlanForm
    submit_label = "Propose the plan"

    def get_title(self):
        return f"Payment plan for {self.patient.display_name}"

    def get_context(self):
        balance = patient_balance(self.patient.pk)
        return {
            "intro": f"The plan pays the patient's whole balance of {balance}: the down payment, "
            "then equal instalments, the last one taking the remainder. It runs once a "
            "practice manager authorizes it.",
        }

    def perform(self, form):
        data = form.cleaned_data
        self.plan = payment_plan_propose(
            acting_user=self.request.user,
            patient=self.patient,
            down_payment=data["down_payment"],
            instalment_amount=data["instalment_amount"],
            frequency=data["frequency"],
            start_date=data["start_date"],
            instalment_count=data["instalment_count"],
            note=data["note"],
        )
        return "Payment plan proposed; a practice manager authorizes it."

    def get_success_url(self):
        plan = getattr(self, "plan", None)
        return plan.get_absolute_url() if plan else account_url(self.patient.pk)


class FinancialAssistanceApproveView(AccountFormView):
    """A manager approves a sliding-scale discount; the band follows from the income."""

    action = "approve"
    model = Patient
    form_class = FinancialAssistanceApprovalForm
    submit_label = "Approve"

    def get_title(self):
        return f"Financial assistance for {self.patient.display_name}"

    def get_context(self):
        return {
            "intro": "The band is the one the household's yearly income falls in, as a percent "
            f"of the federal poverty guideline ({poverty_guideline(1)} for one person, "
            f"{poverty_guideline(4)} for four).",
            "bands": FinancialAssistanceBand.objects.filter(is_active=True),
        }

    def perform(self, form):
        data = form.cleaned_data
        self.approval = financial_assistance_approve(
            acting_user=self.request.user,
            patient=self.patient,
            household_income=data["household_income"],
            household_size=data["household_size"],
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
            note=data["note"],
        )
        return (
            f"Approved: {self.approval.band} (income {self.approval.poverty_level_percent}% "
            "of the poverty level). Apply it to the account on the approval's page."
        )

    def get_success_url(self):
        approval = getattr(self, "approval", None)
        return approval.get_absolute_url() if approval else account_url(self.patient.pk)


class PaymentFormView(AccountFormView):
    """A form about one payment (model: Payment)."""

    model = Payment
    action = "change"

    def load(self, pk):
        self.object = self.payment = payment_for_user(self.request.user, pk)
        self.patient = self.payment.patient

    def get_success_url(self):
        return self.payment.get_absolute_url()

    def get_context(self):
        return {"payment": self.payment, "credit": payment_credit(self.payment)}


class PaymentAllocateView(PaymentFormView):
    form_class = PaymentAllocateForm
    submit_label = "Apply the credit"

    def get_title(self):
        return f"Apply the credit of receipt {self.payment.receipt_number}"

    def get_form_kwargs(self):
        charges = charges_owed_by_patient(self.patient.pk) if self.patient else []
        return {"charges": charges}

    def perform(self, form):
        entries = payment_allocate(
            acting_user=self.request.user,
            payment=self.payment,
            allocation=form.allocation_value(),
        )
        applied = sum(-entry.amount for entry in entries if entry.charge_id)
        return f"{applied} of the credit applied."


class PaymentRefundView(PaymentFormView):
    form_class = PaymentRefundForm
    submit_label = "Record the refund"

    def get_title(self):
        return f"Refund credit of receipt {self.payment.receipt_number}"

    def perform(self, form):
        data = form.cleaned_data
        entry = payment_refund(
            acting_user=self.request.user,
            payment=self.payment,
            amount=data["amount"],
            method=data["method"],
            reference=data["reference"],
            reason=data["reason"],
        )
        return f"Refund of {entry.amount} recorded."


class PaymentReturnView(PaymentFormView):
    """Mark a check returned unpaid (NSF)."""

    form_class = PaymentReturnForm
    submit_label = "Mark the check returned"
    danger = True

    def get_title(self):
        return f"Check {self.payment.check_number or '—'} returned unpaid"

    def get_context(self):
        return {
            **super().get_context(),
            "intro": "This reverses everything the check paid or holds as credit, charges the "
            f"returned-check fee of {returned_check_fee()}, flags the patient “checks not "
            "accepted” and opens a collection case, all at once.",
        }

    def perform(self, form):
        data = form.cleaned_data
        payment_return_nsf(
            acting_user=self.request.user,
            payment=self.payment,
            reason=data["reason"],
            returned_on=data["returned_on"],
        )
        return (
            f"Check {self.payment.check_number} marked returned; the fee is posted and the "
            "patient is flagged."
        )


class PlanFormView(AccountFormView):
    model = PaymentPlan

    def load(self, pk):
        self.object = self.plan = plan_for_user(self.request.user, pk)
        self.patient = self.plan.patient

    def get_success_url(self):
        return self.plan.get_absolute_url()


class PaymentPlanAuthorizeView(PlanFormView):
    action = "approve"
    form_class = ConfirmForm
    submit_label = "Authorize the plan"

    def get_title(self):
        return f"Authorize the payment plan of {self.patient.display_name}"

    def get_context(self):
        return {
            "intro": f"Total {self.plan.total}: {self.plan.down_payment} down, then "
            f"{self.plan.instalment_amount} {self.plan.get_frequency_display().lower()} from "
            f"{self.plan.start_date:%Y-%m-%d}. You are recorded as the authorizing manager.",
            "schedule": plan_schedule(self.plan),
        }

    def perform(self, form):
        payment_plan_authorize(acting_user=self.request.user, plan=self.plan)
        return "Payment plan authorized; it runs from today."


class PaymentPlanCancelView(PlanFormView):
    action = "change"
    form_class = PaymentPlanCancelForm
    submit_label = "Cancel the plan"
    danger = True

    def get_title(self):
        return f"Cancel the payment plan of {self.patient.display_name}"

    def perform(self, form):
        payment_plan_cancel(
            acting_user=self.request.user, plan=self.plan, reason=form.cleaned_data["reason"]
        )
        return "Payment plan cancelled."


class FinancialAssistanceApplyView(AccountFormView):
    """Post the approved discount on the account's charges of the approval's period."""

    model = FinancialAssistanceApproval
    action = "change"
    form_class = ConfirmForm
    submit_label = "Apply the discount"

    def load(self, pk):
        self.object = self.approval = approval_for_user(self.request.user, pk)
        self.patient = self.approval.patient

    def get_title(self):
        return f"Apply {self.approval.band.name} to the account of {self.patient.display_name}"

    def get_context(self):
        return {
            "intro": f"Each charge from {self.approval.valid_from:%Y-%m-%d} to "
            f"{self.approval.valid_until:%Y-%m-%d} with a patient balance gets "
            f"{self.approval.band.discount_percent.normalize():f}% off that balance, once, as "
            "a financial-assistance adjustment.",
        }

    def perform(self, form):
        entries = financial_assistance_apply(acting_user=self.request.user, approval=self.approval)
        total = sum(-entry.amount for entry in entries)
        return f"{total} discounted on {len(entries)} charge(s)."

    def get_success_url(self):
        return account_url(self.patient.pk, "ledger")


# Pages about one payment, plan or approval


class PaymentDetailView(AreaPermissionMixin, View):
    area = "billing"
    model = Payment
    template_name = "billing/accounts/payment_detail.html"

    def get(self, request, pk):
        payment = payment_for_user(request.user, pk)
        audit_event_record(action=AuditEvent.Action.READ, request=request, obj=payment)
        context = {
            "title": str(payment),
            "payment": payment,
            "patient": payment.patient,
            "credit": payment_credit(payment),
            "entries": payment_entries(payment),
            "perms_billing": billing_perms(request.user),
            "daily_close_url": reverse("billing:daily_close"),
        }
        return TemplateResponse(request, self.template_name, context)


class PaymentPlanDetailView(AreaPermissionMixin, View):
    """A plan and its schedule: each instalment with what has been paid on it."""

    area = "billing"
    model = PaymentPlan
    template_name = "billing/accounts/plan_detail.html"

    def get(self, request, pk):
        plan = plan_for_user(request.user, pk)
        audit_event_record(action=AuditEvent.Action.READ, request=request, obj=plan)
        paid = plan_paid_total(plan)
        context = {
            "title": f"Payment plan of {plan.patient.display_name}",
            "plan": plan,
            "patient": plan.patient,
            "schedule": plan_schedule(plan, paid),
            "paid": paid,
            "left": plan.total - paid,
            "payments": plan.payments.select_related("location", "received_by"),
            "perms_billing": billing_perms(request.user),
        }
        return TemplateResponse(request, self.template_name, context)


class FinancialAssistanceApprovalDetailView(AreaPermissionMixin, View):
    area = "billing"
    model = FinancialAssistanceApproval
    template_name = "billing/accounts/assistance_detail.html"

    def get(self, request, pk):
        approval = approval_for_user(request.user, pk)
        audit_event_record(action=AuditEvent.Action.READ, request=request, obj=approval)
        context = {
            "title": f"Financial assistance: {approval.band.name}",
            "approval": approval,
            "patient": approval.patient,
            "guideline": poverty_guideline(approval.household_size),
            "today": timezone.localdate(),
            "perms_billing": billing_perms(request.user),
        }
        return TemplateResponse(request, self.template_name, context)


# The daily close


class DailyCloseView(AreaPermissionMixin, View):
    """What each location and user took in on a day, by method, to reconcile against the bank
    deposit; ?export=csv (billing "export") downloads it."""

    area = "billing"
    template_name = "billing/accounts/daily_close.html"

    def get(self, request):
        form = DailyCloseForm(request.GET or None, initial={"day": timezone.localdate()})
        day, location, user = timezone.localdate(), None, None
        if form.is_valid():
            day = form.cleaned_data["day"] or day
            location = form.cleaned_data["location"]
            user = form.cleaned_data["user"]
        close = daily_close(
            day,
            location_id=location.pk if location else None,
            user_id=user.pk if user else None,
        )
        if request.GET.get("export") == "csv":
            if not can(request.user, "billing", "export"):
                raise PermissionDenied("Your role may not export the daily close.")
            return self.export(close, location, user)
        query = request.GET.copy()
        query.pop("export", None)
        context = {
            "title": "Daily close",
            "form": form,
            "close": close,
            "location": location,
            "user_filter": user,
            "current_query": query.urlencode(),
            "can_export": can(request.user, "billing", "export"),
        }
        return TemplateResponse(request, self.template_name, context)

    def export(self, close, location, user):
        audit_event_record(
            action=AuditEvent.Action.EXPORT,
            request=self.request,
            name="billing.daily_close_export",
            detail={
                "day": close.day.isoformat(),
                "location": location.pk if location else None,
                "user": user.pk if user else None,
            },
        )
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="daily-close-{close.day:%Y-%m-%d}.csv"'
        )
        writer = csv.writer(response)
        writer.writerow(["Section", "Location", "Received by", "Method", "Count", "Total"])
        for row in close.rows:
            writer.writerow(
                ["Received", row.location, row.user, row.method_label, row.count, row.total]
            )
        writer.writerow(["Total received", "", "", "", "", close.received_total])
        writer.writerow(["Deposit (cash and checks)", "", "", "", "", close.deposit_total])
        writer.writerow([])
        writer.writerow(["Check", "Location", "Receipt", "From", "Routing number", "Amount"])
        for payment in close.checks:
            writer.writerow(
                [
                    payment.check_number,
                    payment.location.name,
                    payment.receipt_number,
                    payment.payer_name,
                    payment.routing_number,
                    payment.amount,
                ]
            )
        writer.writerow([])
        writer.writerow(["Returned check", "Location", "Receipt", "From", "Received on", "Amount"])
        for payment in close.returned:
            writer.writerow(
                [
                    payment.check_number,
                    payment.location.name,
                    payment.receipt_number,
                    payment.payer_name,
                    payment.received_on,
                    payment.amount,
                ]
            )
        writer.writerow([])
        writer.writerow(["Refund", "", "Receipt", "Patient", "Memo", "Amount"])
        for entry in close.refunds:
            writer.writerow(
                ["", "", entry.payment.receipt_number, entry.patient, entry.memo, entry.amount]
            )
        return response


# Lists and settings


class PaymentPlanListView(ObjectListView):
    area = "billing"
    queryset = payment_plans()
    table_class = PaymentPlanTable
    filterset_class = PaymentPlanFilterSet
    title = "Payment plans"
    template_name = "billing/accounts/plan_list.html"

    def get_queryset(self):
        return super().get_queryset().filter(patient__in=patients_for_user(self.request.user))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["grace_days"] = settings.PLAN_GRACE_DAYS
        return context


class FinancialAssistanceApprovalListView(ObjectListView):
    area = "billing"
    queryset = financial_assistance_approvals()
    table_class = FinancialAssistanceApprovalTable
    filterset_class = FinancialAssistanceApprovalFilterSet
    title = "Financial assistance"
    template_name = "billing/accounts/assistance_list.html"

    def get_queryset(self):
        return super().get_queryset().filter(patient__in=patients_for_user(self.request.user))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["bands"] = FinancialAssistanceBand.objects.filter(is_active=True)
        return context


class FinancialAssistanceBandListView(ObjectListView):
    area = "billing"
    model = FinancialAssistanceBand
    table_class = FinancialAssistanceBandTable
    filterset_class = FinancialAssistanceBandFilterSet
    title = "Financial assistance bands"
    create_url_name = "billing:fa_band_create"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Bands are the practice's policy: only a manager adds them.
        context["can_add"] = can(self.request.user, "billing", "approve")
        return context


class FinancialAssistanceBandFormView(ObjectEditView):
    """Add or change a band: a manager's decision ("approve"), whether new or not."""

    area = "billing"
    model = FinancialAssistanceBand
    form_class = FinancialAssistanceBandForm
    action = "approve"

    def dispatch(self, request, *args, **kwargs):
        self.action = "approve"
        return super(ObjectEditView, self).dispatch(request, *args, **kwargs)

    def get_success_url(self):
        return reverse("billing:fa_band_list")
