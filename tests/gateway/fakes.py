"""Stand-ins for the event loop, the clock and the sockets, for unit tests of the gateway.

:class:`FakeLoop` is the loop and the clock at once: time moves only when a test calls
:meth:`FakeLoop.advance`, which fires the timers that fall due on the way, in order
(uvicorn's ``MockLoop`` in its protocol tests). :class:`FakeTransport` records what is
written to it (uvicorn's ``MockTransport``). :class:`Harness` wires a client
connection to a gateway state, one revision and, when asked, one instance reached
over a pooled connection, so a test can feed bytes in at one end and read what comes
out at the other at exact times, with no socket, thread or sleep.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.gateway.conftest import NS, RecordingMeter

from unkai.platform.contracts import RevisionKey
from unkai.platform.gateway import Endpoint, GatewayConfig, RevisionSettings
from unkai.platform.gateway.activator import RevisionThrottle
from unkai.platform.gateway.protocol import ClientConnection
from unkai.platform.gateway.routing import CompiledRoute, Router
from unkai.platform.gateway.state import GatewayState
from unkai.platform.gateway.upstream import Backend, UpstreamConnection

HOST = "hello.default.localhost"
KEY = RevisionKey(NS, "hello-00001")


@dataclass(eq=False)
class FakeTimer:
    when: float
    callback: Callable[..., object]
    args: tuple[Any, ...]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    """An event loop whose clock starts at ``now`` and moves only in :meth:`advance`."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self._timers: list[FakeTimer] = []

    def clock(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> FakeTimer:
        timer = FakeTimer(self.now + delay, callback, args)
        self._timers.append(timer)
        return timer

    @property
    def timers(self) -> list[float]:
        """When the armed timers fire, earliest first."""
        return sorted(timer.when for timer in self._timers if not timer.cancelled)

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds``, firing timers as their time comes."""
        end = self.now + seconds
        while True:
            due = [t for t in self._timers if not t.cancelled and t.when <= end]
            if not due:
                break
            timer = min(due, key=lambda t: t.when)
            self._timers.remove(timer)
            self.now = max(self.now, timer.when)
            timer.callback(*timer.args)
        self.now = end


class FakeTransport:
    """A socket's transport: keeps what is written, and whether it was closed."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False
        self.reading = True

    def get_extra_info(self, name: str) -> Any:
        return ("203.0.113.7", 50000) if name == "peername" else None

    def write(self, data: bytes) -> None:
        assert not self.closed, "write after close"
        self.written += data

    def take(self) -> bytes:
        """What was written since the last call."""
        data, self.written = bytes(self.written), bytearray()
        return data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True


@dataclass(eq=False)
class FakeWaiter:
    """A held request as the throttle sees it: records where it was placed."""

    held: bool = False
    placed_on: Backend | None = None
    abandoned: bool = False

    def dispatch(self, backend: Backend) -> None:
        self.placed_on = backend

    def abandon(self) -> None:
        self.abandoned = True


def throttle(loop: FakeLoop, *, max_held: int = 10_000, **settings: Any) -> RevisionThrottle:
    """One revision's throttle on ``loop``, configured with ``settings``."""
    revision = RevisionThrottle(
        KEY, loop, loop.clock, max_held=max_held, on_cold=lambda key: None, meter=None
    )
    revision.configure(RevisionSettings(**settings))
    return revision


@dataclass
class Harness:
    """A client connection to ``HOST``, routed to one revision, on a :class:`FakeLoop`."""

    loop: FakeLoop = field(default_factory=FakeLoop)
    meter: RecordingMeter = field(default_factory=RecordingMeter)
    client: FakeTransport = field(default_factory=FakeTransport)
    instance: FakeTransport = field(default_factory=FakeTransport)
    config: GatewayConfig = field(default_factory=GatewayConfig)

    def __post_init__(self) -> None:
        config = self.config
        self.throttle = RevisionThrottle(
            KEY, self.loop, self.loop.clock, max_held=10, on_cold=lambda key: None, meter=self.meter
        )
        router: Router[RevisionThrottle] = Router(lambda key: self.throttle)
        router.hosts = {HOST.encode(): CompiledRoute([(self.throttle, 100)], {})}
        self.state = GatewayState(config, router, self.loop.clock)
        self.connection = ClientConnection(self.state, self.loop)
        self.connection.connection_made(self.client)

    def connect(self) -> tuple[ClientConnection, FakeTransport]:
        """Another client connection to the same gateway state."""
        transport = FakeTransport()
        connection = ClientConnection(self.state, self.loop)
        connection.connection_made(transport)
        return connection, transport

    def configure(self, **settings: Any) -> None:
        self.throttle.configure(RevisionSettings(**settings))

    def instance_ready(self) -> UpstreamConnection:
        """Make one instance ready, with a pooled connection whose bytes go to
        :attr:`instance`; feed its answers to the returned connection."""
        endpoint = Endpoint("127.0.0.1", 8012)
        backend = self.throttle.backends[endpoint] = Backend(endpoint, self.config)
        upstream = UpstreamConnection(backend)
        upstream.connection_made(self.instance)
        backend.give_back(upstream, self.loop.now)
        self.throttle.set_endpoints([endpoint], self.config)  # held requests go now
        return upstream

    def send(self, path: str = "/") -> None:
        """A client's GET request for ``path``."""
        self.connection.data_received(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
