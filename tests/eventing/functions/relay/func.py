"""A function for eventing tests: answers each order with a reply event naming it."""

from cloudevents.core.v1.event import CloudEvent


def handle(event):
    attributes = {"type": "com.example.relayed", "source": "/relay",
                  "datacontenttype": "application/json"}  # fmt: skip
    return CloudEvent(attributes, {"order": event.get_id()})
