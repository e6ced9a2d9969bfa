"""``/healthz`` for monitoring: is the database answering, is a worker alive?

Open without sign-in (a monitor has no account), so it says no more than a monitor needs:
states and ages, never a connection string or an error text that could name a host.
"""

import logging

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from practicedesk.core.selectors import database_state, worker_state

logger = logging.getLogger("practicedesk.health")


@never_cache
@require_safe
def healthz(request):
    database = database_state()
    if database["status"] != "ok":
        logger.error("Health check: the database does not answer: %s", database.get("error"))
        body = {
            "status": "error",
            "database": {"status": database["status"], "vendor": database.get("vendor", "")},
            "worker": {"status": "unknown"},
            "time": timezone.now().isoformat(),
        }
        return JsonResponse(body, status=503)
    worker = worker_state()
    body = {
        "status": "ok" if worker["status"] == "ok" else "degraded",
        "database": database,
        "worker": worker,
        "time": timezone.now().isoformat(),
    }
    return JsonResponse(body)
