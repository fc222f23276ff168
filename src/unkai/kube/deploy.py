"""Deploying a function directory: pack, manifests, dry run, upload, apply, Triggers, wait.

The sequence behind ``unkai deploy``, with no terminal in it: it talks to the target
through a lightkube client only and says how far it got through a :class:`Progress`
the caller renders (the CLI with rich, tests by recording). It comes in two calls
because packing needs no target: :func:`prepare` loads func.yaml and packs the
directory, so a function that cannot be shipped is refused before any platform is
asked; :func:`deploy` ships it.

The directory is packed into a deterministic bundle (same files, same digest; what
``.funcignore`` names is left out), uploaded unless the platform has it, and applied as
a Knative Service whose image is the bundle's reference, together with exactly the
Triggers ``deploy.subscriptions`` asks for. An unchanged function therefore yields the
same Service and no new revision. The Service and Triggers pass a server-side dry run
before anything is uploaded or changed, so a refused Trigger (or a missing namespace)
leaves the deployed function as it was. While the new revision comes up (a first
install of requirements can take minutes) :meth:`Progress.waiting` says what it waits
for; failure raises :class:`NotReadyError` with the revision's reason and message and
the last lines its pods wrote (:mod:`.podlogs`). :func:`render` gives the manifests
alone, for ``unkai deploy --dry-run``: the same builders, nothing sent.
Deploying again over a Service whose latest revision failed starts the function again
as a new revision (:func:`manifests.restart_stamp`), since the platform stops retrying
a revision that keeps failing. A traffic split made by hand is kept, as Knative keeps
``spec.traffic``, and :func:`split_kept` says what the new revision got and how to send
it everything.

API refusals and connection errors are lightkube's and httpx's own exceptions: the
caller words them (it knows which command was run).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import lightkube
from lightkube.core.exceptions import ApiError

from unkai.api import funcyaml
from unkai.errors import TargetError
from unkai.kube import checks, client, conditions, kinds, manifests, podlogs, sinks, uploads
from unkai.platform import bundles
from unkai.platform.bundles import archive, ignore
from unkai.runtime import concurrency

DEFAULT_TIMEOUT = 600.0
WAIT_WINDOW = 2.0
"""Seconds a Ready=False must last before the wait gives up, as ``kn --wait-window``:
right after a change a child's status can still carry the previous revision's failure
(the Route reconciles after the Configuration), which is not this deploy's verdict."""
"""Seconds to wait for Ready, as ``kn``'s ``--wait-timeout``: room for a first install."""

TRIGGER = kinds.resource(kinds.TRIGGER)


class NotReadyError(TargetError):
    """The new revision failed, or was not Ready in time; the message says what it
    waited for."""


class NoNamespaceError(TargetError):
    """The namespace to deploy to does not exist on the target."""


class Progress(Protocol):
    """How far a deploy got, for the caller to show. Steps do not nest: each ends
    (:meth:`done`, also on failure) before the next begins."""

    def step(self, activity: str) -> None:
        """A long step begins: ``Packing ./hello…``, ``Uploading 3.2 KiB…``."""

    def waiting(self, what: str, elapsed: float) -> None:
        """The new revision is not Ready yet: ``hello-00002: Deploying``, after
        ``elapsed`` seconds of waiting (told at every look, about four a second)."""

    def done(self) -> None:
        """The long step is over."""

    def note(self, line: str) -> None:
        """Something happened that deserves a line: ``Bundled 6 files, …``."""


@dataclass(frozen=True)
class Function:
    """A function directory ready to ship: what func.yaml says, and its bundle."""

    spec: funcyaml.FuncSpec
    bundle: archive.Packed
    one_at_a_time: bool = False
    """Its handler is sync and serves one call at a time (containerConcurrency 1)."""

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.bundle.data).hexdigest()


@dataclass(frozen=True)
class Options:
    namespace: str | None = None
    """-n; else func.yaml's ``deploy.namespace``; else the client's."""
    wait: bool = True
    timeout: float = DEFAULT_TIMEOUT
    image: str | None = None
    """An image already pushed (``unkai build``, see :mod:`unkai.kube.images`) to run
    instead of the bundle: nothing is uploaded, and any cluster can pull it."""


def prepare(directory: Path, progress: Progress) -> Function:
    """Load ``directory``'s func.yaml, check its code (:mod:`.checks`) and pack its
    bundle, refused here (not after an upload) when the platform would refuse it."""
    spec = funcyaml.load(directory)
    checks.check(directory, spec)
    for line in spec.notes:  # Knative func's fields that are read but not applied
        progress.note(line)
    ignore_file = directory / ignore.IGNORE_FILE
    with _step(progress, f"Packing {directory}…"):
        try:
            bundle = archive.packed(directory)
        except archive.BundleError as error:
            raise archive.BundleError(
                f"cannot bundle {directory}: {error}. If the function does not need it, "
                f"leave it out with a line in {ignore_file}"
            ) from None
    summary = f"{bundle.files} files, {size(bundle.size)} ({size(len(bundle.data))} packed)"
    limit = bundles.DEFAULT_MAX_SIZE
    if max(bundle.size, len(bundle.data)) > limit:
        raise archive.BundleError(
            f"the bundle of {directory} is {summary}, more than the platform's limit of "
            f"{size(limit)}: list what the function does not need (data, environments, "
            f"build output) in {ignore_file}"
        )
    progress.note(f"Bundled {summary}")
    return Function(spec, bundle, one_at_a_time=concurrency.one_at_a_time(directory, spec))


def render(
    function: Function, *, namespace: str, image: str | None = None,
    restarted_at: str | None = None, sink_env: dict[str, str] | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The manifests a deploy applies, Service first, then its Triggers (pure: what
    ``--dry-run`` prints is what :func:`deploy` sends). ``image``: one already pushed;
    else the function's bundle reference. ``sink_env``: func.yaml's ``sink`` resolved
    (:mod:`unkai.kube.sinks`, which reads the target)."""
    spec = function.spec
    image = image or bundles.format_reference(
        namespace=namespace, name=spec.name, digest=function.digest
    )
    service = manifests.make_service(
        spec, image=image, namespace=namespace, one_at_a_time=function.one_at_a_time,
        restarted_at=restarted_at, sink_env=sink_env,
    )  # fmt: skip
    return [service, *manifests.make_triggers(spec, namespace=namespace)]


def namespace_of(function: Function, options: Options, default: str) -> str:
    """-n, else func.yaml's ``deploy.namespace``, else the target's ``default``."""
    return options.namespace or function.spec.deploy.namespace or default


def deploy(
    api: lightkube.Client, function: Function, progress: Progress, options: Options
) -> dict[str, Any]:
    """Ship ``function`` through ``api``; the Service as last read (Ready, when waited for)."""
    spec, digest = function.spec, function.digest
    namespace = namespace_of(function, options, api.namespace)
    current = _current(api, spec.name, namespace)
    sink_env = sinks.environment(api, spec.sink, namespace=namespace) if spec.sink else None
    service, *triggers = render(
        function, namespace=namespace, image=options.image,
        restarted_at=manifests.restart_stamp(current, now=datetime.now(UTC)), sink_env=sink_env,
    )  # fmt: skip
    changes = manifests.trigger_changes(triggers, function_triggers(api, spec.name, namespace))
    _dry_run(api, [service, *changes.checks], namespace=namespace)
    if options.image is None:
        with _step(progress, f"Uploading {size(len(function.bundle.data))}…"):
            uploads.upload(api.config, function.bundle.data, namespace=namespace, digest=digest)
    applied = client.to_dict(api.apply(client.to_object(service), force=True))
    generation = applied["metadata"]["generation"]
    shipped = options.image or f"{digest[:19]}…"
    progress.note(
        f"Deployed {spec.name} to namespace {namespace} ({shipped}), generation {generation}"
    )
    _apply_triggers(api, changes, namespace=namespace, progress=progress)
    if not options.wait:
        return applied
    with _step(progress, "Waiting for the new revision…"):
        ready = _wait_ready(
            api, spec.name, namespace=namespace, generation=generation, timeout=options.timeout,
            progress=progress,
        )  # fmt: skip
    for line in split_kept(ready):
        progress.note(line)
    return ready


def split_kept(service: dict[str, Any]) -> list[str]:
    """What to tell after a deploy when the Service's traffic was split by hand: Knative
    keeps a split made with ``spec.traffic`` across new revisions, so the new one may get
    less than all (or none) of it. The lines show the traffic as it now is and how to
    send all of it to the new revision; none when the latest revision has it all."""
    status = service.get("status", {})
    entries = status.get("traffic") or []
    latest = status.get("latestReadyRevisionName")
    share = sum(int(e.get("percent") or 0) for e in entries if e.get("revisionName") == latest)
    if not entries or share == 100:
        return []
    name = service["metadata"]["name"]
    lines = [f"Traffic of {name} stays as it was split (Knative keeps spec.traffic):"]
    for entry in entries:
        following = " (@latest)" if entry.get("latestRevision") else ""
        tag = f"  #{entry['tag']}" if entry.get("tag") else ""
        revision = entry.get("revisionName", "")
        lines.append(f"  {int(entry.get('percent') or 0):>3}%  {revision}{following}{tag}")
    lines.append(
        f"The new revision {latest} gets {share}%. To send it all: "
        f"`unkai traffic {name} --split @latest=100`"
    )
    return lines


def _current(api: lightkube.Client, name: str, namespace: str) -> dict[str, Any] | None:
    """The Service as it is before this deploy, if there is one."""
    try:
        return client.to_dict(api.get(kinds.resource(kinds.SERVICE), name, namespace=namespace))
    except ApiError as error:
        if error.status.code == 404:
            return None
        raise


def function_triggers(
    api: lightkube.Client, name: str, namespace: str | None = None
) -> list[dict[str, Any]]:
    """The Triggers :func:`deploy` made for function ``name`` (they carry its label)."""
    labels: dict[str, Any] = {manifests.FUNCTION_LABEL: name}
    return [client.to_dict(obj) for obj in api.list(TRIGGER, namespace=namespace, labels=labels)]


@contextmanager
def _step(progress: Progress, activity: str) -> Iterator[None]:
    progress.step(activity)
    try:
        yield
    finally:
        progress.done()


def _dry_run(api: lightkube.Client, documents: list[dict[str, Any]], *, namespace: str) -> None:
    """Have the server validate ``documents`` without storing them, so that a refusal (a
    Trigger's filter, a missing namespace) comes before anything is uploaded or changed."""
    try:
        for document in documents:
            api.apply(client.to_object(document), force=True, dry_run=True)
    except ApiError as error:
        details = error.status.details
        if error.status.code == 404 and details is not None and details.kind == "namespaces":
            raise NoNamespaceError(
                f"namespace {namespace} does not exist: "
                f"create it with `kubectl create namespace {namespace}`"
            ) from None
        raise


def _apply_triggers(
    api: lightkube.Client,
    changes: manifests.TriggerChanges,
    *,
    namespace: str,
    progress: Progress,
) -> None:
    """Make the function's Triggers the wanted ones (a changed broker means a new Trigger)."""
    for trigger in changes.apply:
        api.apply(client.to_object(trigger), force=True)
    for name in changes.delete:
        api.delete(TRIGGER, name, namespace=namespace)
        progress.note(f"Deleted trigger {name} (no longer in deploy.subscriptions)")
    for trigger in changes.recreate:
        name = trigger["metadata"]["name"]
        api.delete(TRIGGER, name, namespace=namespace)
        api.create(client.to_object(trigger))
        progress.note(f"Recreated trigger {name} (its broker changed)")


def _wait_ready(
    api: lightkube.Client,
    name: str,
    *,
    namespace: str,
    generation: int,
    timeout: float,
    progress: Progress,
) -> dict[str, Any]:
    """The service once Ready for ``generation``; :class:`NotReadyError` when it fails or
    times out. Meanwhile the newest revision's conditions say what it waits for."""
    started = time.monotonic()
    said = ""
    false_since: float | None = None
    service: dict[str, Any] = {}
    while (elapsed := time.monotonic() - started) < timeout:
        service = client.to_dict(api.get(kinds.resource(kinds.SERVICE), name, namespace=namespace))
        observed = service.get("status", {}).get("observedGeneration", 0)
        ready = conditions.condition(service)
        if observed < generation:
            time.sleep(0.1)
            continue
        if ready.get("status") == "True":
            return service
        if ready.get("status") != "False":
            false_since = None
        elif false_since is None:
            false_since = elapsed
        elif elapsed - false_since >= WAIT_WINDOW:
            raise NotReadyError(
                f"{name} is not ready: {ready.get('reason')}: {ready.get('message')}"
                + _pods_said(api, service, namespace=namespace)
            )
        said = _waiting_for(api, service, namespace=namespace)
        progress.waiting(said, elapsed)
        time.sleep(0.25)
    raise NotReadyError(
        f"{name} was not ready after {timeout:.0f}s, waiting for {said or 'its revision'}"
        f" (see `unkai describe {name}`; a longer wait: --timeout)"
        + _pods_said(api, service, namespace=namespace)
    )


def _pods_said(api: lightkube.Client, service: dict[str, Any], *, namespace: str) -> str:
    """The newest revision's pods' last lines, as lines to add to a failure."""
    revision = service.get("status", {}).get("latestCreatedRevisionName")
    if not revision:
        return ""
    return "".join("\n" + line for line in podlogs.last_lines(api, revision, namespace=namespace))


def _waiting_for(api: lightkube.Client, service: dict[str, Any], *, namespace: str) -> str:
    """``hello-00002: Deploying``: the newest revision and what its conditions say."""
    revision = service.get("status", {}).get("latestCreatedRevisionName")
    if not revision:
        return conditions.pending(service) or "the new revision"
    found = client.to_dict(api.get(kinds.resource(kinds.REVISION), revision, namespace=namespace))
    return f"{revision}: {conditions.pending(found) or 'starting'}"


def size(count: int) -> str:
    """``812 B``, ``34.2 KiB``, ``24.0 MiB``."""
    if count < 1024:
        return f"{count} B"
    if count < 2**20:
        return f"{count / 1024:.1f} KiB"
    return f"{count / 2**20:.1f} MiB"
