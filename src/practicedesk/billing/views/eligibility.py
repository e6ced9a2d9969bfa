"""Eligibility, file-based: the inquiries and their answers, writing a 270, importing a 271.

Asking about eligibility and recording the answers is front-desk work: both need billing
"add"; the list needs billing "view".
"""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views import View

from practicedesk.billing.filters import EligibilityCheckFilterSet
from practicedesk.billing.forms import EligibilityImportForm, EligibilityRequestForm
from practicedesk.billing.models import EligibilityCheck
from practicedesk.billing.selectors import appointments_on, eligibility_checks
from practicedesk.billing.services import eligibility_import, eligibility_request
from practicedesk.billing.tables import EligibilityCheckTable
from practicedesk.billing.views.fees import add_service_errors
from practicedesk.core.permissions import can
from practicedesk.core.views.generic import AreaPermissionMixin, ObjectListView


class EligibilityListView(ObjectListView):
    area = "billing"
    model = EligibilityCheck
    table_class = EligibilityCheckTable
    filterset_class = EligibilityCheckFilterSet
    title = "Eligibility checks"
    template_name = "billing/eligibility/eligibility_list.html"

    def get_queryset(self):
        return eligibility_checks()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_ask"] = can(self.request.user, "billing", "add")
        return context


class EligibilityImportView(AreaPermissionMixin, View):
    """Upload a 271: each answer is recorded on the inquiry it answers and noted on its
    appointment; a file that is not a sound 271 is refused whole, with the reason."""

    area = "billing"
    action = "add"
    model = EligibilityCheck
    template_name = "billing/eligibility/eligibility_import.html"

    def get(self, request, *args, **kwargs):
        return self.render(EligibilityImportForm())

    def post(self, request, *args, **kwargs):
        form = EligibilityImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(form, status=422 if request.htmx else 200)
        upload = form.cleaned_data["file"]
        try:
            result = eligibility_import(
                acting_user=request.user, data=upload.read(), filename=upload.name
            )
        except ValidationError as error:
            add_service_errors(form, ValidationError({"file": error.messages}))
            return self.render(form, status=422 if request.htmx else 200)
        messages.success(request, f"271 imported: {result.summary}")
        return self.render(EligibilityImportForm(), result=result)

    def render(self, form, *, result=None, status=200):
        context = {"title": "Import a 271 eligibility response", "form": form, "result": result}
        return TemplateResponse(self.request, self.template_name, context, status=status)


class EligibilityRequestView(AreaPermissionMixin, View):
    """Write the 270 for a day's appointments (tomorrow by default) and download it."""

    area = "billing"
    action = "add"
    model = EligibilityCheck
    template_name = "billing/eligibility/eligibility_request.html"

    def get(self, request, *args, **kwargs):
        tomorrow = timezone.localdate() + datetime.timedelta(days=1)
        return self.render(EligibilityRequestForm(initial={"day": tomorrow}))

    def post(self, request, *args, **kwargs):
        form = EligibilityRequestForm(request.POST)
        if not form.is_valid():
            return self.render(form, status=422 if request.htmx else 200)
        day = form.cleaned_data["day"]
        try:
            request_270 = eligibility_request(
                acting_user=request.user, appointments=appointments_on(day)
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.render(form, status=422 if request.htmx else 200)
        for reason in request_270.skipped:
            messages.warning(request, f"Not asked: {reason}")
        response = HttpResponse(request_270.text, content_type="application/edi-x12")
        response["Content-Disposition"] = (
            f'attachment; filename="eligibility-{day:%Y%m%d}-{len(request_270.checks)}.270"'
        )
        return response

    def render(self, form, *, status=200):
        context = {"title": "Write a 270 eligibility inquiry", "form": form}
        return TemplateResponse(self.request, self.template_name, context, status=status)
