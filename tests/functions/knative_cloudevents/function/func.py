"""The shape of Knative func's Python cloudevents template: the middleware has decoded
the request's CloudEvent into scope["event"], and send() takes a CloudEvent.

By the event's type:
  (any other)            -> the template's reply, function.response {"message": "OK"},
                            with send(event): structured mode
  com.example.binary     -> the same reply with send.binary(event)
  com.example.status     -> the reply with status 201 (send(event, 201))
  com.example.raw        -> a plain HTTP reply through send.http(message)
  com.example.fail       -> raises
"""

import logging

from cloudevents.core.v1.event import CloudEvent


def new():
    return Function()


class Function:
    async def handle(self, scope, receive, send):
        logging.info("Request Received")
        request = scope["event"]
        response = CloudEvent(
            attributes={
                "type": "function.response",
                "source": "function",
                "id": f"response-{request.get_id() or 'unknown'}",
            },
            data={"message": "OK", "got": request.get_data()},
        )
        kind = request.get_type()
        if kind == "com.example.binary":
            await send.binary(response)
        elif kind == "com.example.status":
            await send(response, 201)
        elif kind == "com.example.raw":
            await send.http(
                {"type": "http.response.start", "status": 200, "headers": [(b"x-raw", b"1")]}
            )
            await send.http({"type": "http.response.body", "body": b"raw"})
        elif kind == "com.example.fail":
            raise RuntimeError("the function failed")
        else:
            await send(response)

    def alive(self):
        return True, "Alive"

    def ready(self):
        return True, "Ready"
