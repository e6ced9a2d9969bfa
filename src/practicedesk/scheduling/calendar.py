"""Lay out a day or week calendar as a CSS grid: pure functions, no queries.

A strict content security policy forbids ``style=`` attributes, so every position is a class
name: body rows are 5 minutes each (``gr-N`` starts a block at grid row N, ``gs-N`` spans N
rows), columns are ``gc-N`` / ``gcs-N``. :func:`layout_stylesheet` writes that bounded set of
classes once, together with one colour class per appointment type.
"""

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils import timezone

ROW_MINUTES = 5
LABEL_MINUTES = 15
MAX_BODY_ROWS = 24 * 60 // ROW_MINUTES
MAX_HEADER_ROWS = 2
MAX_COLUMNS = 100
MAX_LANES = 3
DEFAULT_HOURS = (8, 17)

Interval = tuple[datetime.datetime, datetime.datetime]


@dataclass
class Column:
    """One column of the grid: a provider on a day (``grid_col`` counts the time column)."""

    grid_col: int
    day: datetime.date
    provider: object
    title: str
    subtitle: str = ""


@dataclass
class Header:
    row: int
    col: int
    span: int
    title: str
    subtitle: str = ""
    day: datetime.date | None = None
    provider: object = None


@dataclass
class Block:
    """Something placed on the grid: a booked appointment or a piece of open time."""

    kind: str  # "appointment", "open" or "open-short"
    column: Column
    row: int
    span: int
    start: datetime.datetime
    end: datetime.datetime
    appointment: object = None
    location_id: int | None = None
    lane: int = 0
    lanes: int = 1
    url: str = ""

    @property
    def classes(self) -> str:
        names = [f"gr-{self.row}", f"gs-{self.span}", f"gc-{self.column.grid_col}"]
        if self.lanes > 1:
            names.append(f"lanes-{self.lanes} lane-{self.lane}")
        return " ".join(names)


@dataclass
class Grid:
    first_minute: int
    last_minute: int
    header_rows: int
    columns: list[Column] = field(default_factory=list)
    headers: list[Header] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)

    @property
    def body_rows(self) -> int:
        return (self.last_minute - self.first_minute) // ROW_MINUTES

    @property
    def first_body_row(self) -> int:
        return self.header_rows + 1

    @property
    def column_count(self) -> int:
        return len(self.columns)

    @property
    def time_labels(self) -> list[tuple[int, str, bool]]:
        """(grid row, label, is the full hour) every 15 minutes down the time column."""
        labels = []
        for minute in range(self.first_minute, self.last_minute, LABEL_MINUTES):
            hour, rest = divmod(minute, 60)
            text = f"{hour}:{rest:02d}" if rest == 0 else f":{rest:02d}"
            labels.append((self.row_for_minute(minute), text, rest == 0))
        return labels

    @property
    def label_span(self) -> int:
        return LABEL_MINUTES // ROW_MINUTES

    def row_for_minute(self, minute: int) -> int:
        return self.header_rows + 1 + (minute - self.first_minute) // ROW_MINUTES

    def place(self, column: Column, start, end) -> tuple[int, int] | None:
        """The (row, span) of an interval on ``column``'s day, clipped to the grid; None if
        it falls outside."""
        first = max(minute_of_day(start, column.day), self.first_minute)
        last = min(minute_of_day(end, column.day), self.last_minute)
        if last <= first:
            return None
        first -= (first - self.first_minute) % ROW_MINUTES
        span = max(1, -(-(last - first) // ROW_MINUTES))
        return self.row_for_minute(first), span


def minute_of_day(moment: datetime.datetime, day: datetime.date) -> int:
    """Minutes since local midnight of ``day`` (negative before it, over 1440 after it)."""
    local = timezone.localtime(moment)
    return (local.date() - day).days * 1440 + local.hour * 60 + local.minute


def grid_bounds(intervals: Iterable[tuple[datetime.date, Interval]]) -> tuple[int, int]:
    """The first and last minute of the day to draw: every (day, interval) given fits, rounded
    out to the quarter hour; the usual office hours when there is nothing to show."""
    firsts, lasts = [], []
    for day, (start, end) in intervals:
        firsts.append(max(0, minute_of_day(start, day)))
        lasts.append(min(1440, minute_of_day(end, day)))
    if not firsts:
        return DEFAULT_HOURS[0] * 60, DEFAULT_HOURS[1] * 60
    first = min(firsts) - min(firsts) % LABEL_MINUTES
    last = max(lasts) + (-max(lasts)) % LABEL_MINUTES
    return first, max(last, first + LABEL_MINUTES)


def open_pieces(
    window: Interval, not_before: datetime.datetime | None = None, step: int = LABEL_MINUTES
) -> list[Interval]:
    """Cut an open window at quarter-hour marks, so each piece is one clickable slot."""
    start, end = window
    if not_before is not None and start < not_before:
        start = round_up(not_before, ROW_MINUTES)
    pieces = []
    while start < end:
        local = timezone.localtime(start)
        to_mark = step - (local.minute % step) if local.minute % step else step
        piece_end = min(end, start + datetime.timedelta(minutes=to_mark))
        pieces.append((start, piece_end))
        start = piece_end
    return pieces


def round_up(moment: datetime.datetime, minutes: int) -> datetime.datetime:
    moment = moment.replace(second=0, microsecond=0) + datetime.timedelta(
        minutes=1 if moment.second or moment.microsecond else 0
    )
    return moment + datetime.timedelta(minutes=(-moment.minute) % minutes)


def assign_lanes(blocks: Sequence[Block]) -> None:
    """Side by side where appointments overlap in one column (an overbook); at most 3 lanes."""
    by_column: dict[int, list[Block]] = {}
    for block in blocks:
        by_column.setdefault(block.column.grid_col, []).append(block)
    for column_blocks in by_column.values():
        column_blocks.sort(key=lambda b: (b.row, -b.span))
        cluster: list[Block] = []
        lane_ends: list[int] = []
        cluster_end = 0
        for block in column_blocks:
            if cluster and block.row >= cluster_end:
                _share_width(cluster, len(lane_ends))
                cluster, lane_ends, cluster_end = [], [], 0
            lane = next((n for n, end in enumerate(lane_ends) if end <= block.row), None)
            if lane is None:
                lane = len(lane_ends)
                lane_ends.append(0)
            lane_ends[lane] = block.row + block.span
            block.lane = lane
            cluster.append(block)
            cluster_end = max(cluster_end, block.row + block.span)
        if cluster:
            _share_width(cluster, len(lane_ends))


def _share_width(cluster: list[Block], lanes: int) -> None:
    lanes = min(lanes, MAX_LANES)
    for block in cluster:
        block.lanes = lanes
        block.lane = min(block.lane, lanes - 1)


WindowMap = dict[tuple[int, datetime.date], list[tuple[int, Interval]]]


def local_day(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date()


def build_grid(
    *,
    days: Sequence[datetime.date],
    providers: Sequence,
    working: WindowMap,
    open_time: WindowMap,
    appointments: Sequence,
    by_location: bool,
    now: datetime.datetime,
    duration_minutes: int | None = None,
) -> tuple[Grid, list[datetime.date]]:
    """The grid of a day or week, per location (a column per provider working each day) or per
    provider (a column per day). Returns the grid and the days left out because nothing happens
    on them (nobody works, nothing is booked).

    ``working`` and ``open_time`` map (provider id, day) to (location id, interval) pairs, as
    ``AvailabilityBook.working_windows`` / ``open_windows`` give them.
    """
    booked_on: dict[tuple[int, datetime.date], list] = {}
    for appointment in appointments:
        booked_on.setdefault((appointment.provider_id, local_day(appointment.start)), []).append(
            appointment
        )
    pairs = [
        (day, provider)
        for day in days
        for provider in providers
        if working.get((provider.pk, day)) or booked_on.get((provider.pk, day))
    ]
    pairs = pairs[:MAX_COLUMNS]
    shown_days = {day for day, _ in pairs}
    closed_days = [day for day in days if day not in shown_days]
    multi_day = len(days) > 1
    header_rows = 2 if (by_location and multi_day) else 1
    intervals = [
        (day, window)
        for day, provider in pairs
        for _, window in working.get((provider.pk, day), ())
    ] + [
        (day, (appointment.start, appointment.end))
        for day, provider in pairs
        for appointment in booked_on.get((provider.pk, day), ())
    ]
    first, last = grid_bounds(intervals)
    grid = Grid(first_minute=first, last_minute=last, header_rows=header_rows)
    for index, (day, provider) in enumerate(pairs):
        title = str(provider) if by_location else f"{day:%a} {day:%b} {day.day}"
        grid.columns.append(Column(grid_col=index + 2, day=day, provider=provider, title=title))
    _add_headers(grid, by_location=by_location, multi_day=multi_day)
    duration = datetime.timedelta(minutes=duration_minutes) if duration_minutes else None
    for column in grid.columns:
        key = (column.provider.pk, column.day)
        for location_id, window in open_time.get(key, ()):
            for start, end in open_pieces(window, not_before=now):
                placed = grid.place(column, start, end)
                if placed is None:
                    continue
                fits = duration is None or start + duration <= window[1]
                grid.blocks.append(
                    Block(
                        kind="open" if fits else "open-short",
                        column=column,
                        row=placed[0],
                        span=placed[1],
                        start=start,
                        end=end,
                        location_id=location_id,
                    )
                )
        appointment_blocks = []
        for appointment in booked_on.get(key, ()):
            placed = grid.place(column, appointment.start, appointment.end)
            if placed is None:
                continue
            appointment_blocks.append(
                Block(
                    kind="appointment",
                    column=column,
                    row=placed[0],
                    span=placed[1],
                    start=appointment.start,
                    end=appointment.end,
                    appointment=appointment,
                    location_id=appointment.location_id,
                )
            )
        assign_lanes(appointment_blocks)
        grid.blocks.extend(appointment_blocks)
    return grid, closed_days


def _add_headers(grid: Grid, *, by_location: bool, multi_day: bool) -> None:
    if by_location and multi_day:
        for day in dict.fromkeys(column.day for column in grid.columns):
            members = [column for column in grid.columns if column.day == day]
            grid.headers.append(
                Header(
                    row=1,
                    col=members[0].grid_col,
                    span=len(members),
                    title=f"{day:%A} {day:%b} {day.day}",
                    day=day,
                )
            )
    row = grid.header_rows
    for column in grid.columns:
        grid.headers.append(
            Header(
                row=row,
                col=column.grid_col,
                span=1,
                title=column.title,
                day=column.day,
                provider=column.provider,
            )
        )


def relative_luminance(colour: str) -> float:
    channels = []
    for index in (1, 3, 5):
        value = int(colour[index : index + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def readable_text_colour(colour: str) -> str:
    """Black or white, whichever contrasts more with the background ``colour`` (#rrggbb)."""
    luminance = relative_luminance(colour)
    on_black = (luminance + 0.05) / 0.05
    on_white = 1.05 / (luminance + 0.05)
    return "#000000" if on_black >= on_white else "#ffffff"


def type_rules(types: Iterable[tuple[int, str]]) -> str:
    """One class per appointment type: its colour and a readable text colour on it."""
    lines = []
    for type_id, colour in types:
        text = readable_text_colour(colour)
        lines.append(f".appt-type-{type_id} {{ background: {colour}; color: {text}; }}")
        lines.append(f".swatch.appt-type-{type_id} {{ border-color: {colour}; }}")
    return "\n".join(lines)


def layout_rules() -> str:
    """The bounded set of grid position classes every calendar uses."""
    rows = MAX_BODY_ROWS + MAX_HEADER_ROWS
    lines = [f".gr-{n} {{ grid-row-start: {n}; }}" for n in range(1, rows + 1)]
    lines += [f".gs-{n} {{ grid-row-end: span {n}; }}" for n in range(1, MAX_BODY_ROWS + 1)]
    lines += [f".gc-{n} {{ grid-column-start: {n}; }}" for n in range(1, MAX_COLUMNS + 2)]
    lines += [f".gcs-{n} {{ grid-column-end: span {n}; }}" for n in range(1, MAX_COLUMNS + 1)]
    lines += [
        f".cal.cols-{n} {{ grid-template-columns: 4rem repeat({n}, minmax(9rem, 1fr)); }}"
        for n in range(1, MAX_COLUMNS + 1)
    ]
    for lanes in range(2, MAX_LANES + 1):
        width = 100 / lanes
        for lane in range(lanes):
            lines.append(
                f".lanes-{lanes}.lane-{lane} {{ width: {width:.3f}%; "
                f"margin-left: {width * lane:.3f}%; }}"
            )
    return "\n".join(lines)


def stylesheet(types: Iterable[tuple[int, str]]) -> str:
    return (
        "/* Generated: appointment type colours and calendar grid positions. */\n"
        + type_rules(types)
        + "\n"
        + layout_rules()
        + "\n"
    )
