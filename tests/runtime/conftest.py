"""Fixtures for the runtime conformance suite: serve a ``tests/functions/<case>`` folder.

``serve`` starts servers that live for one test (for tests that stop them);
``serve_shared`` starts servers that a whole module reuses.
"""

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from tests.support.servers import FUNCTIONS, RunningFunction, Serve, serve


def _servers() -> Iterator[Serve]:
    with ExitStack() as stack:

        def start(case: str, **options: Any) -> RunningFunction:
            return stack.enter_context(serve(FUNCTIONS / case, **options))

        yield start


@pytest.fixture(name="serve")
def serve_fixture() -> Iterator[Serve]:
    yield from _servers()


@pytest.fixture(scope="module")
def serve_shared() -> Iterator[Serve]:
    yield from _servers()
