"""Where a delivery connects: names under the platform's domain on the gateway's port go
to the public listener, cluster-local names to the internal one (deliveries are callers
inside the platform), anything else as written; ``Host`` keeps the URI's name."""

import pytest

from unkai.platform.eventing.sender import Sender

SENDER = Sender(
    domain="localhost", gateway_host="127.0.0.1", gateway_port=lambda: 8080,
    internal_port=lambda: 9099,
)  # fmt: skip


@pytest.mark.parametrize(
    ("uri", "url", "host"),
    [
        ("http://hello.default.localhost:8080/x", "http://127.0.0.1:8080/x",
         "hello.default.localhost:8080"),
        ("http://hello.default.svc.cluster.local", "http://127.0.0.1:9099/",
         "hello.default.svc.cluster.local"),
        ("http://hello.default.svc/path?q=1", "http://127.0.0.1:9099/path?q=1",
         "hello.default.svc"),
        ("http://example.com/hook", "http://example.com/hook", None),
    ],
)  # fmt: skip
def test_target(uri: str, url: str, host: str | None) -> None:
    assert SENDER.target(uri) == (url, host)
