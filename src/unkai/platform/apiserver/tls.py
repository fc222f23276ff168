"""The API server's TLS certificate: a private CA and a loopback serving certificate.

kubectl (client-go) never sends a bearer token over plain HTTP, so token auth needs
HTTPS. On first start the server makes a small CA and a certificate for ``localhost``,
``127.0.0.1`` and ``::1`` (plus the bind host) signed by it, and keeps both in the
data dir so kubeconfigs written once (``certificate-authority-data``) stay valid
across restarts; a new bind host makes a new pair.

The files are made in a child process (``python -m unkai.certificates``) so the
platform never loads ``cryptography`` (~8 MiB RSS, issue 12); a restart compares the
bind host with the names recorded beside the certificate and starts no child.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from unkai.certificates import CA_FILE, CERT_FILE, KEY_FILE, canonical, recorded_names
from unkai.errors import TargetError

_CHILD_SECONDS = 60.0


class CertificateError(TargetError, RuntimeError):
    """The data dir's certificate could not be made or read (the child failed)."""


@dataclass(frozen=True)
class ServingCertificate:
    """Files for uvicorn, and the CA (PEM) clients must trust."""

    cert_file: Path
    key_file: Path
    ca_file: Path

    @property
    def ca_pem(self) -> bytes:
        return self.ca_file.read_bytes()


def ensure_certificate(directory: Path, *, host: str) -> ServingCertificate:
    """The certificate in ``directory``, made on first use (and again if ``host`` is new)."""
    if canonical(host) not in recorded_names(directory):
        _run_child(directory, host)
    return ServingCertificate(directory / CERT_FILE, directory / KEY_FILE, directory / CA_FILE)


def _run_child(directory: Path, host: str) -> None:
    # -P: the working directory (a user's project, perhaps with a module named like
    # one of ours or cryptography's) is not put on the child's path.
    command = [sys.executable, "-P", "-m", "unkai.certificates", str(directory), host]
    failure = f"cannot make the API server's TLS certificate in {directory}"
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_CHILD_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CertificateError(f"{failure}: {error}") from error
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise CertificateError(f"{failure}: {lines[-1]}")
