from django.urls import path

from practicedesk.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="index"),
    path("kpi/", views.KpiDetailView.as_view(), name="kpi"),
    path("charts/trend.svg", views.TrendChartView.as_view(), name="trend_chart"),
    path("charts/comparison.svg", views.ComparisonChartView.as_view(), name="comparison_chart"),
    path("attention/", views.AttentionListView.as_view(), name="attention"),
    path("attention/act/", views.AttentionActView.as_view(), name="attention_act"),
    path("targets/", views.TargetsView.as_view(), name="targets"),
    path("report/", views.ReportView.as_view(), name="report"),
    path("report.csv", views.ExportCsvView.as_view(), name="export_csv"),
    path("report.pdf", views.ExportPdfView.as_view(), name="export_pdf"),
]
