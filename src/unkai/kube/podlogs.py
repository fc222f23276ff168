"""The log lines of a service's pods: the last ones for a deploy that failed, all of
them for ``unkai logs`` against a cluster.

A failing condition says *that* the function did not start (``ExitCode1``,
``CrashLoopBackOff``, a probe that never passed); the function's own output says *why*
(a traceback, a missing setting). On a cluster the user would otherwise need kubectl
and the pods' names to read it, so a failed deploy reads it for them through the Pods
API, as ``kubectl logs -l serving.knative.dev/revision=NAME -c user-container --tail``
would: pods labelled with the revision, container ``user-container`` (where Knative
runs the user's image; ``unkai up``'s Pod view names it the same).

Reading logs is a courtesy on the way to an error: a refusal (RBAC may allow deploying
but not reading logs) becomes a line saying so, never an error of its own. For ``unkai
logs`` (:func:`pods_of`, :func:`lines_of`) it is the command's point, so there the
API's errors go to the caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import httpx2
import lightkube
from lightkube.core.exceptions import ApiError
from lightkube.resources.core_v1 import Pod

CONTAINER: Final = "user-container"
REVISION_LABEL: Final = "serving.knative.dev/revision"
SERVICE_LABEL: Final = "serving.knative.dev/service"
LINES: Final = 10
"""Lines per pod: enough for a Python traceback's end, short enough for a terminal."""
PODS: Final = 2
"""Pods read: the replicas of one revision fail alike."""


def last_lines(api: lightkube.Client, revision: str, *, namespace: str) -> list[str]:
    """What to add to a deploy's failure about ``revision``'s pods: for each of the first
    :data:`PODS`, a heading and its last :data:`LINES` lines; nothing when it has no pod
    or the pods wrote nothing."""
    try:
        pods = _listed(api, {REVISION_LABEL: revision}, namespace=namespace)
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


def pods_of(
    api: lightkube.Client, service: str, *, namespace: str, revision: str | None = None
) -> list[str]:
    """The names of ``service``'s pods (only ``revision``'s, when given), sorted: those
    Knative labels with it, as ``kubectl logs -l`` would select them."""
    selector = {REVISION_LABEL: revision} if revision else {SERVICE_LABEL: service}
    return _listed(api, selector, namespace=namespace)


def lines_of(
    api: lightkube.Client, pod: str, *, namespace: str, follow: bool = False
) -> Iterator[str]:
    """What ``pod``'s ``user-container`` wrote, line by line; with ``follow``, new lines
    as they come until the container ends."""
    return api.log(pod, namespace=namespace, container=CONTAINER, follow=follow, newlines=False)


def _listed(api: lightkube.Client, selector: dict[str, Any], *, namespace: str) -> list[str]:
    listed = api.list(Pod, namespace=namespace, labels=selector)
    return sorted(str(pod.metadata.name) for pod in listed if pod.metadata is not None)


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
