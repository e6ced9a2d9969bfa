from practicedesk.core.navigation import MenuEntry

MENU = [
    MenuEntry("Dashboard", "Dashboard", "dashboard:index", "dashboard"),
    MenuEntry("Dashboard", "Needs attention", "dashboard:attention", "dashboard"),
    MenuEntry("Dashboard", "KPI targets", "dashboard:targets", "dashboard"),
]
