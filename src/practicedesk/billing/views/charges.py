"""Charge entry: the visits to bill, a visit's diagnoses and service lines, reversal.

Posting charges needs billing "add" (the front desk may enter them at checkout); reversing a
posted charge needs billing "change". A correction is a reversal plus a new line: posted
charges are never edited.
"""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View

from practicedesk.billing.filters import VisitToBillFilterSet
from practicedesk.billing.forms import (
    ChargeReverseForm,
    ServiceLineFormSet,
    VisitDiagnosesForm,
)
from practicedesk.billing.models import Charge
from practicedesk.billing.selectors import charges_of_visit, icd10_description, visits_to_bill
from practicedesk.billing.services import charge_reverse, charges_post, visit_diagnoses_set
from practicedesk.billing.tables import VisitToBillTable
from practicedesk.billing.views.fees import add_service_errors
from practicedesk.core.models import AuditEvent
from practicedesk.core.permissions import can
from practicedesk.core.services import audit_event_record
from practicedesk.core.views.generic import AreaPermissionMixin, ObjectDetailView, ObjectListView
from practicedesk.scheduling.models import Appointment

DIAGNOSES_PREFIX = "dx"
LINES_PREFIX = "lines"


class UnbilledVisitListView(ObjectListView):
    """The biller's entry point: checked-out visits that have no charge yet."""

    area = "billing"
    model = Appointment
    table_class = VisitToBillTable
    filterset_class = VisitToBillFilterSet
    title = "Visits to bill"

    def get_queryset(self):
        return visits_to_bill().restrict(self.request.user)


def visit_for_user(user, appointment_pk: int) -> Appointment:
    """The visit, fetched through the appointments this user may see."""
    visits = Appointment.objects.restrict(user).select_related(
        "patient", "provider", "location", "coverage__payer", "appointment_type"
    )
    return get_object_or_404(visits, pk=appointment_pk)


class VisitChargesView(AreaPermissionMixin, View):
    """A checked-out visit's diagnoses (1-12 ICD-10-CM codes) and service lines, posted
    together in one transaction: either all of it is posted or nothing is."""

    area = "billing"
    action = "add"
    template_name = "billing/charges/visit_charges.html"

    def setup_visit(self):
        self.visit = visit_for_user(self.request.user, self.kwargs["appointment_pk"])
        self.day = timezone.localdate(self.visit.start)
        self.current_codes = list(self.visit.diagnoses.values_list("code", flat=True))
        audit_event_record(
            action=AuditEvent.Action.READ, request=self.request, obj=self.visit, name="charges"
        )

    def get(self, request, *args, **kwargs):
        self.setup_visit()
        initial = {
            f"diagnosis_{position}": code
            for position, code in enumerate(self.current_codes, start=1)
        }
        diagnoses = VisitDiagnosesForm(prefix=DIAGNOSES_PREFIX, initial=initial)
        lines = ServiceLineFormSet(
            prefix=LINES_PREFIX,
            form_kwargs={"diagnosis_count": len(self.current_codes) or None, "day": self.day},
        )
        return self.render(diagnoses, lines)

    def post(self, request, *args, **kwargs):
        self.setup_visit()
        diagnoses = VisitDiagnosesForm(request.POST, prefix=DIAGNOSES_PREFIX)
        submitted = [
            position
            for position in range(1, 13)
            if request.POST.get(f"{DIAGNOSES_PREFIX}-diagnosis_{position}", "").strip()
        ]
        lines = ServiceLineFormSet(
            request.POST,
            prefix=LINES_PREFIX,
            form_kwargs={"diagnosis_count": len(submitted), "day": self.day},
        )
        valid = diagnoses.is_valid() & lines.is_valid()
        if valid:
            self.check_posted_pointers(diagnoses)
            valid = diagnoses.is_valid()
        if not valid:
            return self.render(diagnoses, lines, status=422 if request.htmx else 200)
        codes = diagnoses.codes()
        try:
            with transaction.atomic():
                if codes != self.current_codes:
                    visit_diagnoses_set(
                        acting_user=request.user, appointment=self.visit, codes=codes
                    )
                charges = charges_post(
                    acting_user=request.user, appointment=self.visit, lines=lines.charge_lines()
                )
        except ValidationError as error:
            if hasattr(error, "error_dict") and "codes" in error.error_dict:
                diagnoses.add_error(None, error.error_dict["codes"])
                error = None
            return self.render(
                diagnoses,
                lines,
                status=422 if request.htmx else 200,
                post_errors=error.messages if error is not None else [],
            )
        total = sum((charge.amount for charge in charges), Decimal("0.00"))
        messages.success(
            request,
            f"Posted {len(charges)} charge{'s' if len(charges) != 1 else ''} "
            f"totalling ${total:,.2f}.",
        )
        return HttpResponseRedirect(reverse("billing:visit_charges", args=[self.visit.pk]))

    def check_posted_pointers(self, diagnoses: VisitDiagnosesForm) -> None:
        """Lines already posted point to diagnoses by position; those positions must stay."""
        codes = diagnoses.codes()
        for charge in charges_of_visit(self.visit.pk).filter(
            reverses__isnull=True, is_reversed=False
        ):
            for pointer in charge.diagnosis_pointers:
                old = self.current_codes[pointer - 1] if pointer <= len(self.current_codes) else ""
                new = codes[pointer - 1] if pointer <= len(codes) else ""
                if old != new:
                    diagnoses.add_error(
                        f"diagnosis_{pointer}" if pointer <= 12 else None,
                        f"Posted line {charge.service_code.code} points to diagnosis {pointer} "
                        f"({old}); reverse that line before changing it.",
                    )
                    return

    def render(self, diagnoses, lines, status=200, post_errors=()):
        visit = self.visit
        charges = list(charges_of_visit(visit.pk))
        open_total = sum(
            (c.amount for c in charges if not c.reverses_id and not c.is_reversed),
            Decimal("0.00"),
        )
        context = {
            "title": f"Charges of the visit on {timezone.localtime(visit.start):%Y-%m-%d %H:%M}",
            "visit": visit,
            "patient": visit.patient,
            "day": self.day,
            "diagnoses_form": diagnoses,
            "diagnosis_rows": diagnoses.rows(),
            "current_diagnoses": [
                (position, code, icd10_description(code))
                for position, code in enumerate(self.current_codes, start=1)
            ],
            "lines": lines,
            "post_errors": list(post_errors),
            "charges": charges,
            "open_total": open_total,
            "can_post": visit.status == Appointment.Status.CHECKED_OUT,
            "can_reverse": can(self.request.user, "billing", "change"),
        }
        return TemplateResponse(self.request, self.template_name, context, status=status)


class ChargeDetailView(ObjectDetailView):
    area = "billing"
    queryset = Charge.objects.select_related(
        "appointment", "patient", "rendering_provider", "service_code", "reverses", "posted_by"
    )
    template_name = "billing/charges/charge_detail.html"
    fields = (
        "patient",
        "date_of_service",
        "service_code",
        "modifier1",
        "modifier2",
        "modifier3",
        "modifier4",
        "units",
        "place_of_service",
        "unit_price",
        "amount",
        "diagnosis_pointers",
        "rendering_provider",
        "reverses",
        "posted_at",
        "posted_by",
    )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        charge = self.object
        context["reversal"] = Charge.objects.filter(reverses=charge).first()
        context["can_reverse"] = (
            can(self.request.user, "billing", "change")
            and charge.reverses_id is None
            and context["reversal"] is None
        )
        context["ledger_entries"] = charge.ledger_entries.order_by("posted_at", "pk")
        return context


class ChargeReverseView(AreaPermissionMixin, View):
    """Reverse a posted charge in full, with the reason; the correction is then posted anew."""

    area = "billing"
    action = "change"
    model = Charge
    template_name = "billing/charges/charge_reverse.html"

    def get_charge(self) -> Charge:
        return get_object_or_404(
            Charge.objects.select_related("service_code", "appointment", "patient"),
            pk=self.kwargs["pk"],
        )

    def get(self, request, *args, **kwargs):
        return self.render(self.get_charge(), ChargeReverseForm())

    def post(self, request, *args, **kwargs):
        charge = self.get_charge()
        form = ChargeReverseForm(request.POST)
        if form.is_valid():
            try:
                charge_reverse(
                    acting_user=request.user, charge=charge, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request,
                    f"{charge.service_code.code} reversed. Post the corrected line below if "
                    "one is needed.",
                )
                return HttpResponseRedirect(
                    reverse("billing:visit_charges", args=[charge.appointment_id])
                )
        return self.render(charge, form, status=422 if request.htmx else 200)

    def render(self, charge, form, status=200):
        context = {
            "title": f"Reverse {charge}",
            "charge": charge,
            "form": form,
            "already_reversed": charge.reverses_id is not None
            or Charge.objects.filter(reverses=charge).exists(),
        }
        return TemplateResponse(self.request, self.template_name, context, status=status)
