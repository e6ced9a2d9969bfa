"""Service codes, fee schedules and their fees, and the fee analysis with its bulk update.

Setting prices is billing work, not front-desk work: creating or changing a service code, a
schedule or a fee needs billing "change" (the front desk's billing "add" is for taking
payments). Previewing a bulk update needs "change"; applying it needs "approve" (the
practice manager).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View

from practicedesk.billing.filters import FeeScheduleFilterSet, ServiceCodeFilterSet
from practicedesk.billing.forms import FeeBulkUpdateForm, FeeForm, FeeScheduleForm, ServiceCodeForm
from practicedesk.billing.models import Charge, Fee, FeeSchedule, ServiceCode
from practicedesk.billing.selectors import fee_analysis, fee_schedule_in_force
from practicedesk.billing.services import (
    FeeBulkMode,
    fee_schedule_bulk_preview,
    fee_schedule_bulk_update,
)
from practicedesk.billing.tables import FeeScheduleTable, ServiceCodeTable
from practicedesk.core.permissions import can
from practicedesk.core.views.generic import (
    AreaPermissionMixin,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
)


def add_service_errors(form, error: ValidationError) -> None:
    """A service's field-keyed errors go next to the fields; the rest above the form."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


class PriceEditView(ObjectEditView):
    """Create or change a price record: billing "change" either way (see the module)."""

    area = "billing"
    action = "change"

    def dispatch(self, request, *args, **kwargs):
        # ObjectEditView would ask for "add" on create; prices need "change" both ways.
        return super(ObjectEditView, self).dispatch(request, *args, **kwargs)


# Service codes


class ServiceCodeListView(ObjectListView):
    area = "billing"
    queryset = ServiceCode.objects.all()
    table_class = ServiceCodeTable
    filterset_class = ServiceCodeFilterSet
    title = "Service codes"
    template_name = "billing/fees/service_code_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Creating codes is price setting: shown to those who may change billing.
        context["can_add"] = can(self.request.user, "billing", "change")
        context["create_url_name"] = "billing:service_code_create"
        return context


class ServiceCodeFormView(PriceEditView):
    model = ServiceCode
    form_class = ServiceCodeForm

    def get_success_url(self):
        return reverse("billing:service_code_list")


# Fee schedules and fees


class FeeScheduleListView(ObjectListView):
    area = "billing"
    queryset = (
        FeeSchedule.objects.select_related("payer")
        .annotate(fee_count=Count("fees"))
        .order_by("payer__name", "-effective_from", "pk")
    )
    table_class = FeeScheduleTable
    filterset_class = FeeScheduleFilterSet
    title = "Fee schedules"
    template_name = "billing/fees/fee_schedule_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_add"] = can(self.request.user, "billing", "change")
        context["create_url_name"] = "billing:fee_schedule_create"
        return context


class FeeScheduleDetailView(ObjectDetailView):
    area = "billing"
    queryset = FeeSchedule.objects.select_related("payer")
    template_name = "billing/fees/fee_schedule_detail.html"
    fields = ("name", "payer", "effective_from", "effective_to")
    edit_url_name = "billing:fee_schedule_edit"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        schedule = self.object
        context["fees"] = schedule.fees.select_related("service_code").order_by(
            "service_code__code"
        )
        current = fee_schedule_in_force(timezone.localdate(), schedule.payer_id)
        context["is_current"] = current is not None and current.pk == schedule.pk
        context["is_future"] = schedule.effective_from > timezone.localdate()
        context["used_by_charges"] = schedule.payer_id is None and schedule_has_charges(schedule)
        context["can_change"] = can(self.request.user, "billing", "change")
        return context


def schedule_has_charges(schedule: FeeSchedule) -> bool:
    """Whether charges were posted on dates this (practice) schedule covers."""
    charges = Charge.objects.filter(date_of_service__gte=schedule.effective_from)
    if schedule.effective_to:
        charges = charges.filter(date_of_service__lte=schedule.effective_to)
    return charges.exists()


class FeeScheduleFormView(PriceEditView):
    model = FeeSchedule
    form_class = FeeScheduleForm


class FeeFormView(PriceEditView):
    """Add a fee to a schedule (``feeschedule_pk`` in the URL) or change one (``pk``)."""

    model = Fee
    form_class = FeeForm

    def get_object(self):
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(Fee.objects.select_related("fee_schedule"), pk=self.kwargs["pk"])

    def get_schedule(self) -> FeeSchedule:
        if self.object is not None:
            return self.object.fee_schedule
        return get_object_or_404(FeeSchedule, pk=self.kwargs["feeschedule_pk"])

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["fee_schedule"] = self.get_schedule()
        return kwargs

    def render(self, form, status=200):
        schedule = self.get_schedule()
        title = (
            f"Change {self.object.service_code.code} in {schedule}"
            if self.object
            else (f"Add a fee to {schedule}")
        )
        context = {
            "form": form,
            "object": self.object,
            "schedule": schedule,
            "title": title,
            "view": self,
            "cancel_url": schedule.get_absolute_url(),
            "used_by_charges": schedule.payer_id is None and schedule_has_charges(schedule),
        }
        template = self.partial_template_name if self.request.htmx else "billing/fees/fee_form.html"
        return TemplateResponse(self.request, template, context, status=status)


# Fee analysis and bulk update


class FeeAnalysisView(AreaPermissionMixin, View):
    """Per code the practice fee beside each payer's allowed amount and last year's volume,
    and the bulk update of the practice fees: Preview (billing change), then Apply (billing
    approve), which creates a new practice schedule from the chosen date."""

    area = "billing"
    action = "view"
    template_name = "billing/fees/fee_analysis.html"

    def get(self, request, *args, **kwargs):
        return self.render(FeeBulkUpdateForm(initial={"mode": FeeBulkMode.PERCENTAGE}))

    def post(self, request, *args, **kwargs):
        applying = "apply" in request.POST
        needed = "approve" if applying else "change"
        if not can(request.user, "billing", needed):
            raise PermissionDenied(
                "Only the practice manager can apply new fees."
                if applying
                else "Your role may not change fees."
            )
        form = FeeBulkUpdateForm(request.POST)
        if not form.is_valid():
            return self.render(form, status=422 if request.htmx else 200)
        try:
            if applying:
                schedule = fee_schedule_bulk_update(
                    acting_user=request.user,
                    name=form.cleaned_data["name"],
                    **form.service_arguments(),
                )
            else:
                preview = fee_schedule_bulk_preview(**form.service_arguments())
        except ValidationError as error:
            add_service_errors(form, error)
            return self.render(form, status=422 if request.htmx else 200)
        if applying:
            messages.success(
                request,
                f"New practice fees “{schedule}” created; the previous schedule ends "
                f"{schedule.effective_from:%Y-%m-%d} minus one day.",
            )
            return HttpResponseRedirect(schedule.get_absolute_url())
        return self.render(form, preview=preview)

    def render(self, form, *, preview=None, status=200):
        context = {
            "title": "Fee analysis",
            "analysis": fee_analysis(),
            "form": form,
            "preview": preview,
            "can_preview": can(self.request.user, "billing", "change"),
            "can_apply": can(self.request.user, "billing", "approve"),
        }
        return TemplateResponse(self.request, self.template_name, context, status=status)
