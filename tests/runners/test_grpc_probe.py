"""``grpc`` probes against a real gRPC server (grpcio's standard health service).

Aspects: ``SERVING`` passes; ``NOT_SERVING`` fails with the kubelet's wording; a service
the server does not know fails with the gRPC status; nothing listening fails.
"""

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from unkai.platform.runners.base import free_port
from unkai.platform.runners.probe import Target, attempt
from unkai.platform.runners.probing import Probe

grpc = pytest.importorskip("grpc", reason="grpcio is a development dependency")
health = pytest.importorskip("grpc_health.v1.health")
health_pb2 = pytest.importorskip("grpc_health.v1.health_pb2")
health_pb2_grpc = pytest.importorskip("grpc_health.v1.health_pb2_grpc")


@pytest.fixture(scope="module")
def server_port() -> Iterator[int]:
    server = grpc.server(ThreadPoolExecutor(2))
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("resting", health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port
    server.stop(None)


def probe(service: str, port: int) -> tuple[bool, str]:
    return asyncio.run(attempt(Probe("grpc", service=service), Target(port), limit=5))


def test_serving_passes(server_port: int) -> None:
    assert probe("", server_port) == (True, "")


def test_not_serving_fails_as_the_kubelet_says(server_port: int) -> None:
    assert probe("resting", server_port) == (
        False,
        'service unhealthy (responded with "NOT_SERVING")',
    )


def test_an_unknown_service_fails_with_the_grpc_status(server_port: int) -> None:
    passed, why = probe("nowhere", server_port)
    assert not passed
    assert why.startswith("rpc error: code = 5 desc = ")  # NOT_FOUND


def test_nothing_listening_fails() -> None:
    passed, why = probe("", free_port())
    assert not passed
    assert why.startswith("grpc ''")
