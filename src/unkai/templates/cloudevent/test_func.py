"""Tests for {{name}}, run through the Unkai runtime in-process: `pytest`."""

from pathlib import Path

from cloudevents.core.v1.event import CloudEvent

from unkai.testing import FunctionClient

HERE = Path(__file__).parent


def test_replies_with_what_it_received() -> None:
    event = CloudEvent({"type": "com.example.greet", "source": "/tests"}, {"name": "Ada"})
    with FunctionClient(HERE) as client:
        reply = client.send_event(event)
    assert reply is not None
    assert reply.get_type() == "dev.unkai.{{name}}.reply"
    assert reply.get_datacontenttype() == "application/json"
    assert reply.get_data() == {"received": {"name": "Ada"}, "from": "/tests"}


def test_replies_to_binary_data_with_its_size() -> None:
    attributes = {"type": "com.example.blob", "source": "/tests"}
    event = CloudEvent(attributes | {"datacontenttype": "application/octet-stream"}, b"\x00\x01")
    with FunctionClient(HERE) as client:
        reply = client.send_event(event, mode="structured")  # the data goes as data_base64
    assert reply is not None
    assert reply.get_data() == {"received": {"bytes": 2}, "from": "/tests"}


def test_accepts_an_event_without_data_silently() -> None:
    event = CloudEvent({"type": "com.example.ping", "source": "/tests"})
    with FunctionClient(HERE) as client:
        assert client.send_event(event) is None
