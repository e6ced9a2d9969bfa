"""Error pages in the application's layout: a plain message, never a traceback."""

from django.shortcuts import render


def _render(request, status, title, message):
    return render(request, "core/error.html", {"title": title, "message": message}, status=status)


def bad_request(request, exception=None):
    return _render(
        request,
        400,
        "Bad request",
        "The request could not be understood. Go back, check what was entered, and try again.",
    )


def permission_denied(request, exception=None):
    message = (
        str(exception)
        if exception and str(exception)
        else ("Your role does not allow this. Ask the practice manager if you need it.")
    )
    return _render(request, 403, "Not allowed", message)


def page_not_found(request, exception=None):
    return _render(
        request,
        404,
        "Not found",
        "There is no page or record at this address. "
        "It may have been removed, or the link may be mistyped.",
    )


def server_error(request):
    return render(request, "core/error_500.html", status=500)
