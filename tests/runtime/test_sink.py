"""``send_event``: what a sink receives, decoded by the official SDK.

A real HTTP server on a loopback port (the standard library's, in a thread) takes the
POST. Aspects: each kind of data arrives as the SDK reads it (a ``list`` as JSON, not
Python's repr), with the attributes and extensions given, ``K_CE_OVERRIDES`` winning;
an attribute the event cannot carry is refused before anything is sent, naming it.
"""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http as binding

from unkai.events.http import InvalidEventError
from unkai.runtime.sink import send_event


class Sink(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Receiver)
        self.received: list[BaseCloudEvent] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class Receiver(BaseHTTPRequestHandler):
    server: Sink

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.received.append(binding.from_binary_event(binding.HTTPMessage(headers, body)))
        self.send_response(202)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    server = Sink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "data", [{"n": 1}, ["a", 1, True, None], "hello, ü", b"\xff\x00", None], ids=repr
)
def test_the_sink_gets_the_data_as_sent(sink: Sink, data: object) -> None:
    status = send_event("com.example.sent", "/tests", data, sink=sink.url)
    assert status == 202
    event = sink.received[-1]
    assert (event.get_type(), event.get_source(), event.get_data()) == (
        "com.example.sent",
        "/tests",
        data,
    )


def test_attributes_extensions_and_overrides_arrive(
    sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("K_CE_OVERRIDES", json.dumps({"extensions": {"team": "b"}}))
    send_event(
        "t", "/s", subject="a b%", id="42", extensions={"team": "a", "n": 3, "on": True},
        sink=sink.url,
    )  # fmt: skip
    event = sink.received[-1]
    assert event.get_attributes() | {"time": None} == {
        "specversion": "1.0", "type": "t", "source": "/s", "id": "42", "subject": "a b%",
        "team": "b", "n": "3", "on": "true", "time": None,
    }  # fmt: skip
    assert event.get_time() is not None


def test_an_attribute_the_event_cannot_carry_is_refused_naming_it(sink: Sink) -> None:
    before = len(sink.received)
    with pytest.raises(InvalidEventError, match="attribute name 'Team'"):
        send_event("t", "/s", extensions={"Team": "a"}, sink=sink.url)
    with pytest.raises(InvalidEventError, match="type must not be empty"):
        send_event("", "/s", sink=sink.url)
    assert len(sink.received) == before
