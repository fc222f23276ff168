"""``python -m unkai.certificates DIRECTORY HOST``: ensure ``DIRECTORY`` holds a CA and a
serving certificate for ``localhost``, ``127.0.0.1``, ``::1`` and ``HOST``.

Run by the API server in a child process so that ``cryptography`` never loads in the
platform (see :mod:`unkai.certificates`). A certificate already there is kept when it
covers ``HOST`` and its key matches it (kubeconfigs written once carry its CA), and its
names are recorded if they were not (a data dir from before the record); otherwise a
new CA and certificate are made. Keys are EC P-256 and readable by the owner only; the
certificate is valid for ten years. Exit status 1 with one line on stderr on failure.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from unkai.certificates import CA_FILE, CERT_FILE, KEY_FILE, NAMES_FILE, canonical, names_for

_VALIDITY = datetime.timedelta(days=3650)


def ensure(directory: Path, host: str) -> None:
    """Keep the certificate in ``directory`` if it covers ``host``, else make one."""
    kept = _existing_names(directory)
    if kept is not None and canonical(host) in kept:
        _write(directory / NAMES_FILE, json.dumps(sorted(kept)).encode())
        return
    make(directory, names_for(host), now=datetime.datetime.now(datetime.UTC))


def _existing_names(directory: Path) -> list[str] | None:
    """The names of the certificate in ``directory`` if it is whole: all three files
    there and the key the certificate's own (a run stopped mid-way leaves neither)."""
    try:
        cert = x509.load_pem_x509_certificate((directory / CERT_FILE).read_bytes())
        key = serialization.load_pem_private_key((directory / KEY_FILE).read_bytes(), None)
        x509.load_pem_x509_certificate((directory / CA_FILE).read_bytes())
    except (OSError, ValueError):
        return None
    if key.public_key() != cert.public_key():
        return None
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(name.value) for name in sans if isinstance(name, x509.IPAddress | x509.DNSName)]


def make(directory: Path, names: list[str], *, now: datetime.datetime) -> None:
    """A new CA and a certificate for ``names`` signed by it, written to ``directory``.
    The names record goes first (removed) and last (written), so a record present
    always describes the files beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / NAMES_FILE).unlink(missing_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "unkai-apiserver-ca")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "unkai-apiserver")]),
            ca_name,
            key.public_key(),
            now,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([_name(n) for n in names]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    _write(directory / CA_FILE, ca.public_bytes(pem))
    _write(
        directory / KEY_FILE,
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        private=True,
    )
    _write(directory / CERT_FILE, cert.public_bytes(pem))
    _write(directory / NAMES_FILE, json.dumps(names).encode())


def _name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey, now: datetime.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not cert_sign,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write through a temporary file renamed over ``path``: a reader (or a restart
    after a crash) sees the old file or the new one, never half of one."""
    partial = path.with_name(f".{path.name}.partial")
    descriptor = os.open(
        partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644
    )
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.replace(partial, path)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m unkai.certificates DIRECTORY HOST", file=sys.stderr)
        return 2
    try:
        ensure(Path(argv[0]), argv[1])
    except (OSError, ValueError) as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
