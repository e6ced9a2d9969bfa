"""The manager's dashboard: KPI tiles for a period and location, their drill-down, trend and
comparison charts (SVG images), the attention list, KPI targets, and the monthly report as a
printable page, a PDF and a CSV."""

import csv
import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views import View
from django.views.generic import TemplateView

from practicedesk.core.models import AuditEvent, Location, Organization, User
from practicedesk.core.permissions import can
from practicedesk.core.services import audit_event_record
from practicedesk.core.views.generic import AreaPermissionMixin
from practicedesk.dashboard import charts, report, services
from practicedesk.dashboard.forms import (
    AssignForm,
    DismissForm,
    PeriodForm,
    SnoozeForm,
    TargetForm,
)
from practicedesk.dashboard.periods import LABELS
from practicedesk.dashboard.selectors import (
    as_decimal,
    attention_for,
    comparison_rows,
    comparisons_for,
    default_target,
    kpi_for_user,
    kpi_tiles,
    kpis_for,
    targets_for,
    trend,
)

AREA = "dashboard"
SECTIONS = {
    "scheduling": "Patient flow",
    "patients": "Patient flow",
    "billing": "Claims and receivables",
}
ATTENTION_ON_DASHBOARD = 8


def period_query(period, location) -> dict:
    query = {"period": period.kind}
    if period.kind == "custom":
        query.update(start=period.start.isoformat(), end=period.end.isoformat())
    if location is not None:
        query["location"] = location.pk
    return query


def with_query(url_name: str, **query) -> str:
    query = {key: value for key, value in query.items() if value not in (None, "")}
    return reverse(url_name) + ("?" + urlencode(query) if query else "")


class PeriodMixin:
    """Reads the period and location from the query string."""

    def get_period(self):
        self.form = PeriodForm(self.request.GET or None)
        self.period, self.location = self.form.chosen()
        self.location_id = self.location.pk if self.location else None
        self.query = period_query(self.period, self.location)
        return self.period, self.location

    def tile_links(self, tile) -> dict:
        key = tile.kpi.key
        return {
            "detail_url": with_query("dashboard:kpi", kpi=key, **self.query),
            "trend_url": with_query(
                "dashboard:trend_chart",
                kpi=key,
                location=self.location_id,
                end=self.period.end.isoformat(),
            ),
        }


class DashboardView(AreaPermissionMixin, PeriodMixin, TemplateView):
    area = AREA
    template_name = "dashboard/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        today = timezone.localdate()
        period, location = self.get_period()
        tiles = kpi_tiles(kpis_for(user), period, self.location_id, today)
        sections: dict[str, list] = {}
        for tile in tiles:
            sections.setdefault(SECTIONS.get(tile.kpi.area, "Other"), []).append(
                {"tile": tile, **self.tile_links(tile)}
            )
        comparisons = [
            {
                "kpi": kpi,
                "chart_url": with_query("dashboard:comparison_chart", kpi=kpi.key, **self.query),
                "detail_url": with_query("dashboard:kpi", kpi=kpi.key, **self.query),
            }
            for kpi in comparisons_for(user)
        ]
        attention = attention_for(user)
        context.update(
            title="Dashboard",
            form=self.form,
            period=period,
            previous=period.previous(),
            location=location,
            sections=list(sections.items()),
            comparisons=comparisons,
            attention=attention[:ATTENTION_ON_DASHBOARD],
            attention_total=len(attention),
            can_export=can(user, AREA, "export"),
            can_set_targets=can(user, AREA, "change"),
            report_url=with_query("dashboard:report", **self.query),
            csv_url=with_query("dashboard:export_csv", **self.query),
            pdf_url=with_query("dashboard:export_pdf", **self.query),
            today=today,
        )
        return context


class KpiDetailView(AreaPermissionMixin, PeriodMixin, TemplateView):
    """One figure: its definition and formula, value, target and source, its 12-month trend,
    and the records behind the number."""

    area = AREA
    template_name = "dashboard/kpi_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        kpi = visible_kpi(user, self.request.GET.get("kpi", ""))
        today = timezone.localdate()
        period, location = self.get_period()
        context.update(kpi=kpi, period=period, location=location, form=self.form, title=kpi.name)
        if kpi.shape == "number":
            tile = kpi_tiles([kpi], period, self.location_id, today)[0]
            context.update(tile=tile, **self.tile_links(tile))
            context["trend_url"] = context["trend_url"] + "&size=large"
        else:
            rows = comparison_rows(kpi, period, self.location_id, today)
            context["rows"] = rows
            context["columns"] = list(rows[0]) if rows else []
            context["chart_url"] = with_query(
                "dashboard:comparison_chart", kpi=kpi.key, **self.query
            )
        if kpi.records is not None:
            location_id = self.location_id if kpi.per_location else None
            context["records"] = kpi.records(period.start, period.end, location_id)
        if kpi.drilldown_url_name:
            try:
                context["app_url"] = reverse(kpi.drilldown_url_name)
            except NoReverseMatch:
                context["app_url"] = None
        context["back_url"] = with_query("dashboard:index", **self.query)
        return context


def visible_kpi(user, key: str):
    if not key:
        raise Http404("Name a KPI.")
    kpi = kpi_for_user(user, key)
    if kpi is None:
        from practicedesk.dashboard.registry import kpi_by_key

        if kpi_by_key(key) is None:
            raise Http404("There is no such KPI.")
        raise PermissionDenied("Your role does not open the data this figure is built from.")
    return kpi


def svg_response(content: str) -> HttpResponse:
    response = HttpResponse(content, content_type="image/svg+xml; charset=utf-8")
    response["Content-Disposition"] = "inline"
    return response


class TrendChartView(AreaPermissionMixin, View):
    """A figure's last 12 months as an SVG image."""

    area = AREA

    def get(self, request):
        kpi = visible_kpi(request.user, request.GET.get("kpi", ""))
        if kpi.shape != "number":
            raise Http404("This figure has no trend.")
        today = timezone.localdate()
        try:
            end = datetime.date.fromisoformat(request.GET.get("end") or today.isoformat())
            location_id = int(request.GET["location"]) if request.GET.get("location") else None
        except ValueError as error:
            raise Http404("Not a date or location.") from error
        location_id = location_id if kpi.per_location else None
        target = targets_for([kpi], location_id)[kpi.key]
        large = request.GET.get("size") == "large"
        content = charts.trend_chart(
            f"{kpi.name}, last 12 months",
            trend(kpi, location_id, min(end, today), today),
            kpi.unit,
            target=target.target if kpi.good_direction != "none" else None,
            warning=target.warning if kpi.good_direction != "none" else None,
            width=640 if large else 320,
            height=220 if large else 130,
        )
        return svg_response(content)


class ComparisonChartView(AreaPermissionMixin, PeriodMixin, View):
    """Providers, payers or age buckets side by side, as an SVG image."""

    area = AREA

    def get(self, request):
        kpi = visible_kpi(request.user, request.GET.get("kpi", ""))
        if kpi.shape != "rows" or not kpi.row_label:
            raise Http404("This figure is not a comparison.")
        period, _ = self.get_period()
        rows = comparison_rows(kpi, period, self.location_id, timezone.localdate())
        points = [(label_of(row[kpi.row_label]), as_decimal(row[kpi.row_value])) for row in rows]
        return svg_response(charts.bar_chart(f"{kpi.name}, {period.label}", points, kpi.unit))


def label_of(value) -> str:
    if isinstance(value, datetime.date):
        return f"{value:%b %Y}"
    return str(value)


# The attention list


class AttentionListView(AreaPermissionMixin, TemplateView):
    area = AREA
    template_name = "dashboard/attention.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        show_all = self.request.GET.get("show") == "all"
        rows = attention_for(user, include_hidden=show_all)
        can_assign = can(user, AREA, "change")
        context.update(
            title="Needs attention",
            rows=[
                {
                    "row": row,
                    "can_act": can(user, row.item.area, "change"),
                    "can_assign": can_assign,
                }
                for row in rows
            ],
            show_all=show_all,
            staff=(
                list(User.objects.filter(is_active=True).order_by("last_name", "first_name"))
                if can_assign
                else []
            ),
            today=timezone.localdate(),
        )
        return context


ACTIONS = {
    "assign": AssignForm,
    "snooze": SnoozeForm,
    "dismiss": DismissForm,
    "restore": None,
}


class AttentionActView(AreaPermissionMixin, View):
    """Assign, snooze, dismiss or restore one item (each audited), then back to the list."""

    area = AREA

    def post(self, request):
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            raise Http404("Unknown action.")
        key = request.POST.get("key", "")
        user = request.user
        try:
            if action == "assign":
                form = AssignForm(request.POST)
                if not form.is_valid():
                    raise ValidationError("Choose a staff member from the list.")
                services.attention_assign(
                    acting_user=user, item_key=key, assignee=form.cleaned_data["assignee"]
                )
                done = "Assigned."
            elif action == "snooze":
                form = SnoozeForm(request.POST)
                if not form.is_valid():
                    raise ValidationError("Enter the day as YYYY-MM-DD.")
                services.attention_snooze(
                    acting_user=user,
                    item_key=key,
                    until=form.cleaned_data["until"],
                    reason=form.cleaned_data["reason"],
                )
                done = f"Snoozed until {form.cleaned_data['until']}."
            elif action == "dismiss":
                form = DismissForm(request.POST)
                form.is_valid()
                services.attention_dismiss(
                    acting_user=user, item_key=key, reason=form.cleaned_data.get("reason", "")
                )
                done = "Dismissed."
            else:
                services.attention_restore(acting_user=user, item_key=key)
                done = "Back on the list."
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, done)
        url = reverse("dashboard:attention")
        if request.POST.get("show") == "all":
            url += "?show=all"
        return HttpResponseRedirect(url)


# Targets


class TargetsView(AreaPermissionMixin, TemplateView):
    """Every figure's target and warning threshold, with where the default comes from; the
    manager changes them here (read-only for everyone else)."""

    area = AREA
    template_name = "dashboard/targets.html"

    def rows(self, location, failed_key=None):
        user = self.request.user
        kpis = [kpi for kpi in kpis_for(user) if kpi.good_direction in ("up", "down")]
        location_id = location.pk if location else None
        targets = targets_for(kpis, location_id)
        return [
            {
                "kpi": kpi,
                "default": default_target(kpi),
                "current": targets[kpi.key],
                "applies": location is None or kpi.per_location,
                "failed": kpi.key == failed_key,
            }
            for kpi in kpis
        ]

    def location_of(self, value):
        if not value:
            return None
        try:
            return Location.objects.get(pk=int(value), is_active=True)
        except (ValueError, Location.DoesNotExist) as error:
            raise Http404("No such location.") from error

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        location = kwargs.get("location", self.location_of(self.request.GET.get("location")))
        context.update(
            title="KPI targets",
            location=location,
            locations=Location.objects.filter(is_active=True).order_by("name"),
            rows=self.rows(location, kwargs.get("failed_key")),
            can_change=can(self.request.user, AREA, "change"),
            errors=kwargs.get("errors") or {},
            submitted=kwargs.get("submitted") or {},
        )
        return context

    def post(self, request):
        if not can(request.user, AREA, "change"):
            raise PermissionDenied("Only the practice manager sets targets.")
        form = TargetForm(request.POST)
        location = self.location_of(request.POST.get("location"))
        key = request.POST.get("kpi_key", "")
        try:
            if request.POST.get("reset"):
                services.target_reset(acting_user=request.user, kpi_key=key, location=location)
                messages.success(request, "Back to the default target.")
            else:
                form.is_valid()
                services.target_set(
                    acting_user=request.user,
                    kpi_key=key,
                    location=location,
                    target=request.POST.get("target", ""),
                    warning=request.POST.get("warning", ""),
                    note=request.POST.get("note", ""),
                )
                messages.success(request, "Target saved.")
        except ValidationError as error:
            errors = dict(error.message_dict) if hasattr(error, "error_dict") else {}
            general = errors.pop(NON_FIELD_ERRORS, []) + (
                [] if hasattr(error, "error_dict") else error.messages
            )
            errors["general"] = general
            context = self.get_context_data(
                location=location, errors=errors, failed_key=key, submitted=request.POST
            )
            return self.render_to_response(context)
        return HttpResponseRedirect(
            with_query("dashboard:targets", location=location.pk if location else None)
        )


# The monthly report: a printable page, a PDF, a CSV


class ReportMixin(PeriodMixin):
    def report_context(self):
        user = self.request.user
        today = timezone.localdate()
        period, location = self.get_period()
        tiles = kpi_tiles(kpis_for(user), period, self.location_id, today)
        return {
            "organization": Organization.objects.first(),
            "period": period,
            "period_kind": LABELS.get(period.kind, ""),
            "previous": period.previous(),
            "location": location,
            "tiles": tiles,
            "generated_at": timezone.localtime(),
            "user": user,
        }

    def audit_export(self, name: str) -> None:
        audit_event_record(
            action=AuditEvent.Action.EXPORT,
            request=self.request,
            name=name,
            detail={"query": self.query},
        )

    def filename(self, extension: str) -> str:
        where = f"-{slugify(self.location.name)}" if self.location else ""
        return (
            f"kpi-report-{self.period.start:%Y-%m-%d}-{self.period.end:%Y-%m-%d}{where}.{extension}"
        )


class ReportView(AreaPermissionMixin, ReportMixin, TemplateView):
    """The one-page monthly report, laid out for printing."""

    area = AREA
    template_name = "dashboard/report.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self.report_context())
        context["title"] = f"KPI report, {context['period'].label}"
        context["rows"] = [{"tile": tile, **self.tile_links(tile)} for tile in context["tiles"]]
        context["back_url"] = with_query("dashboard:index", **self.query)
        return context


class ExportCsvView(AreaPermissionMixin, ReportMixin, View):
    area = AREA
    action = "export"

    def get(self, request):
        data = self.report_context()
        self.audit_export("dashboard.kpi_export_csv")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.filename("csv")}"'
        writer = csv.writer(response)
        writer.writerow(report.CSV_HEADER)
        for tile in data["tiles"]:
            writer.writerow(report.csv_row(tile, data["period"], data["location"]))
        return response


class ExportPdfView(AreaPermissionMixin, ReportMixin, View):
    area = AREA
    action = "export"

    def get(self, request):
        data = self.report_context()
        data["attention"] = attention_for(request.user)
        self.audit_export("dashboard.kpi_export_pdf")
        response = HttpResponse(report.pdf(data), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{self.filename("pdf")}"'
        return response
