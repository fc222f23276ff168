"""A destination's CACerts is what an https delivery trusts; its audience is accepted
and said in the status not to apply (unkai up issues no OIDC tokens)."""

import datetime
import ipaddress
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.conftest import RunningPlatform
from tests.eventing.conftest import Subscriber, apply, broker, ready, serving
from unkai.kube import counts, kinds

pytestmark = pytest.mark.slow


def self_signed(directory: Path) -> tuple[str, ssl.SSLContext]:
    """A certificate for 127.0.0.1 (PEM) and a server context serving it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "subscriber")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    (directory / "cert.pem").write_text(pem)
    (directory / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return pem, context


@pytest.fixture
def tls_subscriber(tmp_path: Path) -> Iterator[tuple[Subscriber, str]]:
    pem, context = self_signed(tmp_path)
    with serving(Subscriber(), context) as recorder:
        yield recorder, pem


def to(name: str, subscriber: dict[str, str], **spec: object) -> dict[str, object]:
    return {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger", "metadata": {"name": name},
            "spec": {"broker": "default", "subscriber": subscriber, **spec}}  # fmt: skip


def test_an_https_subscriber_is_trusted_by_its_cacerts_and_only_by_them(
    platform: RunningPlatform, tls_subscriber: tuple[Subscriber, str]
) -> None:
    subscriber, pem = tls_subscriber
    platform.wait_for("default", ready, kind=apply(platform, broker()))
    trusted = {"uri": subscriber.url, "CACerts": pem, "audience": "orders"}
    found = platform.wait_for("trusted", ready, kind=apply(platform, to("trusted", trusted)))
    resolved = next(c for c in found["status"]["conditions"] if c["type"] == "SubscriberResolved")
    assert resolved["status"] == "True"
    assert resolved["message"].startswith("audience is not used: unkai up sends no OIDC token")
    untrusted = to("untrusted", {"uri": subscriber.url}, delivery={"retry": 0})
    platform.wait_for("untrusted", ready, kind=apply(platform, untrusted))

    headers = {"ce-specversion": "1.0", "ce-type": "t", "ce-source": "/s", "ce-id": "1"}
    url = f"http://127.0.0.1:{platform.platform.gateway.port}/default/default"
    assert httpx2.post(url, headers=headers, content=b"x").status_code == 202
    assert subscriber.wait(1)[0].headers["ce-id"] == "1"
    deadline = time.monotonic() + 20
    while (figures := counts.read(platform.client().config, "default")) is None or (
        figures.trigger("untrusted").dropped == 0
    ):
        assert time.monotonic() < deadline, figures
        time.sleep(0.05)
    assert figures.trigger("trusted").delivered == 1
    assert len(subscriber.received) == 1  # the untrusted trigger's TLS handshake failed


def test_cacerts_that_are_not_pem_leave_the_subscriber_unresolved(
    platform: RunningPlatform,
) -> None:
    platform.wait_for("default", ready, kind=apply(platform, broker()))
    bad = {"uri": "https://127.0.0.1:9/", "CACerts": "-----BEGIN CERTIFICATE-----\nnope\n"}
    apply(platform, to("bad", bad))

    def refused(obj: dict[str, object]) -> bool:
        status = obj.get("status") or {}
        assert isinstance(status, dict)
        return any(c["type"] == "SubscriberResolved" and c["status"] == "False"
                   for c in status.get("conditions", []))  # fmt: skip

    found = platform.wait_for("bad", refused, kind=kinds.TRIGGER)
    resolved = next(c for c in found["status"]["conditions"] if c["type"] == "SubscriberResolved")
    assert resolved["message"].startswith("CACerts: not PEM certificates")
