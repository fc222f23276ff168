"""Which tests are slow, so that ``./scripts/test -m "not slow"`` is a fast loop; and
the real registry that several folders' image tests share.

The tests in ``tests/cli`` run ``unkai`` as a process, the way a user does, and those
in ``tests/e2e`` run a whole platform with real instances: each takes seconds, and
together they are most of the suite's time. They are marked ``slow`` here, by folder;
single slow tests elsewhere carry ``@pytest.mark.slow`` themselves. ``./scripts/test``
with no arguments runs everything, and is what CI runs.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.build.registries import LocalRegistry, running

# The commands' output is tested as a pipe receives it, with no terminal size. pytest
# imports readline (a capture workaround), GNU readline exports its idea of the
# terminal (COLUMNS=80, LINES=24) into the C environment, and pytest-xdist's workers
# inherit that as ordinary variables, which rich obeys.
for name in ("COLUMNS", "LINES"):
    os.environ.pop(name, None)

SLOW_FOLDERS = tuple(Path(__file__).parent / name for name in ("cli", "e2e"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.path.is_relative_to(folder) for folder in SLOW_FOLDERS):
            item.add_marker(pytest.mark.slow)
    # Modules with slow tests first, each kept whole (its module-scoped fixtures start
    # once): a parallel run (scripts/test) then ends on short tests, which balance the
    # workers, instead of on a long test that a worker took up last.
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    """A real registry (Debian's docker-registry) on loopback, with an empty store: the
    image build, push and pull tests of several folders share it."""
    storage = tmp_path / "registry"
    storage.mkdir()
    with running(storage) as serving:
        yield serving
