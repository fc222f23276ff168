"""gRPC through the gateway: HTTP/2 prior knowledge from the client, h2c to the instance.

A real grpcio server stands for an ``h2c`` revision's instance (on loopback TCP and on
a Unix socket, as the process runner's instances are reached) and a real grpcio
client calls it through the gateway by the Service's host (the ``authority`` option).
Messages are raw bytes (no protobuf): the relay carries frames, not messages.
"""

import socket
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path

import grpc
import h2.connection
import h2.events
import httpx2
import pytest
from h2.errors import ErrorCodes
from h2.settings import SettingCodes
from tests.gateway.conftest import NS, RunningGateway, wait_for

from unkai.platform.contracts import RevisionKey
from unkai.platform.gateway import Endpoint

SERVICE = "echo.Echo"


class EchoServicer:
    """Unary ``Say`` (echoes, with a trailer), server-streaming ``Count``, client-streaming
    ``Sum`` (total bytes received), and ``Fail`` (aborts with NOT_FOUND)."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()

    def say(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        context.set_trailing_metadata((("echo-size", str(len(request))),))
        return request

    def count(self, request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        context.add_callback(self.cancelled.set)
        for number in range(int(request)):
            yield str(number).encode() * 1000

    def sum(self, requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
        return str(sum(len(request) for request in requests)).encode()

    def fail(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        context.abort(grpc.StatusCode.NOT_FOUND, "no such thing: " + request.decode())
        raise AssertionError("abort returns no value")


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EchoServicer, int, Path]]:
    """One grpcio server for the module, on a loopback port and a Unix socket."""
    servicer = EchoServicer()
    handlers = {
        "Say": grpc.unary_unary_rpc_method_handler(servicer.say),
        "Count": grpc.unary_stream_rpc_method_handler(servicer.count),
        "Sum": grpc.stream_unary_rpc_method_handler(servicer.sum),
        "Fail": grpc.unary_unary_rpc_method_handler(servicer.fail),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    socket_path = Path(tmp_path_factory.mktemp("grpc", numbered=True)) / "i.sock"
    server.add_insecure_port(f"unix:{socket_path}")
    server.start()
    yield servicer, port, socket_path
    server.stop(grace=None)


def serve(
    gw: RunningGateway, endpoint: Endpoint | None, *, h2c: bool = True, **settings: float
) -> str:
    """Route ``echo.default.localhost`` to revision ``echo-00001`` served at ``endpoint``."""
    host = gw.route("echo", {"echo-00001": 100})
    gw.configure("echo-00001", h2c=h2c, **settings)
    if endpoint is not None:
        gw.call(gw.gateway.set_endpoints, RevisionKey(NS, "echo-00001"), [endpoint])
    return host


@pytest.fixture
def channel(gw: RunningGateway) -> Iterator[Callable[[str], grpc.Channel]]:
    opened: list[grpc.Channel] = []

    def open_channel(host: str) -> grpc.Channel:
        target = f"127.0.0.1:{gw.gateway.port}"
        channel = grpc.insecure_channel(target, options=(("grpc.default_authority", host),))
        opened.append(channel)
        return channel

    yield open_channel
    for channel in opened:
        channel.close()


def test_unary_call_reaches_the_revision_by_its_host_with_trailers(
    gw: RunningGateway, echo: tuple[EchoServicer, int, Path], channel: Callable[[str], grpc.Channel]
) -> None:
    host = serve(gw, Endpoint("127.0.0.1", echo[1]))
    say = channel(host).unary_unary(f"/{SERVICE}/Say")
    reply, call = say.with_call(b"hello", timeout=10)
    assert reply == b"hello"
    assert ("echo-size", "5") in call.trailing_metadata()
    assert gw.call(gw.gateway.stats, RevisionKey(NS, "echo-00001")).requests == 1


def test_server_streaming_over_a_unix_socket_and_large_messages_both_ways(
    gw: RunningGateway, echo: tuple[EchoServicer, int, Path], channel: Callable[[str], grpc.Channel]
) -> None:
    """Far more than HTTP/2's 64 KiB default window goes each way, so the relay must
    pass window updates on."""
    host = serve(gw, Endpoint("127.0.0.1", 0, str(echo[2])))
    opened = channel(host)
    replies = list(opened.unary_stream(f"/{SERVICE}/Count")(b"300", timeout=10))
    assert len(replies) == 300
    assert replies[299] == b"299" * 1000
    big = bytes(range(256)) * 4096  # 1 MiB
    assert opened.unary_unary(f"/{SERVICE}/Say")(big, timeout=10) == big
    total = opened.stream_unary(f"/{SERVICE}/Sum")(iter([big] * 3), timeout=10)
    assert int(total) == 3 * len(big)


def test_the_instance_status_and_message_reach_the_client(
    gw: RunningGateway, echo: tuple[EchoServicer, int, Path], channel: Callable[[str], grpc.Channel]
) -> None:
    host = serve(gw, Endpoint("127.0.0.1", echo[1]))
    with pytest.raises(grpc.RpcError) as raised:
        channel(host).unary_unary(f"/{SERVICE}/Fail")(b"x", timeout=10)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert raised.value.details() == "no such thing: x"


def test_a_cancelled_call_is_cancelled_on_the_instance(
    gw: RunningGateway, echo: tuple[EchoServicer, int, Path], channel: Callable[[str], grpc.Channel]
) -> None:
    servicer = echo[0]
    servicer.cancelled.clear()
    host = serve(gw, Endpoint("127.0.0.1", echo[1]))
    call = channel(host).unary_stream(f"/{SERVICE}/Count")(b"100000000", timeout=30)
    next(call)
    call.cancel()
    assert servicer.cancelled.wait(10)
    wait_for(lambda: gw.in_flight("echo-00001", Endpoint("127.0.0.1", echo[1])) == 0)


def test_a_call_to_a_revision_with_no_instance_is_held_until_one_is_ready(
    gw: RunningGateway, echo: tuple[EchoServicer, int, Path], channel: Callable[[str], grpc.Channel]
) -> None:
    host = serve(gw, None)
    future = channel(host).unary_unary(f"/{SERVICE}/Say").future(b"cold", timeout=10)
    wait_for(lambda: gw.cold == [RevisionKey(NS, "echo-00001")])
    assert not future.done()
    endpoint = Endpoint("127.0.0.1", echo[1])
    gw.call(gw.gateway.set_endpoints, RevisionKey(NS, "echo-00001"), [endpoint])
    assert future.result(10) == b"cold"


def test_an_unknown_host_is_answered_404(
    gw: RunningGateway, channel: Callable[[str], grpc.Channel]
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        channel("nobody.default.localhost").unary_unary(f"/{SERVICE}/Say")(b"x", timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED  # gRPC's reading of 404
    assert "404" in (raised.value.details() or "")


def test_no_response_head_within_the_first_byte_limit_is_a_504(
    gw: RunningGateway, channel: Callable[[str], grpc.Channel]
) -> None:
    host = serve(gw, None, timeout=0.2)
    with pytest.raises(grpc.RpcError) as raised:
        channel(host).unary_unary(f"/{SERVICE}/Say")(b"x", timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE  # gRPC's reading of 504
    assert "504" in (raised.value.details() or "")


def test_an_http1_client_gets_a_grpc_reply_body_but_not_its_trailers(
    gw: RunningGateway, echo: tuple[EchoServicer, int, Path]
) -> None:
    """As ``curl`` without ``--http2`` through Knative's ingress: ``TE: trailers`` goes
    on (gRPC servers refuse a call without it), the length-prefixed reply comes back
    chunked, and the trailers (``grpc-status``, ``echo-size``) stay behind."""
    host = serve(gw, Endpoint("127.0.0.1", echo[1]))
    with gw.client(host) as client:
        answer = client.post(
            f"/{SERVICE}/Say",
            content=b"\x00\x00\x00\x00\x02hi",
            headers={"content-type": "application/grpc", "te": "trailers"},
        )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/grpc"
    assert answer.content == b"\x00\x00\x00\x00\x02hi"
    assert "grpc-status" not in answer.headers
    assert "echo-size" not in answer.headers


def test_plain_http1_still_works_on_the_same_port(gw: RunningGateway) -> None:
    """The preface check must not take HTTP/1.1 requests for HTTP/2 ones."""
    with httpx2.Client(base_url=gw.url, headers={"Host": "nobody.default.localhost"}) as client:
        assert client.get("/").status_code == 404


class RawH2:
    """A bare HTTP/2 client (the ``h2`` state machine over a blocking socket), to see
    frames a gRPC client hides. A context manager: the socket closes at the end."""

    def __enter__(self) -> "RawH2":
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.h2 = h2.connection.H2Connection()
        self.h2.initiate_connection()
        self.sock.sendall(self.h2.data_to_send())

    def events(self) -> list[h2.events.Event]:
        """The events of the next read; a closed connection reads as ``[]``."""
        data = self.sock.recv(1 << 16)
        events = self.h2.receive_data(data) if data else []
        self.sock.sendall(self.h2.data_to_send())
        return events

    def request(
        self, host: str, extra: list[tuple[str, str]] | None = None, *, path: str = "/"
    ) -> int:
        stream_id = self.h2.get_next_available_stream_id()
        head = [(":method", "GET"), (":scheme", "http"), (":path", path), (":authority", host)]
        self.h2.send_headers(stream_id, head + (extra or []), end_stream=True)
        self.sock.sendall(self.h2.data_to_send())
        return stream_id


def test_limits_are_advertised_and_an_oversized_header_block_ends_the_connection(
    gw: RunningGateway,
) -> None:
    with RawH2(gw.gateway.port) as client:
        first = client.events()
        settings = next(e for e in first if isinstance(e, h2.events.RemoteSettingsChanged))
        advertised = {code: change.new_value for code, change in settings.changed_settings.items()}
        assert advertised[SettingCodes.MAX_CONCURRENT_STREAMS] == 250
        assert advertised[SettingCodes.MAX_HEADER_LIST_SIZE] == 1 << 20
        # One 3,000-byte header repeated: HPACK sends it once and then by index, so the
        # blocks are small and their decoded lists large.
        repeated = ("x-a", "a" * 3000)
        answered = client.request("nobody.default.localhost", [repeated] * 200)  # ~600 KiB
        seen: list[h2.events.Event] = []
        while not any(isinstance(event, h2.events.StreamEnded) for event in seen):
            seen += client.events()
        # answered: the limit is above h2's own default (64 KiB)
        assert any(isinstance(event, h2.events.ResponseReceived) for event in seen)
        refused = client.request("nobody.default.localhost", [repeated] * 400)  # ~1.2 MiB
        seen = []
        while events := client.events():
            seen += events
    assert not any(isinstance(event, h2.events.ResponseReceived) for event in seen)
    ended = [event for event in seen if isinstance(event, h2.events.ConnectionTerminated)]
    assert ended[0].error_code == ErrorCodes.ENHANCE_YOUR_CALM  # what h2 says to a bomb
    assert ended[0].last_stream_id == answered < refused


def test_an_idle_http2_connection_is_closed_after_the_keep_alive_timeout(
    start_gateway: Callable[..., RunningGateway],
) -> None:
    gw = start_gateway(keep_alive_timeout=0.2)
    with RawH2(gw.gateway.port) as client:
        while client.events():  # settings, then nothing until the gateway closes it
            pass
    assert gw.call(lambda: len(gw.gateway.state.connections)) == 0
