from django.apps import apps
from django.conf import settings

from practicedesk.core.navigation import menu_for


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    menu = menu_for(user)
    return {
        "menu": menu,
        "current_menu_url": current_entry_url(menu, request.path),
        "idle_logoff_seconds": settings.IDLE_LOGOFF_SECONDS,
        "attention_count": attention_count(user),
    }


def attention_count(user) -> int | None:
    """The count on the "Needs attention" menu entry, from the app that keeps the list (the
    dashboard, read through its AppConfig: core imports none of the apps above it)."""
    for config in apps.get_app_configs():
        counter = getattr(config, "attention_count", None)
        if counter is not None:
            return counter(user)
    return None


def current_entry_url(menu, path: str) -> str | None:
    """The menu entry this page belongs to: the longest entry URL that starts the path."""
    urls = [entry.url for _, entries in menu for entry in entries]
    matching = [url for url in urls if path.startswith(url)]
    return max(matching, key=len) if matching else None
