"""The Jobs pages: recent background jobs with live progress, one job's detail, retry, start."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django.views.generic import TemplateView
from django_tasks_db.models import DBTaskResult

from practicedesk.core.filters import JobFilterSet
from practicedesk.core.selectors import (
    job_progress_for,
    job_summary,
    jobs_pending_exist,
    jobs_recent,
    worker_state,
)
from practicedesk.core.services import job_retry, job_start
from practicedesk.core.tables import JobTable
from practicedesk.core.tasks import documents_verify_checksums
from practicedesk.core.views.generic import AreaPermissionMixin, ObjectListView


def is_htmx_fragment(request) -> bool:
    return bool(getattr(request, "htmx", False)) and not request.htmx.boosted


class JobListView(ObjectListView):
    area = "jobs"
    model = DBTaskResult
    title = "Jobs"
    template_name = "core/jobs/job_list.html"
    partial_template_name = "core/jobs/partials/job_list_results.html"
    table_class = JobTable
    filterset_class = JobFilterSet

    def get_queryset(self):
        return jobs_recent()

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        table.progress_by_id = job_progress_for(row.record for row in table.paginated_rows)
        return table

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["worker"] = worker_state()
        context["polling"] = jobs_pending_exist()
        return context


class JobDetailView(AreaPermissionMixin, TemplateView):
    area = "jobs"
    model = DBTaskResult
    template_name = "core/jobs/job_detail.html"
    partial_template_name = "core/jobs/partials/job_detail_body.html"

    def get_template_names(self):
        if is_htmx_fragment(self.request):
            return [self.partial_template_name]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = get_object_or_404(jobs_recent().defer(None), pk=self.kwargs["pk"])
        summary = job_summary(job)
        context.update(job=job, summary=summary, title=summary["label"])
        return context


class JobRetryView(AreaPermissionMixin, View):
    area = "jobs"
    action = "add"

    def post(self, request, pk):
        try:
            retried = job_retry(acting_user=request.user, result_id=pk)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("core:job_detail", pk=pk)
        messages.success(request, "The job is queued again with the same arguments.")
        return redirect("core:job_detail", pk=retried.pk)


class JobStartChecksumsView(AreaPermissionMixin, View):
    area = "jobs"
    action = "add"

    def post(self, request):
        try:
            job_start(acting_user=request.user, task=documents_verify_checksums, one_at_a_time=True)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("core:job_list")
        if worker_state()["status"] == "ok":
            messages.success(request, "Checking every document's checksum; progress is below.")
        else:
            messages.warning(
                request,
                "The checksum check is queued, but no worker is running: it starts when one "
                "does (`make run` starts it).",
            )
        return redirect("core:job_list")
