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
    }


def current_entry_url(menu, path: str) -> str | None:
    """The menu entry this page belongs to: the longest entry URL that starts the path."""
    urls = [entry.url for _, entries in menu for entry in entries]
    matching = [url for url in urls if path.startswith(url)]
    return max(matching, key=len) if matching else None
