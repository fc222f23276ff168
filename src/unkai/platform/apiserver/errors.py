"""API errors as Kubernetes ``Status`` objects, so kubectl and client libraries print them.

Every refusal of the service layer is an :class:`ApiError` whose ``status`` is the exact
body the HTTP layer sends. The constructors below keep the messages word for word as
the Kubernetes API server writes them (clients and people grep for these).
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Sequence
from typing import Any

from unkai.api.yamlsource import Problem
from unkai.errors import UserError


class ApiError(UserError):
    """A request refused with a Kubernetes ``Status`` (``code`` is the HTTP status)."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    @property
    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


_MODIFIED = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def _details(group: str, kind: str, name: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {"group": group, "kind": kind}
    if name is not None:
        details["name"] = name
    return details


def not_found(*, group: str, plural: str, name: str) -> ApiError:
    what = f"{plural}.{group}" if group else plural
    return ApiError(
        404, "NotFound", f'{what} "{name}" not found', details=_details(group, plural, name)
    )


def already_exists(*, group: str, plural: str, name: str) -> ApiError:
    what = f"{plural}.{group}" if group else plural
    return ApiError(
        409,
        "AlreadyExists",
        f'{what} "{name}" already exists',
        details=_details(group, plural, name),
    )


def conflict(*, group: str, plural: str, name: str, why: str | None = None) -> ApiError:
    what = f"{plural}.{group}" if group else plural
    why = why or _MODIFIED
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {what} "{name}": {why}',
        details=_details(group, plural, name),
    )


def invalid(*, group: str, kind: str, name: str, problems: Sequence[Problem]) -> ApiError:
    """422 naming each bad field, as ``Kind.group "name" is invalid: field: message``."""
    what = f"{kind}.{group}" if group else kind
    parts = [
        f"{problem.field}: {problem.message}" if problem.path else problem.message
        for problem in problems
    ]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details = _details(group, kind, name)
    details["causes"] = [
        {"reason": "FieldValueInvalid", "message": problem.message, "field": problem.field}
        for problem in problems
    ]
    return ApiError(422, "Invalid", f'{what} "{name}" is invalid: {joined}', details=details)


def denied(
    *, webhook: str, group: str, kind: str, name: str, problems: Sequence[Problem]
) -> ApiError:
    """400 as Kubernetes answers a validating webhook's refusal, worded as Knative's
    ``FieldError``: each message first, then its field path, one per line."""
    lines = "\n".join(
        f"{problem.message}: {problem.field}" if problem.path else problem.message
        for problem in problems
    )
    details = _details(group, kind, name)
    details["causes"] = [
        {"reason": "FieldValueInvalid", "message": problem.message, "field": problem.field}
        for problem in problems
    ]
    message = f'admission webhook "{webhook}" denied the request: validation failed: {lines}'
    return ApiError(400, "BadRequest", message, details=details)


def forbidden(*, group: str, plural: str, name: str, why: str) -> ApiError:
    what = f"{plural}.{group}" if group else plural
    return ApiError(
        403,
        "Forbidden",
        f'{what} "{name}" is forbidden: {why}',
        details=_details(group, plural, name),
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def too_large(limit: int) -> ApiError:
    return ApiError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {limit}")


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def unsupported_media_type(content_type: str, accepted: Sequence[str]) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{', '.join(accepted)}",
        details={"causes": [{"reason": "UnexpectedServerResponse", "message": content_type}]},
    )


def method_not_allowed(verb: str, resource: str) -> ApiError:
    return ApiError(
        405,
        "MethodNotAllowed",
        f"the server does not allow this method on the requested resource ({verb} {resource})",
    )


def not_acceptable(accept: str) -> ApiError:
    return ApiError(406, "NotAcceptable", f"only application/json is served here, not {accept}")


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def route_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def insufficient_storage(error: BaseException) -> ApiError | None:
    """507 for a write the data disk has no room for (SQLite's ``SQLITE_FULL``, or
    ``ENOSPC``/``EDQUOT`` from a file write), saying so; ``None`` for any other error.
    Reads go on working meanwhile."""
    full = (
        error.sqlite_errorcode == sqlite3.SQLITE_FULL
        if isinstance(error, sqlite3.Error)
        else isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)
    )
    if not full:
        return None
    return ApiError(
        507,
        "InsufficientStorage",
        f"the platform's data disk is full, nothing was changed ({error}); "
        "free space on the disk of the data dir and retry",
    )
