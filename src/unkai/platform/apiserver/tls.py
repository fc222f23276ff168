"""The API server's TLS certificate: a private CA and a loopback serving certificate.

kubectl (client-go) never sends a bearer token over plain HTTP, so token auth needs
HTTPS. On first start the server makes a small CA and a certificate for ``localhost``,
``127.0.0.1`` and ``::1`` (plus the bind host) signed by it, and keeps both in the
data dir so kubeconfigs written once (``certificate-authority-data``) stay valid
across restarts. Keys are EC P-256 and readable by the owner only.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=3650)


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
    files = ServingCertificate(directory / "tls.crt", directory / "tls.key", directory / "ca.crt")
    if all(path.exists() for path in (files.cert_file, files.key_file, files.ca_file)):
        existing = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
        sans = existing.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        if _name(host) in sans:
            return files
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "unkai-apiserver-ca")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = {_name(h) for h in ("localhost", "127.0.0.1", "::1", host)}
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
        .add_extension(x509.SubjectAlternativeName(sorted(names, key=str)), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(files.ca_file, ca.public_bytes(serialization.Encoding.PEM))
    _write(files.cert_file, cert.public_bytes(serialization.Encoding.PEM))
    _write(
        files.key_file,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        private=True,
    )
    return files


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
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
