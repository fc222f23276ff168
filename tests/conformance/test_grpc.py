"""Knative's h2c contract end to end: a gRPC function (``signature: grpc``) in a Service
whose port is named ``h2c``, called with a real grpcio client through the gateway by
the Service's host, as a gRPC client calls a Knative Service.
"""

from pathlib import Path

import grpc
import pytest

from tests.conformance.conftest import Conformance
from tests.conformance.test_runtime import failed_with
from unkai.platform import bundles

GRPC_FUNCTION = Path(__file__).parent / "functions" / "grpc"

pytestmark = pytest.mark.slow


def test_grpc_unary_and_server_streaming_through_the_gateway(live: Conformance) -> None:
    digest = live.platform.bundles.of("default").put(bundles.pack(GRPC_FUNCTION))
    image = bundles.format_reference(namespace="default", name="grpc-echo", digest=digest)
    live.apply({
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "grpc-echo"},
        "spec": {"template": {"spec": {"containers": [
            {"image": image, "ports": [{"name": "h2c", "containerPort": 8080}]},
        ]}}},
    })  # fmt: skip
    live.ready("grpc-echo")
    target = f"127.0.0.1:{live.platform.gateway.port}"
    options = (("grpc.default_authority", "grpc-echo.default.localhost"),)
    with grpc.insecure_channel(target, options=options) as channel:
        reply = channel.unary_unary("/echo.Echo/Say")(b"hello", timeout=30)
        assert reply == b"grpc-echo-00001:hello"
        counted = list(channel.unary_stream("/echo.Echo/Count")(b"50", timeout=30))
    assert counted == [str(number).encode() for number in range(50)]


def test_a_grpc_function_without_an_h2c_port_is_refused_saying_why(live: Conformance) -> None:
    digest = live.platform.bundles.of("default").put(bundles.pack(GRPC_FUNCTION))
    image = bundles.format_reference(namespace="default", name="grpc-plain", digest=digest)
    live.apply({
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "grpc-plain"},
        "spec": {"template": {"spec": {"containers": [{"image": image}]}}},
    })  # fmt: skip
    found = failed_with(live, "grpc-plain", "ProtocolUnsupported")
    assert "name the container port h2c" in found["message"]
