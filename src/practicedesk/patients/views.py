"""Patient registry pages: list and search, the patient's page, registration with duplicate
check, coverage, alerts, merge, import; payers and referral sources.

Every patient page fetches the patient through ``patient_for_user`` and shows the patient
banner (name, MRN, date of birth, every active alert).
"""

import copy
import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db.models import Count
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView
from django_tasks_db.models import DBTaskResult

from practicedesk.core.selectors import job_progress, job_state, worker_state
from practicedesk.core.services import job_start
from practicedesk.core.views.generic import (
    AreaPermissionMixin,
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
)
from practicedesk.patients.filters import (
    PatientFilterSet,
    PayerFilterSet,
    ReferralSourceFilterSet,
)
from practicedesk.patients.forms import (
    CoverageForm,
    PatientAlertForm,
    PatientForm,
    PatientImportForm,
    PatientMergeForm,
    PayerForm,
    ReferralSourceForm,
)
from practicedesk.patients.importers import COLUMNS
from practicedesk.patients.models import Coverage, Patient, PatientAlert, Payer, ReferralSource
from practicedesk.patients.selectors import (
    likely_duplicates,
    patient_detail,
    patient_for_user,
    patients_for_user,
)
from practicedesk.patients.services import (
    coverage_save,
    patient_alert_add,
    patient_alert_resolve,
    patient_merge,
    patient_merge_preview,
    patient_register,
    patient_update,
)
from practicedesk.patients.tables import PatientTable, PayerTable, ReferralSourceTable
from practicedesk.patients.tasks import patients_import_file


def add_service_errors(form, error: ValidationError) -> None:
    """Show a service's field-keyed errors next to the fields; the rest above the form."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def form_response(request, template, context, *, invalid=False):
    """The page, or for htmx just the form (422 when it has errors, so htmx shows them)."""
    status = 422 if invalid and request.htmx else 200
    if request.htmx:
        template = context.get("partial_template", "core/partials/form.html")
    return TemplateResponse(request, template, context, status=status)


def redirect_after_save(request, url):
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


# Patients


class PatientListView(ObjectListView):
    area = "patients"
    queryset = Patient.objects.select_related("home_location")
    table_class = PatientTable
    filterset_class = PatientFilterSet
    create_url_name = "patients:patient_create"
    template_name = "patients/patient_list.html"
    # The table pages the list (one COUNT); ``paginate_by`` would page it a second time.
    paginate_by = None
    table_pagination = {"per_page": ObjectListView.paginate_by}


class PatientDetailView(ObjectDetailView):
    """The patient's page. Opening it writes a read event to the audit log (the model's
    ``audit_reads``), as for every record holding health information."""

    area = "patients"
    queryset = Patient.objects.select_related(
        "guarantor", "referral_source", "home_location", "merged_into"
    )
    template_name = "patients/patient_detail.html"
    edit_url_name = "patients:patient_edit"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        detail = patient_detail(self.object)
        context.update(detail)
        context["patient"] = self.object
        context["banner_alerts"] = detail["alerts_active"]
        return context


class PatientEditView(ObjectEditView):
    """Register a patient (likely duplicates are shown first; nothing is saved until the user
    says none of them is this patient) or change one (consent changes are recorded)."""

    area = "patients"
    model = Patient
    form_class = PatientForm
    template_name = "patients/patient_form.html"

    def get_queryset(self):
        return patients_for_user(self.request.user)

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        if self.object is not None and self.object.status == Patient.Status.MERGED:
            return self.refuse_merged()
        return self.render(self.get_form())

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        if self.object is not None and self.object.status == Patient.Status.MERGED:
            return self.refuse_merged()
        # The form writes its values into the instance while checking them; the banner shows
        # the record as saved.
        self.saved = copy.copy(self.object)
        form = self.get_form()
        valid = form.is_valid()
        duplicates = self.duplicates(form) if self.object is None else []
        if not valid:
            return self.render(form, duplicates=duplicates, invalid=True)
        if duplicates and not form.cleaned_data.get("not_duplicate"):
            return self.render(form, duplicates=duplicates, invalid=True)
        patient = form.save(commit=False)
        try:
            if self.object is None:
                patient = patient_register(acting_user=request.user, patient=patient)
                messages.success(request, f"Patient registered with MRN {patient.mrn}.")
            else:
                patient = patient_update(acting_user=request.user, patient=patient)
                messages.success(request, "Patient saved.")
        except ValidationError as error:
            add_service_errors(form, error)
            return self.render(form, invalid=True)
        return redirect_after_save(request, patient.get_absolute_url())

    @staticmethod
    def duplicates(form) -> list:
        """Likely duplicates of the patient being registered, as soon as the name and date of
        birth are readable (even while other fields still have errors)."""
        data = getattr(form, "cleaned_data", {})
        if not (data.get("last_name") and data.get("first_name") and data.get("date_of_birth")):
            return []
        return likely_duplicates(
            data["first_name"],
            data["last_name"],
            data["date_of_birth"],
            [data.get("mobile_phone", ""), data.get("home_phone", "")],
        )

    def refuse_merged(self):
        messages.error(
            self.request,
            f"{self.object} was merged into {self.object.merged_into}; change that record.",
        )
        return redirect(self.object.get_absolute_url())

    def render(self, form, status=200, *, duplicates=None, invalid=False):
        saved = getattr(self, "saved", self.object)
        title = f"Edit {saved}" if saved else "Register a patient"
        context = {
            "form": form,
            "object": self.object,
            "patient": saved,
            "title": title,
            "duplicates": duplicates or [],
            "cancel_url": reverse("patients:patient_list"),
            "partial_template": "patients/partials/patient_form.html",
        }
        return form_response(self.request, self.template_name, context, invalid=invalid)


class PatientChildView(AreaPermissionMixin, View):
    """A form on a patient's record (coverage, alert): the patient's banner above it."""

    area = "patients"
    action = "change"
    template_name = "patients/patient_child_form.html"

    def get_patient(self, pk) -> Patient:
        return patient_for_user(self.request.user, pk)

    def render(self, form, patient, *, title, invalid=False):
        context = {
            "form": form,
            "patient": patient,
            "title": title,
            "cancel_url": patient.get_absolute_url(),
        }
        return form_response(self.request, self.template_name, context, invalid=invalid)

    def refuse_merged(self, patient):
        messages.error(
            self.request,
            f"{patient} was merged into {patient.merged_into}; work on that record.",
        )
        return redirect(patient.get_absolute_url())


class CoverageCreateView(PatientChildView):
    """Add insurance coverage to the patient whose id is in the URL."""

    model = Patient

    def get(self, request, pk):
        patient = self.get_patient(pk)
        if patient.status == Patient.Status.MERGED:
            return self.refuse_merged(patient)
        return self.render(
            CoverageForm(instance=Coverage(patient=patient)), patient, title="Add coverage"
        )

    def post(self, request, pk):
        patient = self.get_patient(pk)
        if patient.status == Patient.Status.MERGED:
            return self.refuse_merged(patient)
        form = CoverageForm(request.POST, instance=Coverage(patient=patient))
        if form.is_valid():
            try:
                coverage_save(acting_user=request.user, coverage=form.save(commit=False))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Coverage added.")
                return redirect_after_save(request, patient.get_absolute_url() + "#coverage")
        return self.render(form, patient, title="Add coverage", invalid=True)


class CoverageEditView(PatientChildView):
    model = Coverage

    def get_coverage(self, pk) -> Coverage:
        coverage = get_object_or_404(Coverage.objects.select_related("payer"), pk=pk)
        # Through the patient, so the patient's restrictions apply to its coverage too.
        coverage.patient = self.get_patient(coverage.patient_id)
        return coverage

    def get(self, request, pk):
        coverage = self.get_coverage(pk)
        return self.render(
            CoverageForm(instance=coverage), coverage.patient, title=f"Edit coverage {coverage}"
        )

    def post(self, request, pk):
        coverage = self.get_coverage(pk)
        form = CoverageForm(request.POST, instance=coverage)
        if form.is_valid():
            try:
                coverage_save(acting_user=request.user, coverage=form.save(commit=False))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Coverage saved.")
                return redirect_after_save(request, coverage.get_absolute_url())
        return self.render(form, coverage.patient, title=f"Edit coverage {coverage}", invalid=True)


class PatientAlertCreateView(PatientChildView):
    model = Patient

    def get(self, request, pk):
        patient = self.get_patient(pk)
        if patient.status == Patient.Status.MERGED:
            return self.refuse_merged(patient)
        return self.render(PatientAlertForm(), patient, title="Add an alert")

    def post(self, request, pk):
        patient = self.get_patient(pk)
        if patient.status == Patient.Status.MERGED:
            return self.refuse_merged(patient)
        form = PatientAlertForm(request.POST)
        if (
            form.is_valid()
            and patient.alerts.filter(kind=form.cleaned_data["kind"], is_active=True).exists()
        ):
            # The service keeps one active alert per kind; say so rather than add nothing.
            form.add_error(
                "kind", "This patient already has an active alert of this kind; resolve it first."
            )
        if form.is_valid():
            try:
                patient_alert_add(acting_user=request.user, patient=patient, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Alert added; it shows on every page of the patient.")
                return redirect_after_save(request, patient.get_absolute_url())
        return self.render(form, patient, title="Add an alert", invalid=True)


class PatientAlertResolveView(AreaPermissionMixin, View):
    area = "patients"
    action = "change"
    model = PatientAlert

    def post(self, request, pk):
        alert = get_object_or_404(PatientAlert.objects.select_related("patient"), pk=pk)
        patient = patient_for_user(request.user, alert.patient_id)
        if alert.is_active:
            patient_alert_resolve(acting_user=request.user, alert=alert)
            messages.success(request, f"Alert “{alert}” resolved.")
        return redirect(patient.get_absolute_url())


class PatientMergeView(AreaPermissionMixin, View):
    """Merge a duplicate into this patient: pick it, see what would move, confirm."""

    area = "patients"
    action = "approve"
    model = Patient
    template_name = "patients/patient_merge.html"

    def get(self, request, pk):
        target = patient_for_user(request.user, pk)
        if target.status == Patient.Status.MERGED:
            return self.refuse_merged(target)
        initial = {"source_mrn": request.GET.get("source", "")}
        return self.render(PatientMergeForm(target=target, initial=initial), target)

    def post(self, request, pk):
        target = patient_for_user(request.user, pk)
        if target.status == Patient.Status.MERGED:
            return self.refuse_merged(target)
        form = PatientMergeForm(request.POST, target=target)
        if not form.is_valid():
            return self.render(form, target)
        source = form.source
        if not form.cleaned_data["confirm"]:
            return self.render(form, target, source=source)
        try:
            moved = patient_merge(acting_user=request.user, source=source, target=target)
        except ValidationError as error:
            form.add_error(None, error)
            return self.render(form, target, source=source)
        messages.success(
            request,
            f"{source.mrn} merged into this record: {sum(moved.values())} records moved. "
            f"{source.mrn} is kept, marked as merged.",
        )
        return redirect(target.get_absolute_url())

    def refuse_merged(self, target):
        messages.error(
            self.request, f"{target} was merged into {target.merged_into}; merge into that one."
        )
        return redirect(target.get_absolute_url())

    def render(self, form, target, *, source=None):
        candidates = likely_duplicates(
            target.first_name,
            target.last_name,
            target.date_of_birth,
            [target.mobile_phone, target.home_phone],
            exclude_pk=target.pk,
        )
        preview = None
        if source is not None:
            preview = [
                (label_for(label), count)
                for label, count in patient_merge_preview(source=source).items()
            ]
        context = {
            "form": form,
            "patient": target,
            "title": f"Merge a duplicate into {target}",
            "candidates": candidates,
            "source": source,
            "preview": preview,
            "preview_total": sum(count for _, count in preview or []),
        }
        return TemplateResponse(self.request, self.template_name, context)


def label_for(link_label: str) -> str:
    """'scheduling.appointment.patient' -> 'Appointments' in words a manager reads."""
    from django.apps import apps

    app_model, _, field_name = link_label.rpartition(".")
    try:
        model = apps.get_model(app_model)
    except (LookupError, ValueError):
        return link_label
    noun = str(model._meta.verbose_name_plural).capitalize()
    if model is Patient:
        return {
            "guarantor": "Patients this record is the guarantor of",
            "merged_into": "Records merged into this record earlier",
        }.get(field_name, noun)
    return noun


# Import


class PatientImportView(AreaPermissionMixin, View):
    area = "patients"
    action = "add"
    template_name = "patients/patient_import.html"

    def get(self, request):
        return self.render(PatientImportForm())

    def post(self, request):
        form = PatientImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(form)
        upload = form.cleaned_data["file"]
        stored = default_storage.save(f"imports/patients/{uuid.uuid4().hex}.csv", upload)
        job = job_start(
            acting_user=request.user,
            task=patients_import_file,
            kwargs={
                "storage_name": stored,
                "original_name": upload.name[:200],
                "all_or_nothing": form.cleaned_data["all_or_nothing"],
                "user_id": request.user.pk,
            },
        )
        messages.success(request, f"“{upload.name}” is being imported; progress is below.")
        return redirect("patients:patient_import_status", pk=job.pk)

    def render(self, form):
        context = {"form": form, "title": "Import patients", "columns": COLUMNS}
        return TemplateResponse(self.request, self.template_name, context)


class PatientImportStatusView(AreaPermissionMixin, TemplateView):
    """An import's progress (refreshing itself while it runs), then its report."""

    area = "patients"
    action = "add"
    template_name = "patients/patient_import_status.html"

    def get_template_names(self):
        if self.request.htmx and not self.request.htmx.boosted:
            return ["patients/partials/import_status.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = get_object_or_404(
            DBTaskResult.objects.filter(task_path=patients_import_file.module_path),
            pk=self.kwargs["pk"],
        )
        arguments = (job.args_kwargs or {}).get("kwargs", {})
        finished = job.status in ("SUCCESSFUL", "FAILED")
        context.update(
            job=job,
            title=f"Import of {arguments.get('original_name', 'a CSV file')}",
            state=job_state(job.status),
            finished=finished,
            progress=job_progress(job),
            result=job.return_value if job.status == "SUCCESSFUL" else None,
            all_or_nothing=arguments.get("all_or_nothing", False),
            worker=worker_state(),
        )
        return context


# Payers


class PayerListView(ObjectListView):
    area = "billing"
    model = Payer
    table_class = PayerTable
    filterset_class = PayerFilterSet
    create_url_name = "patients:payer_create"


class PayerDetailView(ObjectDetailView):
    area = "billing"
    model = Payer
    edit_url_name = "patients:payer_edit"
    delete_url_name = "patients:payer_delete"
    fields = (
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
    )


class PayerEditView(ObjectEditView):
    area = "billing"
    model = Payer
    form_class = PayerForm


class PayerDeleteView(ObjectDeleteView):
    """Payers are archived, never deleted: coverage and claims keep naming them."""

    area = "billing"
    model = Payer
    success_url_name = "patients:payer_list"


# Referral sources


class ReferralSourceListView(ObjectListView):
    area = "marketing"
    queryset = ReferralSource.objects.annotate(patient_count=Count("patients")).order_by("name")
    table_class = ReferralSourceTable
    filterset_class = ReferralSourceFilterSet
    create_url_name = "patients:referral_source_create"


class ReferralSourceDetailView(ObjectDetailView):
    area = "marketing"
    queryset = ReferralSource.objects.annotate(patient_count=Count("patients")).order_by("name")
    edit_url_name = "patients:referral_source_edit"

    def get_fields(self):
        return [*super().get_fields(), ("Patients referred", self.object.patient_count)]


class ReferralSourceEditView(ObjectEditView):
    area = "marketing"
    model = ReferralSource
    form_class = ReferralSourceForm

    def get_success_url(self):
        return reverse("patients:referral_source_detail", args=[self.object.pk])
