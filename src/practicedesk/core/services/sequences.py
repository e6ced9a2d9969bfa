"""Gap-free, increasing numbers shared by every server (row lock on the counter)."""

from django.db import IntegrityError, transaction

from practicedesk.core.models import Sequence


def sequence_next(name: str, *, count: int = 1) -> int:
    """Advance the named counter by ``count`` and return the first of the reserved values."""
    if count < 1:
        raise ValueError("count must be at least 1")
    with transaction.atomic():
        try:
            with transaction.atomic():
                Sequence.objects.get_or_create(name=name)
        except IntegrityError:
            pass  # another transaction created it first; the lock below waits for it
        counter = Sequence.objects.select_for_update().get(name=name)
        first = counter.value + 1
        counter.value += count
        counter.save(update_fields=["value"])
    return first
