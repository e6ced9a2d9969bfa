"""Remittance pages: upload an 835 (a background job), the remittances and what they posted,
the reconciliation and underpayment queues, and the payer comparison report."""

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.views import View
from django.views.generic import DetailView, TemplateView
from django_tasks_db.models import DBTaskResult

from practicedesk.billing.filters import (
    ReconciliationItemFilterSet,
    RemittanceFilterSet,
    UnderpaymentFilterSet,
)
from practicedesk.billing.forms import (
    PayerComparisonForm,
    ReconciliationResolveForm,
    RemittanceUploadForm,
    UnderpaymentDecisionForm,
)
from practicedesk.billing.models import ReconciliationItem, Remittance, Underpayment
from practicedesk.billing.remittance_selectors import (
    payer_comparison,
    reconciliation_items,
    remittance_claims,
    remittance_import_notes,
    remittance_lines,
    remittance_totals,
    remittances,
    underpayments,
)
from practicedesk.billing.remittances import (
    CARC,
    CLAIM_STATUS_CODES,
    GROUPS,
    reconciliation_item_resolve,
    underpayment_decide,
    underpayment_tolerance,
)
from practicedesk.billing.tables import (
    ReconciliationItemTable,
    RemittanceTable,
    UnderpaymentTable,
)
from practicedesk.billing.tasks import remittance_import_file
from practicedesk.core.models import AuditEvent
from practicedesk.core.permissions import can
from practicedesk.core.selectors import job_progress, job_state, worker_state
from practicedesk.core.services import audit_event_record, job_start
from practicedesk.core.views.generic import (
    AreaPermissionMixin,
    ObjectListView,
    RestrictedQuerysetMixin,
)


def is_htmx_fragment(request) -> bool:
    return bool(getattr(request, "htmx", False)) and not request.htmx.boosted


def claim_url(claim_id: int | None) -> str:
    """The claim's page, or "" while the claim pages are not installed."""
    if not claim_id:
        return ""
    try:
        return reverse("billing:claim_detail", args=[claim_id])
    except NoReverseMatch:
        return ""


def open_by_default(kwargs: dict, request) -> dict:
    """A queue shows its open items unless the status filter says otherwise."""
    if "status" not in request.GET:
        data = request.GET.copy()
        data["status"] = "open"
        kwargs["data"] = data
    return kwargs


# Remittances


class RemittanceListView(ObjectListView):
    area = "billing"
    queryset = remittances()
    table_class = RemittanceTable
    filterset_class = RemittanceFilterSet
    title = "Remittances"
    template_name = "billing/remittances/remittance_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_upload"] = can(self.request.user, "billing", "change")
        return context


class RemittanceDetailView(AreaPermissionMixin, RestrictedQuerysetMixin, DetailView):
    """One payment: its claims and lines, BPR against what they account for, what is held."""

    area = "billing"
    queryset = remittances()
    template_name = "billing/remittances/remittance_detail.html"

    def get_object(self, queryset=None):
        remittance = super().get_object(queryset)
        # The page lists patients' claims: a read of protected data.
        audit_event_record(action=AuditEvent.Action.READ, request=self.request, obj=remittance)
        return remittance

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        remittance = self.object
        lines = list(remittance_lines(remittance))
        for line in lines:
            line.claim_url = claim_url(line.claim_id)
        claims = list(remittance_claims(remittance))
        for row in claims:
            row["url"] = claim_url(row["claim_id"])
            row["status_text"] = CLAIM_STATUS_CODES.get(row["claim_status_code"], "")
        context.update(
            title=f"Remittance {remittance.trace_number}",
            remittance=remittance,
            totals=remittance_totals(remittance),
            notes=remittance_import_notes(remittance),
            lines=lines,
            claims=claims,
            items=remittance.reconciliation_items.select_related("resolved_by"),
            groups=GROUPS,
            carc=CARC,
        )
        return context


class RemittanceUploadView(AreaPermissionMixin, View):
    """Upload an 835; the import runs as a background job (posting changes accounts)."""

    area = "billing"
    action = "change"
    template_name = "billing/remittances/remittance_upload.html"

    def get(self, request):
        return self.render(RemittanceUploadForm())

    def post(self, request):
        form = RemittanceUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(form)
        upload = form.cleaned_data["file"]
        stored = default_storage.save(f"imports/remittances/{uuid.uuid4().hex}.835", upload)
        job = job_start(
            acting_user=request.user,
            task=remittance_import_file,
            kwargs={
                "storage_name": stored,
                "original_name": upload.name[:200],
                "user_id": request.user.pk,
            },
        )
        messages.success(request, f"“{upload.name}” is being imported; progress is below.")
        return redirect("billing:remittance_upload_status", pk=job.pk)

    def render(self, form):
        context = {"form": form, "title": "Import a remittance (835)"}
        return TemplateResponse(self.request, self.template_name, context)


class RemittanceUploadStatusView(AreaPermissionMixin, TemplateView):
    """An upload's progress (refreshing itself while it runs), then what it posted."""

    area = "billing"
    action = "change"
    template_name = "billing/remittances/remittance_upload_status.html"

    def get_template_names(self):
        if is_htmx_fragment(self.request):
            return ["billing/remittances/partials/upload_status.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = get_object_or_404(
            DBTaskResult.objects.filter(task_path=remittance_import_file.module_path),
            pk=self.kwargs["pk"],
        )
        arguments = (job.args_kwargs or {}).get("kwargs", {})
        result = job.return_value if job.status == "SUCCESSFUL" else None
        remittance_links = []
        if result and result.get("remittance_ids"):
            ids = result["remittance_ids"]
            found = {r.pk: r for r in Remittance.objects.filter(pk__in=ids)}
            remittance_links = [found[pk] for pk in ids if pk in found]
        context.update(
            job=job,
            title=f"Import of {arguments.get('original_name') or 'an 835 file'}",
            state=job_state(job.status),
            finished=job.status in ("SUCCESSFUL", "FAILED"),
            progress=job_progress(job),
            result=result,
            remittance_links=remittance_links,
            worker=worker_state(),
        )
        return context


# Reconciliation queue


class ReconciliationListView(ObjectListView):
    """Items of remittances that matched nothing here; open ones first (the default filter)."""

    area = "billing"
    queryset = reconciliation_items()
    table_class = ReconciliationItemTable
    filterset_class = ReconciliationItemFilterSet
    title = "Reconciliation"

    def get_filterset_kwargs(self, filterset_class):
        return open_by_default(super().get_filterset_kwargs(filterset_class), self.request)


class ReconciliationResolveView(AreaPermissionMixin, View):
    area = "billing"
    action = "change"
    model = ReconciliationItem
    template_name = "billing/remittances/reconciliation_resolve.html"

    def get_item(self, pk) -> ReconciliationItem:
        return get_object_or_404(reconciliation_items(), pk=pk)

    def get(self, request, pk):
        return self.render(self.get_item(pk), ReconciliationResolveForm())

    def post(self, request, pk):
        item = self.get_item(pk)
        form = ReconciliationResolveForm(request.POST)
        if form.is_valid():
            try:
                reconciliation_item_resolve(
                    acting_user=request.user,
                    item=item,
                    resolution=form.cleaned_data["resolution"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, "Reconciliation item resolved.")
                return redirect("billing:reconciliation_list")
        return self.render(item, form)

    def render(self, item, form):
        context = {"item": item, "form": form, "title": "Resolve a reconciliation item"}
        return TemplateResponse(self.request, self.template_name, context)


# Underpayment queue


class UnderpaymentListView(ObjectListView):
    """Lines paid below contract; open ones first (the default filter)."""

    area = "billing"
    queryset = underpayments()
    table_class = UnderpaymentTable
    filterset_class = UnderpaymentFilterSet
    title = "Underpayments"
    template_name = "billing/remittances/underpayment_list.html"

    def get_filterset_kwargs(self, filterset_class):
        return open_by_default(super().get_filterset_kwargs(filterset_class), self.request)


class UnderpaymentDecideView(AreaPermissionMixin, View):
    area = "billing"
    action = "change"
    model = Underpayment
    template_name = "billing/remittances/underpayment_decide.html"

    def get_underpayment(self, pk) -> Underpayment:
        return get_object_or_404(underpayments(), pk=pk)

    def get(self, request, pk):
        return self.render(self.get_underpayment(pk), UnderpaymentDecisionForm())

    def post(self, request, pk):
        underpayment = self.get_underpayment(pk)
        form = UnderpaymentDecisionForm(request.POST)
        if form.is_valid():
            try:
                underpayment_decide(
                    acting_user=request.user,
                    underpayment=underpayment,
                    decision=form.cleaned_data["decision"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                word = "appealed" if form.cleaned_data["decision"] == "appealed" else "accepted"
                messages.success(request, f"Underpayment {word}.")
                return redirect("billing:underpayment_list")
        return self.render(underpayment, form)

    def render(self, underpayment, form):
        context = {
            "underpayment": underpayment,
            "claim_url": claim_url(underpayment.claim_id),
            "form": form,
            "title": "Appeal or accept an underpayment",
            "tolerance": underpayment_tolerance(),
        }
        return TemplateResponse(self.request, self.template_name, context)


# Payer comparison


class PayerComparisonView(AreaPermissionMixin, TemplateView):
    """Which payer reimburses best for a code, over a period of service dates."""

    area = "billing"
    template_name = "billing/remittances/payer_comparison.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Always bound: an empty query means every code over the last twelve months.
        form = PayerComparisonForm(self.request.GET)
        rows = []
        if form.is_valid():
            data = form.cleaned_data
            rows = payer_comparison(start=data["start"], end=data["end"], code=data["code"])
        context.update(title="Payer comparison", form=form, rows=rows)
        return context
