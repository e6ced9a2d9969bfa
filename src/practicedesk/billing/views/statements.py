"""Statements: the runs (a manager starts one; the cycle job may too), a run's progress and
its statements, the printable batch, and reprints of any statement (audited).

Starting a run sends mail to patients, so it needs billing "approve" (the practice
manager); the runs, a run's page and its print batch cover every guarantor, so they need
"export" like every queue over all accounts; anyone with billing "view" reprints one
statement (from the patient's account).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django_tasks_db.models import DBTaskResult

from practicedesk.billing import conf
from practicedesk.billing.filters import StatementRunFilterSet
from practicedesk.billing.forms import StatementRunStartForm
from practicedesk.billing.models import Statement, StatementRun
from practicedesk.billing.statements import (
    SKIP_LABELS,
    cycle_date_of,
    last_cycle_without_run,
    statement_file_verified,
    statement_minimum,
    statement_run_start,
    statement_runs,
    statements_of_run,
)
from practicedesk.billing.tables import StatementRunTable
from practicedesk.billing.views.fees import add_service_errors
from practicedesk.billing.views.remittances import is_htmx_fragment
from practicedesk.core.models import AuditEvent
from practicedesk.core.permissions import can
from practicedesk.core.selectors import job_progress, worker_state
from practicedesk.core.services import audit_event_record
from practicedesk.core.views.generic import AreaPermissionMixin, ObjectListView
from practicedesk.patients.selectors import patients_for_user


def pdf_response(content: bytes, filename: str, *, inline: bool = True) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


def stored_pdf_response(request, stored, sha256: str, filename: str):
    """The stored PDF after its checksum is checked, or back with the reason."""
    try:
        content = statement_file_verified(stored, sha256)
    except (ValidationError, OSError) as error:
        text = (
            " ".join(error.messages)
            if isinstance(error, ValidationError)
            else ("The stored file cannot be read; tell the practice manager.")
        )
        messages.error(request, text)
        return None
    return pdf_response(content, filename)


class StatementRunListView(ObjectListView):
    area = "billing"
    action = "export"
    queryset = statement_runs()
    table_class = StatementRunTable
    filterset_class = StatementRunFilterSet
    title = "Statements"
    template_name = "billing/statements/run_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        today = timezone.localdate()
        context.update(
            can_start=can(self.request.user, "billing", "approve"),
            cycle_date=cycle_date_of(today),
            overdue_cycle=last_cycle_without_run(today),
            minimum=statement_minimum(),
            due_days=conf.setting("STATEMENT_DUE_DAYS"),
            auto_run=conf.setting("STATEMENT_AUTO_RUN"),
        )
        return context


class StatementRunStartView(AreaPermissionMixin, View):
    area = "billing"
    action = "approve"
    template_name = "billing/statements/run_start.html"

    def get(self, request):
        return self.render(StatementRunStartForm())

    def post(self, request):
        form = StatementRunStartForm(request.POST)
        if form.is_valid():
            try:
                run = statement_run_start(
                    acting_user=request.user,
                    statement_date=form.cleaned_data["statement_date"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "The statement run has started; progress is below.")
                return HttpResponseRedirect(run.get_absolute_url())
        return self.render(form)

    def render(self, form):
        context = {
            "form": form,
            "title": "Start a statement run",
            "crumb_url": reverse("billing:statement_run_list"),
            "crumb_label": "Statements",
            "minimum": statement_minimum(),
            "due_days": conf.setting("STATEMENT_DUE_DAYS"),
        }
        return TemplateResponse(self.request, self.template_name, context)


class StatementRunDetailView(AreaPermissionMixin, View):
    """A run's progress (refreshing itself while it runs), then its statements."""

    area = "billing"
    action = "export"
    model = StatementRun
    template_name = "billing/statements/run_detail.html"

    def get(self, request, pk):
        run = get_object_or_404(statement_runs(), pk=pk)
        job = (
            DBTaskResult.objects.filter(pk=run.task_result_id).first()
            if run.task_result_id
            else None
        )
        finished = run.status in (StatementRun.Status.DONE, StatementRun.Status.FAILED)
        statements = (
            list(statements_of_run(run).filter(guarantor__in=patients_for_user(request.user)))
            if finished
            else []
        )
        if statements:
            audit_event_record(
                action=AuditEvent.Action.READ,
                request=request,
                obj=run,
                name="billing.statement_list",
                detail={"ids": [statement.pk for statement in statements]},
            )
        context = {
            "title": str(run),
            "run": run,
            "job": job,
            "progress": job_progress(job) if job else None,
            "finished": finished,
            "worker": worker_state(),
            "statements": statements,
            "skipped": [
                (SKIP_LABELS.get(reason, reason), count) for reason, count in run.skipped.items()
            ],
            "crumb_url": reverse("billing:statement_run_list"),
            "crumb_label": "Statements",
        }
        template = (
            "billing/statements/partials/run_status.html"
            if is_htmx_fragment(request)
            else self.template_name
        )
        return TemplateResponse(request, template, context)


class StatementRunBatchView(AreaPermissionMixin, View):
    """The run's statements to print and mail, in one PDF."""

    area = "billing"
    action = "export"
    model = StatementRun

    def get(self, request, pk):
        run = get_object_or_404(statement_runs(), pk=pk)
        if not run.batch_file:
            messages.error(request, "This run has no statement to print: all went by email.")
            return HttpResponseRedirect(run.get_absolute_url())
        audit_event_record(
            action=AuditEvent.Action.READ,
            request=request,
            obj=run,
            name="statement_batch_print",
            detail={"sha256": run.batch_sha256, "statements": run.printed_count},
        )
        response = stored_pdf_response(
            request,
            run.batch_file,
            run.batch_sha256,
            f"statements-to-mail-{run.statement_date:%Y-%m-%d}.pdf",
        )
        return response or HttpResponseRedirect(run.get_absolute_url())


class StatementDownloadView(AreaPermissionMixin, View):
    """Reprint a statement: the very file that was sent (checksum checked), audited."""

    area = "billing"
    model = Statement

    def get(self, request, pk):
        statement = get_object_or_404(
            Statement.objects.select_related("run", "guarantor").filter(
                guarantor__in=patients_for_user(request.user)
            ),
            pk=pk,
        )
        audit_event_record(
            action=AuditEvent.Action.READ,
            request=request,
            obj=statement,
            name="statement_reprint",
            detail={"sha256": statement.sha256, "guarantor": statement.guarantor_id},
        )
        response = stored_pdf_response(
            request, statement.file, statement.sha256, f"statement-{statement.statement_number}.pdf"
        )
        return response or HttpResponseRedirect(statement.run.get_absolute_url())
