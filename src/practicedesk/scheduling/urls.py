from django.urls import path

from practicedesk.scheduling.views import booking, calendar, flow, followup, resources

app_name = "scheduling"

urlpatterns = [
    # Providers, their working hours, rooms, appointment types, closed time.
    path("providers/", resources.ProviderListView.as_view(), name="provider_list"),
    path("providers/new/", resources.ProviderEditView.as_view(), name="provider_create"),
    path("providers/<int:pk>/", resources.ProviderDetailView.as_view(), name="provider_detail"),
    path("providers/<int:pk>/edit/", resources.ProviderEditView.as_view(), name="provider_edit"),
    path(
        "providers/<int:pk>/delete/",
        resources.ProviderDeleteView.as_view(),
        name="provider_delete",
    ),
    path(
        "working-hours/new/",
        resources.ScheduleTemplateEditView.as_view(),
        name="schedule_template_create",
    ),
    path(
        "working-hours/<int:pk>/edit/",
        resources.ScheduleTemplateEditView.as_view(),
        name="schedule_template_edit",
    ),
    path(
        "working-hours/<int:pk>/delete/",
        resources.ScheduleTemplateDeleteView.as_view(),
        name="schedule_template_delete",
    ),
    path("rooms/", resources.RoomListView.as_view(), name="room_list"),
    path("rooms/new/", resources.RoomEditView.as_view(), name="room_create"),
    path("rooms/<int:pk>/edit/", resources.RoomEditView.as_view(), name="room_edit"),
    path("rooms/<int:pk>/delete/", resources.RoomDeleteView.as_view(), name="room_delete"),
    path(
        "appointment-types/",
        resources.AppointmentTypeListView.as_view(),
        name="appointment_type_list",
    ),
    path(
        "appointment-types/new/",
        resources.AppointmentTypeEditView.as_view(),
        name="appointment_type_create",
    ),
    path(
        "appointment-types/<int:pk>/edit/",
        resources.AppointmentTypeEditView.as_view(),
        name="appointment_type_edit",
    ),
    path(
        "appointment-types/<int:pk>/delete/",
        resources.AppointmentTypeDeleteView.as_view(),
        name="appointment_type_delete",
    ),
    path("exceptions/", resources.ScheduleExceptionListView.as_view(), name="exception_list"),
    path(
        "exceptions/new/",
        resources.ScheduleExceptionEditView.as_view(),
        name="exception_create",
    ),
    path(
        "exceptions/<int:pk>/edit/",
        resources.ScheduleExceptionEditView.as_view(),
        name="exception_edit",
    ),
    path(
        "exceptions/<int:pk>/delete/",
        resources.ScheduleExceptionDeleteView.as_view(),
        name="exception_delete",
    ),
    # Calendar.
    path("calendar/", calendar.CalendarView.as_view(), name="calendar"),
    path("types.css", calendar.AppointmentTypeStylesheetView.as_view(), name="types_css"),
    # Booking and the appointment's own page.
    path("book/", booking.AppointmentBookView.as_view(), name="book"),
    path("book/next-slot/", booking.NextSlotView.as_view(), name="next_slot"),
    path("book/patients/", booking.PatientSuggestView.as_view(), name="patient_suggest"),
    path("book/coverages/", booking.CoverageOptionsView.as_view(), name="coverage_options"),
    path("appointments/", booking.AppointmentListView.as_view(), name="appointment_list"),
    path(
        "appointments/<int:pk>/",
        booking.AppointmentDetailView.as_view(),
        name="appointment_detail",
    ),
    path(
        "appointments/<int:pk>/reschedule/",
        booking.AppointmentRescheduleView.as_view(),
        name="appointment_reschedule",
    ),
    path(
        "appointments/<int:pk>/cancel/",
        booking.AppointmentCancelView.as_view(),
        name="appointment_cancel",
    ),
    path(
        "appointments/<int:pk>/no-show/",
        booking.AppointmentNoShowView.as_view(),
        name="appointment_no_show",
    ),
    # The day's patient flow.
    path(
        "appointments/<int:pk>/advance/",
        flow.AppointmentAdvanceView.as_view(),
        name="appointment_advance",
    ),
    path("today/", flow.TodayView.as_view(), name="today"),
    path("flow/", flow.FlowBoardView.as_view(), name="flow_board"),
    # Follow-up: waitlist, recalls, chart closure, records requests.
    path("waitlist/", followup.WaitlistView.as_view(), name="waitlist"),
    path("waitlist/new/", followup.WaitlistEntryCreateView.as_view(), name="waitlist_create"),
    path("waitlist/slot/<int:pk>/", followup.WaitlistSlotView.as_view(), name="waitlist_slot"),
    path("waitlist/<int:pk>/offer/", followup.WaitlistOfferView.as_view(), name="waitlist_offer"),
    path(
        "waitlist/<int:pk>/remove/",
        followup.WaitlistRemoveView.as_view(),
        name="waitlist_remove",
    ),
    path("recalls/", followup.RecallListView.as_view(), name="recall_list"),
    path("recalls/new/", followup.RecallCreateView.as_view(), name="recall_create"),
    path("recalls/<int:pk>/cancel/", followup.RecallCancelView.as_view(), name="recall_cancel"),
    path("encounters/", followup.EncounterListView.as_view(), name="encounter_list"),
    path("encounters/<int:pk>/sign/", followup.EncounterSignView.as_view(), name="encounter_sign"),
    path(
        "records-requests/",
        followup.RecordsRequestListView.as_view(),
        name="records_request_list",
    ),
    path(
        "records-requests/new/",
        followup.RecordsRequestCreateView.as_view(),
        name="records_request_create",
    ),
    path(
        "records-requests/<int:pk>/start/",
        followup.RecordsRequestStartView.as_view(),
        name="records_request_start",
    ),
    path(
        "records-requests/<int:pk>/fulfil/",
        followup.RecordsRequestFulfilView.as_view(),
        name="records_request_fulfil",
    ),
    path(
        "records-requests/<int:pk>/deny/",
        followup.RecordsRequestDenyView.as_view(),
        name="records_request_deny",
    ),
]
