"""{{name}}: a CloudEvents function.

Unkai calls ``handle`` with each CloudEvent it receives (binary, structured or batched
HTTP). Return a CloudEvent to reply with it, or ``None`` to accept the event silently.
"""

from cloudevents.core.v1.event import CloudEvent


def handle(event: CloudEvent) -> CloudEvent | None:
    data = event.get_data()
    if data is None:
        return None
    if isinstance(data, bytes):  # binary data (data_base64): say how much, not what
        data = {"bytes": len(data)}
    reply = {
        "type": "dev.unkai.{{name}}.reply",
        "source": "/{{name}}",
        "datacontenttype": "application/json",
    }
    return CloudEvent(reply, {"received": data, "from": event.get_source()})
