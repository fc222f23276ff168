"""What each part of the request path needs of another, as typing-only Protocols.

The request path is callback-driven: the client connection calls into its exchange,
the exchange into the instance connection, and both the instance connection and the
deadline queue call back into the exchange. Each lower part names here the few
attributes and calls it uses, instead of importing the class above it; so the modules
import downwards only (``server → protocol → exchange → state → activator → breaker
→ upstream, timeouts``, with this module and the value modules below them all), and a
unit test can stand in for any part with a small fake. Protocols cost nothing at run
time: calls go straight to the concrete classes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence, Sized
from typing import Any, Literal, Protocol

from unkai.platform.gateway.headers import Body, Headers
from unkai.platform.gateway.websocket import Tunnel

Clock = Callable[[], float]
"""Seconds on a monotonic clock: ``time.monotonic`` (the autoscaler's clock too)."""

PauseReason = Literal["buffer", "instance", "pipeline"]
"""Why reading from a client is paused; each reason clears only itself."""


class Cancellable(Protocol):
    """A timer handle."""

    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """The one thing the timers need of the event loop (a fake one in unit tests)."""

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: Any
    ) -> Cancellable: ...


class Ending(Protocol):
    """An exchange as its client connection sees it when it ends."""

    @property
    def close(self) -> bool:
        """The client connection closes after this exchange."""


class ClientSide(Protocol):
    """What an exchange needs of its client connection (``protocol.ClientConnection``)."""

    tunnel: Tunnel | None

    @property
    def transport(self) -> asyncio.Transport: ...

    @property
    def loop(self) -> Scheduler: ...

    @property
    def paused(self) -> Sized:
        """Why reading is paused; empty when it is not."""

    @property
    def writing_paused(self) -> bool: ...

    def write(self, data: bytes) -> None: ...

    def pause_reading(self, reason: PauseReason) -> None: ...

    def resume_reading(self, *reasons: PauseReason) -> None: ...

    def exchange_done(self, exchange: Ending, now: float) -> None:
        """The first exchange in line is over (both ways) at ``now``."""


class Connection(Protocol):
    """A client connection as the server sees it: to close when idle, too slow, shed,
    or when stopping."""

    @property
    def transport(self) -> asyncio.Transport: ...

    @property
    def exchanges(self) -> Sized:
        """Its exchanges not yet over; empty when idle."""

    def shutdown(self) -> None:
        """The gateway stops: what is in flight is answered with ``Connection: close``."""


class ResponseSink(Protocol):
    """What an instance connection (``upstream.UpstreamConnection``) needs of the exchange
    it carries: where the response goes, and how the instance's backpressure reaches the
    client."""

    @property
    def tunnel(self) -> Tunnel | None:
        """Set once the instance switched protocols: bytes are spliced from then on."""

    @property
    def may_pass_unchanged(self) -> bool:
        """The response may go to the client byte for byte, when its head allows it
        (an HTTP/1.1 keep-alive exchange, not HEAD, not an upgrade, the gateway not
        stopping)."""

    @property
    def response_started(self) -> bool: ...

    def response_head(self, status: int, reason: bytes, headers: Headers) -> Body:
        """The parsed head, to rebuild for the client; returns how the body comes."""

    def response_body(self, data: bytes) -> None: ...

    def response_passed(self, data: bytes, status: int, *, done: bool) -> None:
        """Bytes of a response passed on unchanged; ``done``: they end it."""

    def flush_response(self) -> None:
        """Write what the last read brought, in one write."""

    def response_complete(self, *, reusable: bool) -> None: ...

    def switch_protocols(self, rest: bytes) -> None: ...

    def instance_failed(self, reason: str, *, retry: bool = False) -> None: ...

    def pause_request(self) -> None:
        """The instance cannot take more of the request: stop reading the client."""

    def resume_request(self) -> None: ...


class Deadlined(Protocol):
    """A request in a revision's first-byte deadline queue (``timeouts``).

    ``deadline`` is the queue's bookkeeping: non-zero while the request is pending.
    """

    deadline: float

    def timed_out(self, body: bytes) -> None:
        """No first byte in time: answer 504 with ``body``."""


class LocalResponse(Protocol):
    """What a :class:`LocalApp` answers: a status, headers and a whole body."""

    @property
    def status(self) -> int: ...

    @property
    def body(self) -> bytes: ...

    @property
    def headers(self) -> Sequence[tuple[str, str]]: ...


class LocalApp(Protocol):
    """A handler inside the platform for requests whose host names no route (broker
    ingress): asked only off the routed path, so routed requests pay nothing for it."""

    @property
    def max_body(self) -> int: ...

    def claims(self, host: bytes, path: bytes) -> bool: ...

    async def handle(
        self, method: bytes, path: bytes, headers: Sequence[tuple[bytes, bytes]], body: bytes
    ) -> LocalResponse: ...
