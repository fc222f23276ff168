"""The ``context`` a two-parameter event handler gets: ``handler(event, context)``.

AWS Lambda passes every handler a context object, and OpenFaaS's Python templates have
the same ``(event, context)`` shape, so code written for them reads a few attributes.
:class:`Context` has those that mean something here, under Lambda's names, and the
request's headers:

* ``function_name``: ``K_SERVICE``; ``function_version``: ``K_REVISION``;
* ``aws_request_id``: the request's ``X-Request-Id`` when a proxy set one, else a UUID;
* ``memory_limit_in_mb``: the container's memory limit (cgroup), ``None`` without one;
* ``get_remaining_time_in_millis()``: until the request times out, counted from its
  arrival (func.yaml's ``deploy.timeout``, else Knative's default of 300 s);
* ``headers``: the request's headers (a case-insensitive mapping).
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from starlette.datastructures import Headers
from starlette.types import Scope

from unkai.api.funcyaml import FuncSpec
from unkai.runtime.environment import environment

KNATIVE_DEFAULT_TIMEOUT: Final = 300  # seconds; Knative's revision-timeout-seconds default
# cgroup v2, then v1; "max" (v2) or a huge number (v1) means no limit.
_MEMORY_LIMIT_FILES: Final = (
    Path("/sys/fs/cgroup/memory.max"),
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
)
_NO_LIMIT: Final = 2**60


@dataclass(frozen=True)
class Context:
    """What one call of ``handler(event, context)`` gets (see the module docstring)."""

    function_name: str
    function_version: str
    memory_limit_in_mb: int | None
    aws_request_id: str
    headers: Headers
    deadline: float = field(repr=False)  # time.monotonic() when the request times out

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class ContextFactory:
    """Makes each request's :class:`Context`; what is the same for all is read once."""

    def __init__(self, spec: FuncSpec) -> None:
        env = environment(spec, os.environ)  # as the process has it, defaults included
        self._name = env["K_SERVICE"]
        self._version = env["K_REVISION"]
        self._timeout = spec.deploy.timeout or KNATIVE_DEFAULT_TIMEOUT
        self._memory = memory_limit_in_mb()

    def __call__(self, scope: Scope, arrived: float) -> Context:
        headers = Headers(scope=scope)
        return Context(
            function_name=self._name,
            function_version=self._version,
            memory_limit_in_mb=self._memory,
            aws_request_id=headers.get("x-request-id") or str(uuid.uuid4()),
            headers=headers,
            deadline=arrived + self._timeout,
        )


def memory_limit_in_mb() -> int | None:
    """The memory limit of this process's container, in MiB; ``None`` if it has none."""
    for path in _MEMORY_LIMIT_FILES:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < _NO_LIMIT:
            return int(text) // 2**20
        return None
    return None
