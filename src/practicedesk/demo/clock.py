"""A simulated clock, so the demo's year of billing happens on the days it says it did.

The billing services date what they do by the clock (`timezone.now()` / `localdate()`): when a
claim was created, scrubbed (timely filing is checked against today), submitted and paid, when
a remittance was posted, a plan proposed or a collection case opened. The demo replays a year
through those same services, so while it runs Django's clock is set to each event's moment.
Only `django.utils.timezone.now` is replaced, and only inside `simulated_clock()`; every
caller in the project reads the time through it (auto_now fields too).
"""

import datetime
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils import timezone


class SimulatedClock:
    def __init__(self, moment: datetime.datetime):
        self.moment = moment
        self.real_now = timezone.now

    def set(self, moment: datetime.datetime) -> None:
        # Never later than the real now: nothing in the demo happens in the future.
        self.moment = min(moment, self.real_now())

    def now(self) -> datetime.datetime:
        return self.moment


@contextmanager
def simulated_clock(moment: datetime.datetime) -> Iterator[SimulatedClock]:
    clock = SimulatedClock(moment)
    timezone.now = clock.now
    try:
        yield clock
    finally:
        timezone.now = clock.real_now
