from django.conf import settings

from practicedesk.core.navigation import menu_for


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "menu": menu_for(user),
        "idle_logoff_seconds": settings.IDLE_LOGOFF_SECONDS,
    }
