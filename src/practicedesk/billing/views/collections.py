"""Collections pages: the work queue, a case with its stage history, letters, contact log,
dispute and actions, the stage rules, and the files (letters, agency export).

Who may do what (area "billing"): the queue covers every account, so it needs "export"
(billers, bookkeepers, owners, managers); a case page needs "view"; logging contacts,
disputes, agency placement and write-off requests need "change" (billers); approving a
write-off and editing the stage rules need "approve" (the practice manager).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View

from practicedesk.billing import conf
from practicedesk.billing.collections import (
    collection_agency_place,
    collection_cases,
    collection_contact_log,
    collection_dispute,
    collection_dispute_resolve,
    collection_rules,
    collection_rules_set,
    collection_write_off_decide,
    collection_write_off_request,
    collections_minimum,
    next_step,
    ready_for_agency,
    write_off_amount,
)
from practicedesk.billing.filters import CollectionCaseFilterSet
from practicedesk.billing.forms import (
    CollectionAgencyForm,
    CollectionContactForm,
    CollectionDisputeForm,
    CollectionDisputeResolveForm,
    CollectionRulesForm,
    CollectionWriteOffDecisionForm,
    CollectionWriteOffRequestForm,
)
from practicedesk.billing.models import (
    CollectionCase,
    CollectionLetter,
    CollectionWriteOff,
)
from practicedesk.billing.selectors import patient_balance
from practicedesk.billing.statements import statement_file_verified
from practicedesk.billing.tables import CollectionCaseTable
from practicedesk.billing.views.accounts import AccountFormView, billing_perms
from practicedesk.billing.views.fees import add_service_errors
from practicedesk.billing.views.remittances import open_by_default
from practicedesk.billing.views.statements import pdf_response
from practicedesk.core.models import AuditEvent
from practicedesk.core.services import audit_event_record
from practicedesk.core.views.generic import AreaPermissionMixin, ObjectListView
from practicedesk.patients.selectors import patients_for_user


def case_for_user(user, pk) -> CollectionCase:
    return get_object_or_404(collection_cases().filter(patient__in=patients_for_user(user)), pk=pk)


class CollectionQueueView(ObjectListView):
    """Open cases by default, largest stage first; filters by stage and what a case needs."""

    area = "billing"
    action = "export"
    queryset = collection_cases().order_by("-stage_changed_at")
    table_class = CollectionCaseTable
    filterset_class = CollectionCaseFilterSet
    title = "Collections"
    template_name = "billing/collections/queue.html"

    def get_queryset(self):
        return super().get_queryset().filter(patient__in=patients_for_user(self.request.user))

    def get_filterset_kwargs(self, filterset_class):
        return open_by_default(super().get_filterset_kwargs(filterset_class), self.request)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        open_cases = CollectionCase.objects.filter(status=CollectionCase.Status.OPEN)
        counts = dict(
            open_cases.values("stage").annotate(count=Count("pk")).values_list("stage", "count")
        )
        context.update(
            rules=collection_rules(),
            minimum=collections_minimum(),
            stage_counts=[
                (stage, label, counts.get(stage, 0))
                for stage, label in CollectionCase.Stage.choices
            ],
            ready_count=open_cases.filter(ready_for_agency()).count(),
            can_edit_rules=billing_perms(self.request.user)["approve"],
        )
        return context


class CollectionCaseDetailView(AreaPermissionMixin, View):
    area = "billing"
    model = CollectionCase
    template_name = "billing/collections/case_detail.html"

    def get(self, request, pk):
        case = case_for_user(request.user, pk)
        audit_event_record(action=AuditEvent.Action.READ, request=request, obj=case)
        rules = collection_rules()
        step = next_step(case, rules)
        context = {
            "title": f"Collection case of {case.patient.display_name}",
            "case": case,
            "patient": case.patient,
            "balance": patient_balance(case.patient_id),
            "write_off_amount": write_off_amount(case.patient_id),
            "stage_changes": case.stage_changes.select_related("by"),
            "letters": case.letters.select_related("created_by"),
            "contacts": case.contacts.select_related("by", "letter"),
            "write_offs": case.write_offs.select_related("requested_by", "decided_by"),
            "pending_write_off": case.write_offs.filter(
                status=CollectionWriteOff.Status.PENDING
            ).first(),
            "next_step": step,
            "next_stage_label": dict(CollectionCase.Stage.choices).get(step[0]) if step else "",
            "is_open": case.status == CollectionCase.Status.OPEN,
            "contact_hours": conf.contact_hours(),
            "perms_billing": billing_perms(request.user),
        }
        return TemplateResponse(request, self.template_name, context)


class CaseFormView(AccountFormView):
    """A form about one collection case; back to the case when done."""

    model = CollectionCase
    action = "change"

    def load(self, pk):
        self.object = self.case = case_for_user(self.request.user, pk)
        self.patient = self.case.patient

    def get_success_url(self):
        return self.case.get_absolute_url()

    def render(self, form):
        response = super().render(form)
        response.context_data["crumb_case"] = self.case
        return response


class CollectionContactLogView(CaseFormView):
    form_class = CollectionContactForm
    submit_label = "Log it"

    def get_title(self):
        return f"Log a contact with {self.patient.display_name}"

    def get_context(self):
        start, end = conf.contact_hours()
        return {
            "intro": f"Calls are logged as they happen, and only from {start}:00 to {end}:00 "
            "local time. A promise to pay needs its amount and day; it is marked kept once "
            "paid, or broken when the day passes without payment.",
        }

    def perform(self, form):
        data = form.cleaned_data
        contact = collection_contact_log(
            acting_user=self.request.user,
            case=self.case,
            kind=data["kind"],
            note=data["note"],
            promise_amount=data["promise_amount"],
            promise_date=data["promise_date"],
        )
        return f"{contact.get_kind_display()} logged."


class CollectionDisputeView(CaseFormView):
    form_class = CollectionDisputeForm
    submit_label = "Mark disputed"
    danger = True

    def get_title(self):
        return f"The account of {self.patient.display_name} is disputed"

    def get_context(self):
        return {
            "intro": "While the account is disputed no letter goes out, the case does not "
            "move to its next stage, and no call, email or promise can be logged.",
        }

    def perform(self, form):
        collection_dispute(
            acting_user=self.request.user, case=self.case, reason=form.cleaned_data["reason"]
        )
        return "The account is disputed; collection has stopped until it is resolved."


class CollectionDisputeResolveView(CaseFormView):
    form_class = CollectionDisputeResolveForm
    submit_label = "Resolve the dispute"

    def get_title(self):
        return f"Resolve the dispute of {self.patient.display_name}"

    def get_context(self):
        return {
            "intro": f"Disputed: {self.case.dispute_reason}. Once resolved, collection "
            "resumes and the current stage's time starts again from today.",
        }

    def perform(self, form):
        collection_dispute_resolve(
            acting_user=self.request.user,
            case=self.case,
            resolution=form.cleaned_data["resolution"],
        )
        return "Dispute resolved; collection resumes."


class CollectionAgencyPlaceView(CaseFormView):
    form_class = CollectionAgencyForm
    submit_label = "Place with the agency"
    danger = True

    def get_title(self):
        return f"Place the account of {self.patient.display_name} with an agency"

    def get_context(self):
        return {
            "intro": f"The balance of {patient_balance(self.patient.pk)} is marked as placed "
            "and an export file for the agency is made (balance, identity, contact and "
            "dates). The ledger does not change; what the agency collects is posted as "
            "payments.",
        }

    def perform(self, form):
        collection_agency_place(
            acting_user=self.request.user,
            case=self.case,
            agency_name=form.cleaned_data["agency_name"],
        )
        return "Placed with the agency; download the export file from the case."


class CollectionWriteOffRequestView(CaseFormView):
    form_class = CollectionWriteOffRequestForm
    submit_label = "Ask for approval"

    def get_title(self):
        return f"Write off the balance of {self.patient.display_name} as bad debt"

    def get_context(self):
        return {
            "intro": f"{write_off_amount(self.patient.pk)} would be written off, charge by "
            "charge, once a practice manager approves. Nothing is posted until then.",
        }

    def perform(self, form):
        request = collection_write_off_request(
            acting_user=self.request.user, case=self.case, reason=form.cleaned_data["reason"]
        )
        return f"Write-off of {request.amount} waits for a practice manager's approval."


class CollectionWriteOffDecideView(AccountFormView):
    model = CollectionWriteOff
    action = "approve"
    form_class = CollectionWriteOffDecisionForm
    submit_label = "Decide"

    def load(self, pk):
        self.object = self.request_obj = get_object_or_404(
            CollectionWriteOff.objects.select_related("case__patient", "requested_by").filter(
                case__patient__in=patients_for_user(self.request.user)
            ),
            pk=pk,
        )
        self.case = self.request_obj.case
        self.patient = self.case.patient

    def get_title(self):
        return f"Write-off of {self.request_obj.amount} for {self.patient.display_name}"

    def get_context(self):
        return {
            "intro": f"Requested by {self.request_obj.requested_by} on "
            f"{timezone.localtime(self.request_obj.requested_at):%Y-%m-%d}: "
            f"“{self.request_obj.reason}”. Approving posts the write-off now with you as the "
            "approving manager and closes the case if nothing is left owed.",
        }

    def get_success_url(self):
        return self.case.get_absolute_url()

    def perform(self, form):
        decided = collection_write_off_decide(
            acting_user=self.request.user,
            request=self.request_obj,
            approve=form.cleaned_data["decision"] == "approve",
            note=form.cleaned_data["note"],
        )
        if decided.status == CollectionWriteOff.Status.APPROVED:
            return f"{decided.posted_amount} written off as bad debt."
        return "Write-off rejected."


class CollectionRulesView(AreaPermissionMixin, View):
    """The practice manager's stage rules."""

    area = "billing"
    action = "approve"
    template_name = "billing/accounts/account_form.html"

    def get(self, request):
        return self.render(CollectionRulesForm(rules=collection_rules()))

    def post(self, request):
        form = CollectionRulesForm(request.POST, rules=collection_rules())
        if form.is_valid():
            try:
                collection_rules_set(acting_user=request.user, days=form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Collection rules saved.")
                return HttpResponseRedirect(reverse("billing:collection_queue"))
        return self.render(form)

    def render(self, form):
        start, end = conf.contact_hours()
        context = {
            "form": form,
            "title": "Collection rules",
            "crumb_url": reverse("billing:collection_queue"),
            "crumb_label": "Collections",
            "intro": "The daily collections run opens a case for each patient owing at least "
            f"{collections_minimum()} for longer than the first notice's days (no case or "
            "payment plan yet), sends each stage's letter and moves cases on. Calls may be "
            f"logged from {start}:00 to {end}:00.",
            "submit_label": "Save the rules",
            "cancel_url": reverse("billing:collection_queue"),
        }
        return TemplateResponse(request=self.request, template=self.template_name, context=context)


class CollectionLetterDownloadView(AreaPermissionMixin, View):
    """A stage letter as it was made (checksum checked); a reprint is audited."""

    area = "billing"
    model = CollectionLetter

    def get(self, request, pk):
        letter = get_object_or_404(
            CollectionLetter.objects.select_related("case__patient").filter(
                case__patient__in=patients_for_user(request.user)
            ),
            pk=pk,
        )
        audit_event_record(
            action=AuditEvent.Action.READ,
            request=request,
            obj=letter,
            name="collection_letter_reprint",
            detail={"case": letter.case_id, "sha256": letter.sha256},
        )
        try:
            content = statement_file_verified(letter.file, letter.sha256)
        except (ValidationError, OSError):
            messages.error(request, "The stored letter cannot be read or was changed.")
            return HttpResponseRedirect(letter.case.get_absolute_url())
        return pdf_response(content, f"letter-{letter.stage}-{letter.case.patient.mrn}.pdf")


class CollectionAgencyExportView(AreaPermissionMixin, View):
    """The agency's export file of a placed case; each download is an audited export."""

    area = "billing"
    action = "export"
    model = CollectionCase

    def get(self, request, pk):
        case = case_for_user(request.user, pk)
        if not case.agency_file:
            messages.error(request, "The account has not been placed with an agency.")
            return HttpResponseRedirect(case.get_absolute_url())
        try:
            content = statement_file_verified(case.agency_file, case.agency_sha256)
        except (ValidationError, OSError):
            messages.error(request, "The stored export cannot be read or was changed.")
            return HttpResponseRedirect(case.get_absolute_url())
        audit_event_record(
            action=AuditEvent.Action.EXPORT,
            request=request,
            obj=case,
            name="collection_agency_export_download",
            detail={"sha256": case.agency_sha256, "agency": case.agency_name},
        )
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="agency-{case.patient.mrn}-{case.placed_at:%Y-%m-%d}.csv"'
        )
        return response
