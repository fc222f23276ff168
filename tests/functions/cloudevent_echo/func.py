"""Replies to com.example.ping with a pong; ignores com.example.ignore; fails on .boom;
returns a com.example.mirror event as it got it."""

from cloudevents.core.v1.event import CloudEvent


def handle(event: CloudEvent) -> CloudEvent | None:
    if event.get_type() == "com.example.ignore":
        return None
    if event.get_type() == "com.example.mirror":
        return event
    if event.get_type() == "com.example.boom":
        raise RuntimeError("boom")
    attributes = {"type": "com.example.pong", "source": "/cloudevent-echo"}
    attributes["datacontenttype"] = "application/json"
    return CloudEvent(attributes, {"in_reply_to": event.get_id(), "got": event.get_data()})
