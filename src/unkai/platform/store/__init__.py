"""SQLite persistence for API objects: revisions, optimistic concurrency, watch.

The store knows nothing of Kubernetes semantics beyond ``metadata.resourceVersion``;
the API server's service layer (``unkai.platform.apiserver``) builds those on top.
"""

from unkai.platform.store.errors import (
    AlreadyExistsError,
    ConflictError,
    ExpiredError,
    NotFoundError,
    StoreError,
)
from unkai.platform.store.events import Event, EventType, Hub, Key, Watch
from unkai.platform.store.sqlite import Store

__all__ = [
    "AlreadyExistsError",
    "ConflictError",
    "Event",
    "EventType",
    "ExpiredError",
    "Hub",
    "Key",
    "NotFoundError",
    "Store",
    "StoreError",
    "Watch",
]
