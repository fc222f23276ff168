"""One API server certificate per test session, copied into the data dir of each
platform a test starts: making one costs a child process (``python -m
unkai.certificates``, a fresh interpreter importing ``cryptography``), and the suite
starts hundreds of platforms. The copy is what a restart finds, so the server keeps it
without a child, as it does for a user's second ``unkai up``.
"""

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from unkai.certificates import CA_FILE, CERT_FILE, KEY_FILE, NAMES_FILE
from unkai.platform.apiserver.tls import ensure_certificate


@functools.cache
def _made() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="unkai-test-certificate-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    ensure_certificate(directory, host="127.0.0.1")
    return directory


def seed(directory: Path) -> None:
    """Copy the session's certificate into ``directory`` unless it has one already
    (covers localhost, 127.0.0.1 and ::1; another bind host still makes its own)."""
    if (directory / CERT_FILE).exists():
        return
    directory.mkdir(parents=True, exist_ok=True)
    for name in (CA_FILE, KEY_FILE, CERT_FILE, NAMES_FILE):  # the record last, as made
        shutil.copy2(_made() / name, directory / name)
