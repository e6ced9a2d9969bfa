"""Claim pages: the claims and their lifecycle, claims of billed visits, secondary claims, the
837P export (a background job), the claim batches it records, and the denial work queue.

Reading needs billing "view"; creating a claim "add"; every lifecycle step (ready, appeal,
close, export) "change"; downloading a batch file "export". Each action is one service call.
"""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.text import slugify
from django.views import View
from django.views.generic import TemplateView

from practicedesk.billing.claim_selectors import (
    claim_batches,
    claim_for_page,
    claim_history,
    claim_lines,
    claims_for_list,
    claims_of_batch,
    claims_of_visit,
    denial_queue,
    ready_claims_by_payer,
    visits_to_claim,
)
from practicedesk.billing.filters import ClaimBatchFilterSet, ClaimFilterSet
from practicedesk.billing.forms import ClaimExportForm, ClaimStepForm
from practicedesk.billing.models import Claim, ClaimBatch
from practicedesk.billing.selectors import claim_balance, icd10_description
from practicedesk.billing.services import (
    CLAIM_NEXT,
    MANUAL_STEPS,
    claim_create,
    claim_mark_ready,
    claim_scrub,
    claim_secondary_create,
    claim_step,
    coverage_for,
)
from practicedesk.billing.tables import ClaimBatchTable, ClaimTable, claim_status_badge
from practicedesk.billing.tasks import claims_export_file
from practicedesk.core.models import AuditEvent
from practicedesk.core.permissions import can
from practicedesk.core.selectors import worker_state
from practicedesk.core.services import audit_event_record, job_start
from practicedesk.core.views.generic import AreaPermissionMixin, ObjectDetailView, ObjectListView
from practicedesk.patients.models import Payer
from practicedesk.scheduling.models import Appointment

Status = Claim.Status
STEP_LABELS = {Status.DRAFT: "Back to draft", Status.APPEALED: "Appeal", Status.CLOSED: "Close"}
# Statuses whose claim the scrubber still matters for (not yet with the payer).
SCRUBBED_STATUSES = (Status.DRAFT, Status.READY, Status.REJECTED)


def claim_for_user(user, pk: int) -> Claim:
    return get_object_or_404(claim_for_page(), pk=pk)


def say_problems(request, lead: str, error: ValidationError) -> None:
    messages.error(request, " ".join([lead, *error.messages]))


# The claims


class ClaimListView(ObjectListView):
    area = "billing"
    model = Claim
    table_class = ClaimTable
    filterset_class = ClaimFilterSet
    title = "Claims"
    template_name = "billing/claims/claim_list.html"

    def get_queryset(self):
        return claims_for_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        ready = ready_claims_by_payer()
        context["ready_by_payer"] = ready
        context["ready_count"] = sum(row["count"] for row in ready)
        context["ready_total"] = sum((row["total"] for row in ready), Decimal("0.00"))
        context["can_change"] = can(self.request.user, "billing", "change")
        context["can_create_claim"] = can(self.request.user, "billing", "add")
        context["export_form"] = ClaimExportForm()
        return context


class ClaimDetailView(ObjectDetailView):
    """The claim: patient, lines, diagnoses, what the scrubber says, its status history with
    who and when, the balance the payer still owes, and the steps open to it now."""

    area = "billing"
    model = Claim
    template_name = "billing/claims/claim_detail.html"

    def get_queryset(self):
        return claim_for_page()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        claim = self.object
        user = self.request.user
        can_change = can(user, "billing", "change")
        next_statuses = CLAIM_NEXT.get(claim.status, ())
        other_claims = list(claims_of_visit(claim))
        secondary_coverage = None
        if claim.payer_order == 1 and claim.status in (Status.PAID, Status.PARTIALLY_PAID):
            secondary_coverage = coverage_for(claim.appointment, 2)
        has_open_secondary = any(
            other.primary_claim_id == claim.pk and other.status != Status.CLOSED
            for other in other_claims
        )
        context.update(
            claim=claim,
            patient=claim.patient,
            status_badge=claim_status_badge(claim),
            lines=list(claim_lines(claim)),
            diagnoses=[
                (d.position, d.code, icd10_description(d.code))
                for d in claim.appointment.diagnoses.all()
            ],
            problems=claim_scrub(claim) if claim.status in SCRUBBED_STATUSES else None,
            status_history=list(claim_history(claim)),
            balance=claim_balance(claim),
            other_claims=other_claims,
            can_mark_ready=can_change and Status.READY in next_statuses,
            steps=[
                (status, STEP_LABELS[status])
                for status in MANUAL_STEPS
                if can_change and status in next_statuses
            ],
            step_form=ClaimStepForm(),
            secondary_coverage=secondary_coverage,
            can_create_secondary=(
                can(user, "billing", "add")
                and secondary_coverage is not None
                and not has_open_secondary
            ),
        )
        return context


class ClaimMarkReadyView(AreaPermissionMixin, View):
    """Scrub the claim; a clean one becomes ready to export, otherwise each problem is said."""

    area = "billing"
    action = "change"
    model = Claim

    def post(self, request, pk):
        claim = claim_for_user(request.user, pk)
        try:
            claim_mark_ready(acting_user=request.user, claim=claim)
        except ValidationError as error:
            say_problems(request, "The claim is not ready:", error)
        else:
            messages.success(
                request, f"Claim {claim.claim_number} is ready; it goes in the next export."
            )
        return redirect(claim.get_absolute_url())


class ClaimStepView(AreaPermissionMixin, View):
    """Back to draft, appeal (with what it argues) or close, from the claim's page."""

    area = "billing"
    action = "change"
    model = Claim

    def post(self, request, pk):
        claim = claim_for_user(request.user, pk)
        form = ClaimStepForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose a step the claim can take.")
            return redirect(claim.get_absolute_url())
        to_status = form.cleaned_data["to_status"]
        try:
            claim_step(
                acting_user=request.user,
                claim=claim,
                to_status=to_status,
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            say_problems(request, "Nothing changed:", error)
        else:
            messages.success(
                request, f"Claim {claim.claim_number} is now {Status(to_status).label.lower()}."
            )
        return redirect(claim.get_absolute_url())


class ClaimSecondaryCreateView(AreaPermissionMixin, View):
    """Once the primary payer has paid, a claim for the rest to the secondary coverage."""

    area = "billing"
    action = "add"
    model = Claim

    def post(self, request, pk):
        primary = claim_for_user(request.user, pk)
        try:
            secondary = claim_secondary_create(acting_user=request.user, primary=primary)
        except ValidationError as error:
            say_problems(request, "No secondary claim was created:", error)
            return redirect(primary.get_absolute_url())
        messages.success(
            request,
            f"Secondary claim {secondary.claim_number} to {secondary.payer} created as a draft; "
            "mark it ready to send it with the primary payer's adjudication.",
        )
        return redirect(secondary.get_absolute_url())


class ClaimCreateView(AreaPermissionMixin, View):
    """Billed visits without a claim yet, and a claim for one of them (to its primary
    coverage on the date of service). A biller's work: the front desk's billing "add" is for
    charges and payments at the desk, so this needs "change", as in the API."""

    area = "billing"
    action = "change"
    template_name = "billing/claims/claim_create.html"
    shown = 100

    def get(self, request):
        visits = visits_to_claim()
        context = {
            "title": "Create claims",
            "visits": list(visits[: self.shown]),
            "visit_count": visits.count(),
            "shown": self.shown,
        }
        return TemplateResponse(request, self.template_name, context)

    def post(self, request):
        appointment = get_object_or_404(
            Appointment.objects.restrict(request.user).select_related("patient"),
            pk=request.POST.get("appointment") or 0,
        )
        try:
            claim = claim_create(acting_user=request.user, appointment=appointment)
        except ValidationError as error:
            say_problems(request, "No claim was created:", error)
            return redirect("billing:claim_create")
        messages.success(
            request,
            f"Claim {claim.claim_number} to {claim.payer} created as a draft; mark it ready "
            "once the scrubber finds nothing.",
        )
        return redirect(claim.get_absolute_url())


# Export (837P) and batches


class ClaimExportView(AreaPermissionMixin, View):
    """Start the export of the ready claims as a background job, then show its progress."""

    area = "billing"
    action = "change"

    def post(self, request):
        form = ClaimExportForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose a payer that has ready claims, or all payers.")
            return redirect("billing:claim_list")
        payer: Payer | None = form.cleaned_data["payer"]
        try:
            job = job_start(
                acting_user=request.user,
                task=claims_export_file,
                kwargs={"payer_id": payer.pk if payer else None, "user_id": request.user.pk},
                one_at_a_time=True,
            )
        except ValidationError as error:
            say_problems(request, "The export did not start:", error)
            return redirect("billing:claim_list")
        which = f"{payer}'s ready claims" if payer else "the ready claims"
        if worker_state()["status"] == "ok":
            messages.success(request, f"Exporting {which} as an 837P batch; progress is below.")
        else:
            messages.warning(
                request,
                f"The export of {which} is queued, but no worker is running: it starts when one "
                "does (`make run` starts it).",
            )
        if can(request.user, "jobs", "view"):
            return redirect("core:job_detail", pk=job.pk)
        return redirect("billing:claim_batch_list")


class ClaimBatchListView(ObjectListView):
    area = "billing"
    model = ClaimBatch
    table_class = ClaimBatchTable
    filterset_class = ClaimBatchFilterSet
    title = "Claim batches"
    template_name = "billing/claims/claim_batch_list.html"

    def get_queryset(self):
        return claim_batches()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_view_jobs"] = can(self.request.user, "jobs", "view")
        return context


class ClaimBatchDetailView(ObjectDetailView):
    area = "billing"
    model = ClaimBatch
    template_name = "billing/claims/claim_batch_detail.html"

    def get_queryset(self):
        return ClaimBatch.objects.select_related("payer", "created_by")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        batch = self.object
        context["claims"] = list(claims_of_batch(batch))
        context["segment_count"] = batch.content.count("~")
        context["size_bytes"] = len(batch.content.encode("ascii", "replace"))
        return context


class ClaimBatchDownloadView(AreaPermissionMixin, View):
    """The batch's 837P file as sent; every download is in the audit log (claims are PHI)."""

    area = "billing"
    action = "export"
    model = ClaimBatch

    def get(self, request, pk):
        batch = get_object_or_404(ClaimBatch.objects.all(), pk=pk)
        audit_event_record(
            action=AuditEvent.Action.DOWNLOAD,
            request=request,
            obj=batch,
            name="claim_batch_download",
            detail={"interchange": batch.interchange_control_number},
        )
        response = HttpResponse(batch.content, content_type="application/edi-x12")
        name = slugify(f"837p-{batch.interchange_control_number:09d}")
        response["Content-Disposition"] = f'attachment; filename="{name}.x12"'
        return response


# Denials


class DenialQueueView(AreaPermissionMixin, TemplateView):
    """Denied claims grouped by the payer's reason: the biller's work queue for appeals."""

    area = "billing"
    template_name = "billing/claims/denial_queue.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        payers = Payer.objects.filter(claims__status=Status.DENIED).distinct().order_by("name")
        try:
            payer_id = int(self.request.GET.get("payer") or 0) or None
        except ValueError:
            payer_id = None
        groups = denial_queue(payer_id)
        context.update(
            title="Denials",
            groups=groups,
            claim_count=sum(group.count for group in groups),
            total=sum((group.total for group in groups), Decimal("0.00")),
            payers=payers,
            payer_id=payer_id,
        )
        return context
