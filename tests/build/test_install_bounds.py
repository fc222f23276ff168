"""A requirement install that hangs is stopped: after its timeout, or when the revision
that wanted it goes away. The hang is real: pip talks to a package index on loopback
that accepts connections and never answers."""

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from unkai.build import environments, pip


@pytest.fixture
def silent_index(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``--index-url`` of an index that never answers (connections wait in the backlog)."""
    monkeypatch.delenv("PIP_NO_INDEX", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"--index-url http://127.0.0.1:{listener.getsockname()[1]}/simple"


def test_an_install_that_hangs_is_stopped_after_its_timeout(
    tmp_path: Path, silent_index: str
) -> None:
    with pytest.raises(environments.RequirementsError, match=r"took more than 2 s and was stop"):
        environments.prepare([silent_index, "greeting==1.0"], root=tmp_path, timeout=2)
    assert list((tmp_path / "envs").iterdir()) == []  # nothing half-built is kept


def test_an_install_nobody_wants_any_more_is_cancelled(tmp_path: Path, silent_index: str) -> None:
    unwanted = threading.Event()
    threading.Timer(1.0, unwanted.set).start()
    with pytest.raises(pip.InstallCancelledError, match="cancelled"):
        environments.prepare(
            [silent_index, "greeting==1.0"], root=tmp_path, cancelled=unwanted.is_set
        )
