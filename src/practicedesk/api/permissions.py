"""The pages' role matrix, applied to the API: each view names its area, the HTTP method (or
the view's own action) names what is done there, and ``core.permissions.can`` decides."""

from rest_framework.permissions import BasePermission

from practicedesk.core.permissions import can

METHOD_ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


def required_action(request, view) -> str | None:
    """The matrix action a request needs: a viewset action may name its own (cancel: change)."""
    declared = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
    return declared or METHOD_ACTIONS.get(request.method)


class AreaPermission(BasePermission):
    """Allows a request when the user's roles allow its action on the view's ``area``.

    A view may let more areas read it (``read_areas``): locations are administered under
    "administration" but every scheduler needs to read them.
    """

    message = "Your role does not allow this. Ask the practice manager if you need it."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        action = required_action(request, view)
        if action is None:
            return False
        if action == "view":
            areas = (view.area, *getattr(view, "read_areas", ()))
            return any(can(user, area, "view") for area in areas)
        return can(user, view.area, action)
