"""What a store operation can refuse, independent of HTTP.

::

    StoreError
     ├── NotFoundError        the key holds no object
     ├── AlreadyExistsError   create on a key that holds one
     ├── ConflictError        the caller's resourceVersion is not the current one
     └── ExpiredError         a watch asked for history the change log no longer keeps

The API server maps each to a Kubernetes ``Status`` (404, 409, 409, 410).
"""

from __future__ import annotations

from unkai.errors import TargetError


class StoreError(TargetError):
    """Base of every refusal by :class:`unkai.platform.store.Store`."""


class NotFoundError(StoreError):
    """The key holds no object."""


class AlreadyExistsError(StoreError):
    """A create found an object already stored under the key."""


class ConflictError(StoreError):
    """The object changed since the caller read it (optimistic concurrency)."""


class ExpiredError(StoreError):
    """The requested resourceVersion is older than the kept change log."""

    def __init__(self, requested: int, oldest: int) -> None:
        self.requested = requested
        self.oldest = oldest
        super().__init__(f"too old resource version: {requested} ({oldest})")
