"""Which tests are slow, so that ``./scripts/test -m "not slow"`` is a fast loop; and
the real registry that several folders' image tests share.

The tests in ``tests/cli`` run ``unkai`` as a process, the way a user does, and those
in ``tests/e2e`` run a whole platform with real instances: each takes seconds, and
together they are most of the suite's time. They are marked ``slow`` here, by folder;
single slow tests elsewhere carry ``@pytest.mark.slow`` themselves. ``./scripts/test``
with no arguments runs everything, and is what CI runs.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.build.registries import LocalRegistry, running

SLOW_FOLDERS = tuple(Path(__file__).parent / name for name in ("cli", "e2e"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.path.is_relative_to(folder) for folder in SLOW_FOLDERS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    """A real registry (Debian's docker-registry) on loopback, with an empty store: the
    image build, push and pull tests of several folders share it."""
    storage = tmp_path / "registry"
    storage.mkdir()
    with running(storage) as serving:
        yield serving
