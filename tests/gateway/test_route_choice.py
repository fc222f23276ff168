"""A split's choice without sockets: each draw lands on the revision its weight covers.

``test_routing.py`` checks over HTTP that a 50/50 split sends both ways on one
connection; here the draw is fixed, so every boundary can be checked exactly.
"""

from collections import Counter
from collections.abc import Iterator
from random import Random

import pytest

from unkai.platform.gateway.routing import CompiledRoute


def draws(*values: float) -> Iterator[float]:
    yield from values
    raise AssertionError("drew more often than once per choice")


@pytest.mark.parametrize(
    ("draw", "chosen"),
    [(0.0, "blue"), (0.09, "blue"), (0.1, "green"), (0.29, "green"), (0.3, "red"), (0.999, "red")],
)
def test_a_draw_chooses_the_target_whose_weight_covers_it(draw: float, chosen: str) -> None:
    values = draws(draw)
    route = CompiledRoute([("blue", 10), ("green", 20), ("red", 70)], {}, lambda: next(values))
    assert route.choose() == chosen


def test_weights_are_relative_to_their_sum() -> None:
    values = draws(0.49, 0.5)
    route = CompiledRoute([("blue", 1), ("green", 1)], {}, lambda: next(values))
    assert [route.choose(), route.choose()] == ["blue", "green"]


def test_a_single_target_is_chosen_without_a_draw() -> None:
    route = CompiledRoute([("blue", 100)], {}, draws().__next__)
    assert route.choose() == "blue"


def test_a_route_with_no_traffic_chooses_nothing() -> None:
    assert CompiledRoute([], {}, draws().__next__).choose() is None


def test_a_seeded_split_follows_its_weights() -> None:
    route = CompiledRoute([("blue", 25), ("green", 75)], {}, Random(14).random)
    seen = Counter(route.choose() for _ in range(10_000))
    assert 2_300 < seen["blue"] < 2_700
    assert seen["blue"] + seen["green"] == 10_000
