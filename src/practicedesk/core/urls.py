from django.urls import path

from practicedesk.core.views import audit, documents, jobs, pages, roles

app_name = "core"

urlpatterns = [
    path("organization/", pages.OrganizationView.as_view(), name="organization"),
    path("organization/edit/", pages.OrganizationEditView.as_view(), name="organization_edit"),
    path("locations/", pages.LocationListView.as_view(), name="location_list"),
    path("locations/new/", pages.LocationEditView.as_view(), name="location_create"),
    path("locations/<int:pk>/", pages.LocationDetailView.as_view(), name="location_detail"),
    path("locations/<int:pk>/edit/", pages.LocationEditView.as_view(), name="location_edit"),
    path("locations/<int:pk>/delete/", pages.LocationDeleteView.as_view(), name="location_delete"),
    path("users/", pages.UserListView.as_view(), name="user_list"),
    path("users/new/", pages.UserEditView.as_view(), name="user_create"),
    path("users/<int:pk>/", pages.UserDetailView.as_view(), name="user_detail"),
    path("users/<int:pk>/edit/", pages.UserEditView.as_view(), name="user_edit"),
    path("roles/", roles.RolesView.as_view(), name="roles"),
    path("documents/", documents.DocumentListView.as_view(), name="document_list"),
    path("documents/upload/", documents.DocumentUploadView.as_view(), name="document_create"),
    path("documents/<int:pk>/", documents.DocumentDetailView.as_view(), name="document_detail"),
    path(
        "documents/<int:pk>/download/",
        documents.DocumentDownloadView.as_view(),
        name="document_download",
    ),
    path(
        "documents/<int:pk>/delete/",
        documents.DocumentDeleteView.as_view(),
        name="document_delete",
    ),
    path("jobs/", jobs.JobListView.as_view(), name="job_list"),
    path(
        "jobs/verify-checksums/",
        jobs.JobStartChecksumsView.as_view(),
        name="job_start_checksums",
    ),
    path("jobs/<uuid:pk>/", jobs.JobDetailView.as_view(), name="job_detail"),
    path("jobs/<uuid:pk>/retry/", jobs.JobRetryView.as_view(), name="job_retry"),
    path("audit/", audit.AuditChangeListView.as_view(), name="audit_changes"),
    path("audit/events/", audit.AuditEventListView.as_view(), name="audit_events"),
]
