"""The last log lines of a revision's pods, for a deploy that failed.

A failing condition says *that* the function did not start (``ExitCode1``,
``CrashLoopBackOff``, a probe that never passed); the function's own output says *why*
(a traceback, a missing setting). On a cluster the user would otherwise need kubectl
and the pods' names to read it, so a failed deploy reads it for them through the Pods
API, as ``kubectl logs -l serving.knative.dev/revision=NAME -c user-container --tail``
would: pods labelled with the revision, container ``user-container`` (where Knative
runs the user's image; ``unkai up``'s Pod view names it the same).

Reading logs is a courtesy on the way to an error: a refusal (RBAC may allow deploying
but not reading logs) becomes a line saying so, never an error of its own.
"""

from __future__ import annotations

from typing import Any, Final

import httpx2
import lightkube
from lightkube.core.exceptions import ApiError
from lightkube.resources.core_v1 import Pod

CONTAINER: Final = "user-container"
REVISION_LABEL: Final = "serving.knative.dev/revision"
LINES: Final = 10
"""Lines per pod: enough for a Python traceback's end, short enough for a terminal."""
PODS: Final = 2
"""Pods read: the replicas of one revision fail alike."""


def last_lines(api: lightkube.Client, revision: str, *, namespace: str) -> list[str]:
    """What to add to a deploy's failure about ``revision``'s pods: for each of the first
    :data:`PODS`, a heading and its last :data:`LINES` lines; nothing when it has no pod
    or the pods wrote nothing."""
    selector: dict[str, Any] = {REVISION_LABEL: revision}
    try:
        listed = api.list(Pod, namespace=namespace, labels=selector)
        pods = sorted(str(pod.metadata.name) for pod in listed if pod.metadata is not None)
    except (ApiError, httpx2.HTTPStatusError) as error:
        return [f"(the pods of {revision} cannot be listed: {_why(error)})"]
    except httpx2.TransportError:
        return []
    said: list[str] = []
    for name in pods[:PODS]:
        try:
            lines = list(
                api.log(name, namespace=namespace, container=CONTAINER, tail_lines=LINES,
                        newlines=False)
            )  # fmt: skip
        except (ApiError, httpx2.HTTPStatusError) as error:
            said.append(f"(the log of pod {name} cannot be read: {_why(error)})")
            continue
        except httpx2.TransportError:
            continue
        said += shown(name, lines)
    return said


def shown(pod: str, lines: list[str]) -> list[str]:
    """``lines`` of ``pod`` under a heading, indented; nothing when there are none."""
    kept = [line.rstrip() for line in lines[-LINES:]]
    while kept and not kept[-1]:
        kept.pop()
    if not kept:
        return []
    return [f"Last lines of pod {pod} ({CONTAINER}):", *(f"  {line}" for line in kept)]


def _why(error: ApiError | httpx2.HTTPStatusError) -> str:
    """The API's own message (a ``Status``), else the HTTP status line."""
    if isinstance(error, ApiError) and error.status.message:
        return error.status.message
    response = error.response
    return f"{response.status_code} {response.reason_phrase}"
