"""The KPI registry: every installed app's ``kpis.py`` (``KPIS = [core.kpi.Kpi(...), ...]``)
collected into one list, each declaration checked once."""

from functools import cache
from importlib import import_module

from django.apps import apps

from practicedesk.core.kpi import GOOD_DIRECTIONS, SHAPES, Kpi
from practicedesk.core.roles import AREAS


def check(kpi: Kpi) -> None:
    if not isinstance(kpi, Kpi):
        raise TypeError(f"{kpi!r} is not a practicedesk.core.kpi.Kpi")
    problems = []
    if not kpi.key or not kpi.name or not kpi.definition or not kpi.unit:
        problems.append("key, name, definition and unit are required")
    if kpi.good_direction not in GOOD_DIRECTIONS:
        problems.append(f"good_direction must be one of {GOOD_DIRECTIONS}")
    if kpi.shape not in SHAPES:
        problems.append(f"shape must be one of {SHAPES}")
    if kpi.area not in AREAS:
        problems.append(f"area {kpi.area!r} is not a role area")
    if not callable(kpi.selector):
        problems.append("selector must be callable")
    if problems:
        raise ValueError(f"KPI {kpi.key!r}: " + "; ".join(problems))


@cache
def registry() -> tuple[Kpi, ...]:
    kpis: list[Kpi] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("practicedesk."):
            continue
        name = f"{config.name}.kpis"
        try:
            module = import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        for kpi in getattr(module, "KPIS", []):
            check(kpi)
            kpis.append(kpi)
    keys = [kpi.key for kpi in kpis]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"KPI keys declared twice: {', '.join(duplicates)}")
    return tuple(kpis)


def all_kpis() -> list[Kpi]:
    return list(registry())


def kpi_by_key(key: str) -> Kpi | None:
    return next((kpi for kpi in registry() if kpi.key == key), None)
