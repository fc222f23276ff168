"""A token server for a registry's Bearer auth, as the distribution spec describes it:
``GET /token?service=…&scope=…`` with the user's basic auth answers a JWT (ES256, its
``kid`` the libtrust fingerprint of the signing key) granting the scopes asked for.
The registry trusts the key's self-signed certificate (``rootcertbundle``)."""

import base64
import datetime
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from unkai.build.credentials import Credentials

SERVICE = "unkai-test-registry"
ISSUER = "unkai-test-issuer"


@dataclass(frozen=True)
class TokenServer:
    realm: str
    certificate: Path

    def registry_auth(self) -> str:
        """The ``auth:`` section of a registry config that trusts this server."""
        return (
            f"auth:\n  token:\n    realm: {self.realm}\n    service: {SERVICE}\n"
            f"    issuer: {ISSUER}\n    rootcertbundle: {self.certificate}\n"
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _key_id(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    return ":".join(encoded[i : i + 4] for i in range(0, 48, 4))


def _token(key: ec.EllipticCurvePrivateKey, user: str, scopes: list[str]) -> str:
    access = []
    for scope in scopes:
        kind, name, actions = scope.split(":")
        access.append({"type": kind, "name": name, "actions": actions.split(",")})
    now = int(time.time())
    header = {"typ": "JWT", "alg": "ES256", "kid": _key_id(key)}
    claims = {"iss": ISSUER, "sub": user, "aud": SERVICE, "exp": now + 600, "nbf": now - 60,
              "iat": now, "jti": f"{now}-{user}", "access": access}  # fmt: skip
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _certificate(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


@contextmanager
def serving(directory: Path, credentials: Credentials) -> Iterator[TokenServer]:
    """A token server on 127.0.0.1 (a free port) granting any scope to ``credentials``."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = directory / "token-issuer.pem"
    _certificate(key, certificate)
    expected = (
        "Basic "
        + base64.b64encode(f"{credentials.username}:{credentials.secret}".encode()).decode()
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.end_headers()
                return
            query = parse_qs(urlparse(self.path).query)
            token = _token(key, credentials.username, query.get("scope", []))
            body = json.dumps({"token": token}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield TokenServer(f"http://127.0.0.1:{server.server_address[1]}/token", certificate)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
