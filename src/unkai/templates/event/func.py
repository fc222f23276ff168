"""{{name}}: a JSON-in, JSON-out function (the AWS Lambda / SeBS handler shape).

The request body is parsed as JSON and passed as ``event``; the returned dict is sent
back as JSON.
"""

from typing import Any


def handler(event: dict[str, Any]) -> dict[str, Any]:
    numbers = [float(n) for n in event.get("numbers", [])]
    return {"count": len(numbers), "sum": sum(numbers)}
