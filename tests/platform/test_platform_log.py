"""``unkai up``'s own log: rotated by size, and on stderr when the file cannot be
written (issue 13: a flood filled 318 MB; a full disk lost the log)."""

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.platform.fulldisk import small_disk

from unkai.platform.platformlog import FallbackFileHandler
from unkai.runtime.logs import JSONFormatter


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    """A logger of the test's own, cleared of handlers at the end."""
    log = logging.getLogger("unkai.test.platformlog")
    log.propagate = False
    log.setLevel(logging.INFO)
    yield log
    for handler in log.handlers[:]:
        handler.close()
        log.removeHandler(handler)


def attach(log: logging.Logger, path: Path, **options: int) -> FallbackFileHandler:
    handler = FallbackFileHandler(path, **options)
    handler.setFormatter(JSONFormatter())
    log.addHandler(handler)
    return handler


def test_the_log_is_rotated_by_size_and_old_files_are_bounded(
    tmp_path: Path, logger: logging.Logger
) -> None:
    path = tmp_path / "unkai.log"
    attach(logger, path, max_bytes=4096, backups=2)
    for number in range(1000):
        logger.info("event %d", number)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["unkai.log", "unkai.log.1", "unkai.log.2"]
    assert all((tmp_path / name).stat().st_size <= 4096 for name in files)
    assert '"message": "event 999"' in path.read_text()


def test_a_log_file_that_cannot_be_written_goes_to_stderr_until_it_can(
    logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    with small_disk("256k") as disk:
        path = disk.root / "unkai.log"
        disk.fill()
        attach(logger, path)
        logger.warning("while full", extra={"reason": "test"})
        logger.warning("still full")
        err = capsys.readouterr().err
        assert err.count(f"cannot write the log file {path}") == 1
        assert "No space left on device" in err
        assert '"message": "while full"' in err
        assert '"reason": "test"' in err
        assert '"message": "still full"' in err
        disk.free()
        logger.info("after")
        assert capsys.readouterr().err == ""
        assert '"message": "after"' in path.read_text()
