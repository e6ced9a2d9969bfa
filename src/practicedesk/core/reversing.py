"""URLs for many rows of one kind, reversed once."""

from collections.abc import Callable

MARKER = 987654321


def url_for_each(url_of: Callable[[int], str]) -> Callable[[int], str]:
    """``url_of(pk)`` for many rows: reversed once with a marker, then filled in (a reverse
    per row costs a busy board or a long aging report a large share of its time)."""
    head, _, tail = url_of(MARKER).rpartition(str(MARKER))
    return lambda pk: f"{head}{pk}{tail}"
