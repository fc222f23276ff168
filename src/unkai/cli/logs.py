"""``unkai logs``: what a service's instances wrote, from the local platform's log files,
or from a cluster's pods.

Instances of ``unkai up`` write to files in its data dir (one per instance, kept after
the instance is gone), read through :mod:`unkai.platform.logs`, together with the
platform's own lines about them (``platform``: failed starts, crashes with their exit
codes, a revision it stopped retrying); ``-f`` keeps following, new instances
included, until Ctrl-C. When there are none, the platform (if it is running) tells a
service that has not logged yet from one that does not exist.

The runtime logs JSON lines (one event per line, as log collectors want); people get
them as time, level and message, with a traceback as the multi-line text Python
prints. ``-o json`` gives one JSON object per line instead (the record as written and
its ``instance``), for scripts.

With a cluster as the target (``--context``, ``UNKAI_CONTEXT`` or ``unkai context use``,
as for the other commands) the lines are the service's pods' (container
``user-container``, where Knative runs the function), read through the Pods API
(:mod:`unkai.kube.podlogs`), as ``kubectl logs -l serving.knative.dev/service=NAME -c
user-container`` would, each line under its pod's name; ``-f`` follows the pods there
when it starts. A service scaled to zero has no pods, so nothing to read: its lines
are the cluster's log collector's business then, and the command says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
from collections.abc import Callable
from pathlib import Path

import click
import httpx2
import lightkube
from lightkube.core.exceptions import ApiError
from rich.markup import escape

from unkai.cli import console, target
from unkai.cli.target import data_dir_option, platform_files
from unkai.kube import client, kinds, podlogs
from unkai.platform import state
from unkai.platform.logs import LogLine, ServiceLogs, readable, record

LEVEL_STYLE = {"warning": "yellow", "error": "bold red", "critical": "bold red"}


def _show_text(line: LogLine) -> None:
    shown = readable(line)
    when = f"{shown.time[11:23]} " if len(shown.time) >= 23 else ""
    level = ""
    if shown.level:
        style = LEVEL_STYLE.get(shown.level, "dim")
        level = f"[{style}]{escape(shown.level.upper())}[/] "
    console.out.print(f"[dim]{escape(shown.instance)} {when}[/]{level}{escape(shown.message)}")
    for detail in shown.detail:
        console.out.print(f"    {detail}", markup=False)


def _show_json(line: LogLine) -> None:
    console.out.print(json.dumps(record(line)), markup=False)


@click.command()
@click.argument("name")
@click.option("--revision", "-r", help="Only this revision's instances.")
@click.option("--follow", "-f", "keep_following", is_flag=True, help="Keep printing new lines.")
@click.option(
    "--namespace", "-n", default=None, help="Namespace (default: the context's, or default)."
)
@click.option(
    "--context",
    default=None,
    help="Kubeconfig context: read a cluster's pods (default: UNKAI_CONTEXT, else `unkai"
    " context use`'s, else the local platform's files).",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: for people (tracebacks as text); json: one JSON object a line.",
)
@data_dir_option
def logs(
    name: str,
    revision: str | None,
    keep_following: bool,
    namespace: str | None,
    context: str | None,
    output: str,
    data_dir: Path | None,
) -> None:
    """Show the output of service NAME's instances (or, on a cluster, pods)."""
    show = _show_json if output == "json" else _show_text
    if not target.choice(context).local:
        api = target.connect(context, namespace)
        with target.api_errors(subject=f"the logs of {name}"):
            from_pods(api, name, namespace=api.namespace, revision=revision,
                      follow=keep_following, show=show)  # fmt: skip
        return
    namespace = namespace or "default"
    platform = platform_files(data_dir)
    service = ServiceLogs(platform, namespace=namespace, service=name, revision=revision)
    found = service.exist()
    if not found and _no_such_service(platform, name=name, namespace=namespace):
        raise console.Failure(
            f"there is no service {name} in namespace {namespace} (see `unkai list -n {namespace}`)"
        )
    if not keep_following:
        if not found:
            scope = f"revision {revision} of {name}" if revision else name
            raise console.Failure(f"no logs for {scope} in namespace {namespace} (yet)")
        for line in service.lines():
            show(line)
        return

    async def stream() -> None:
        async for line in service.follow():
            show(line)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(stream())


def from_pods(
    api: lightkube.Client,
    name: str,
    *,
    namespace: str,
    revision: str | None,
    follow: bool,
    show: Callable[[LogLine], None],
) -> None:
    """Show what service ``name``'s pods (``revision``'s only, when given) wrote, each
    line as its pod's; with ``follow``, until every pod's stream ends or Ctrl-C. API
    errors reach the caller."""
    pods = podlogs.pods_of(api, name, namespace=namespace, revision=revision)
    if not pods:
        if _missing(api, name):
            raise console.Failure(f"there is no service {name} in namespace {namespace}")
        scope = f"revision {revision} of {name}" if revision else name
        raise console.Failure(
            f"{scope} has no pods in namespace {namespace} (scaled to zero?): nothing to read"
        )
    if not follow:
        for pod in pods:
            for text in podlogs.lines_of(api, pod, namespace=namespace):
                show(LogLine(pod, text))
        return
    _follow(api, pods, namespace=namespace, show=show)


def _follow(
    api: lightkube.Client, pods: list[str], *, namespace: str, show: Callable[[LogLine], None]
) -> None:
    """Each pod's stream on a thread of its own (the Pods API streams one pod a
    request), shown from this one as lines arrive; a stream's error ends the command."""
    lines: queue.Queue[LogLine | BaseException | None] = queue.Queue()

    def read(pod: str) -> None:
        try:
            for text in podlogs.lines_of(api, pod, namespace=namespace, follow=True):
                lines.put(LogLine(pod, text))
        except (ApiError, httpx2.HTTPError) as error:
            lines.put(error)
        lines.put(None)

    for pod in pods:
        threading.Thread(target=read, args=(pod,), daemon=True, name=f"logs-{pod}").start()
    open_streams = len(pods)
    with contextlib.suppress(KeyboardInterrupt):
        while open_streams:
            item = lines.get()
            if item is None:
                open_streams -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                show(item)


def _no_such_service(platform: state.PlatformDir, *, name: str, namespace: str) -> bool:
    """Whether the running platform says service ``name`` does not exist; ``False`` when
    no platform runs or it cannot be asked."""
    if platform.running() is None:
        return False
    api = client.connect(context=None, local=platform.kubeconfig, namespace=namespace)
    try:
        return _missing(api, name)
    except httpx2.TransportError:
        return False
    finally:
        api.close()


def _missing(api: lightkube.Client, name: str) -> bool:
    """Whether the API says service ``name`` does not exist (its other errors: no)."""
    try:
        api.get(kinds.resource(kinds.SERVICE), name)
    except ApiError as error:
        return error.status.code == 404
    return False
