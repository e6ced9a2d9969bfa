from practicedesk.core.navigation import MenuEntry

MENU = [
    MenuEntry("Scheduling", "Today", "scheduling:today", "scheduling"),
    MenuEntry("Scheduling", "Flow board", "scheduling:flow_board", "scheduling"),
    MenuEntry("Scheduling", "Calendar", "scheduling:calendar", "scheduling"),
    MenuEntry("Scheduling", "Book", "scheduling:book", "scheduling", "add"),
    MenuEntry("Scheduling", "Appointments", "scheduling:appointment_list", "scheduling"),
    MenuEntry("Scheduling", "Providers", "scheduling:provider_list", "scheduling"),
    MenuEntry("Scheduling", "Rooms", "scheduling:room_list", "scheduling"),
    MenuEntry("Scheduling", "Appointment types", "scheduling:appointment_type_list", "scheduling"),
    MenuEntry("Scheduling", "Exceptions", "scheduling:exception_list", "scheduling"),
    MenuEntry("Scheduling", "Waitlist", "scheduling:waitlist", "scheduling"),
    MenuEntry("Scheduling", "Recalls", "scheduling:recall_list", "scheduling"),
    MenuEntry("Scheduling", "Unsigned encounters", "scheduling:encounter_list", "scheduling"),
    MenuEntry("Scheduling", "Records requests", "scheduling:records_request_list", "scheduling"),
]
