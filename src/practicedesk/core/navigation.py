"""The navigation: each area's menu entries, shown only to roles that may view the area.

Areas that are not built yet have no entry, so the menu never shows a dead link. An app adds
its entries by listing them in its own ``navigation.py`` as ``MENU``; they are collected here.
"""

from dataclasses import dataclass
from importlib import import_module

from django.apps import apps
from django.urls import NoReverseMatch, reverse

from practicedesk.core.permissions import can


@dataclass(frozen=True)
class MenuEntry:
    section: str
    label: str
    url_name: str
    area: str
    action: str = "view"

    @property
    def url(self) -> str:
        return reverse(self.url_name)


def all_entries() -> list[MenuEntry]:
    entries: list[MenuEntry] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("practicedesk."):
            continue
        try:
            module = import_module(f"{config.name}.navigation")
        except ModuleNotFoundError:
            continue
        entries.extend(getattr(module, "MENU", []))
    return entries


def menu_for(user) -> list[tuple[str, list[MenuEntry]]]:
    """The sections and entries this user may open, in declaration order."""
    sections: dict[str, list[MenuEntry]] = {}
    for entry in all_entries():
        if not can(user, entry.area, entry.action):
            continue
        try:
            entry.url  # noqa: B018 - an entry whose URL does not resolve is not shown
        except NoReverseMatch:
            continue
        sections.setdefault(entry.section, []).append(entry)
    return list(sections.items())


MENU = [
    MenuEntry("Practice", "Documents", "core:document_list", "documents"),
    MenuEntry("Practice", "Locations", "core:location_list", "administration"),
    MenuEntry("Administration", "Organization", "core:organization", "administration"),
    MenuEntry("Administration", "Users", "core:user_list", "administration"),
    MenuEntry("Administration", "Roles", "core:roles", "administration"),
    MenuEntry("Administration", "Jobs", "core:job_list", "jobs"),
    MenuEntry("Administration", "Audit log", "core:audit_changes", "audit"),
]
