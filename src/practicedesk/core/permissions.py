"""Area permissions: the one way views, menus and APIs ask "may this user do that here?"."""

from practicedesk.core.roles import ACTIONS, AREAS, codename


def can(user, area: str, action: str = "view") -> bool:
    if area not in AREAS or action not in ACTIONS:
        raise ValueError(f"Unknown permission {area}.{action}; declare it in core.roles.")
    return bool(user and user.is_authenticated and user.has_perm(f"core.{codename(area, action)}"))
