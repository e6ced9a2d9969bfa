"""Security middleware: extra headers, automatic logoff, and the two-factor requirement."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse

from practicedesk.core.models import AuditEvent
from practicedesk.core.services import audit_event_record, user_requires_two_factor

LAST_ACTIVITY_KEY = "practicedesk:last_activity"
# "/r/": the public reminder-link pages, opened from an email without signing in.
EXEMPT_PREFIXES = ("/static/", "/healthz", "/accounts/login/", "/accounts/logout/", "/r/")


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set, and no caching of pages with PHI."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            response["Cache-Control"] = "no-store, private"
        return response


class IdleLogoffMiddleware:
    """Signs a user out after IDLE_LOGOFF_SECONDS without a request (HIPAA 164.312(a)(2)(iii))."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated and not request.path.startswith(EXEMPT_PREFIXES):
            now = time.time()
            last = request.session.get(LAST_ACTIVITY_KEY)
            if last is not None and now - last > settings.IDLE_LOGOFF_SECONDS:
                user = request.user
                logout(request)
                audit_event_record(action=AuditEvent.Action.IDLE_LOGOFF, user=user, request=request)
                minutes = settings.IDLE_LOGOFF_SECONDS // 60
                messages.info(
                    request, f"You were signed out after {minutes} idle minutes. Sign in again."
                )
                return redirect(f"{reverse('login')}?next={request.path}")
            # A page that refreshes itself (hx-headers X-Poll) is not a person at the keyboard.
            if not request.headers.get("X-Poll"):
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)


class TwoFactorRequiredMiddleware:
    """Where a user's role requires it, nothing opens until the second factor is verified."""

    allowed_url_names = ("two_factor_setup", "two_factor_verify", "logout", "login")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
            and not user.is_verified()
            and not self._is_allowed(request.path)
            and user_requires_two_factor(user)
        ):
            if user.totpdevice_set.filter(confirmed=True).exists():
                return redirect(f"{reverse('two_factor_verify')}?next={request.path}")
            return redirect(reverse("two_factor_setup"))
        return self.get_response(request)

    def _is_allowed(self, path: str) -> bool:
        return any(path == reverse(name) for name in self.allowed_url_names)
