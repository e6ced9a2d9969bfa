"""How big each demo practice is. Later areas add their own counts to these sizes."""

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoSize:
    name: str
    locations: int


SIZES = {
    "small": DemoSize("small", locations=1),
    "clinic": DemoSize("clinic", locations=3),
    "group": DemoSize("group", locations=8),
}
