"""Deploying to a cluster: the function goes as an image, built and pushed first.

A cluster cannot fetch a bundle from Unkai, so ``unkai deploy --image REF`` builds the
function with :mod:`unkai.build.image` (no daemon), pushes it to ``REF``'s registry and
hands :func:`unkai.kube.deploy.deploy` the reference pinned by digest: the Service
names exactly the image just pushed, and an unchanged function pins the same digest,
so it makes no new revision. A dry run builds without pushing: the digest is the
one a push would give (the manifest's own). Works the same against ``unkai up`` (which speaks the
Kubernetes API) and a real cluster: nothing here asks which it is.
"""

from __future__ import annotations

from pathlib import Path

from unkai.build import credentials, image, references
from unkai.build import push as pushing
from unkai.build.registry import Registry
from unkai.kube.deploy import Progress
from unkai.platform.bundles.ignore import Ignore


class _Steps:
    """A deploy's :class:`Progress` shown the build's steps (each its own ended step)."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._open = False

    def step(self, activity: str) -> None:
        self.close()
        self._progress.step(activity + "…")
        self._open = True

    def transfer(self, what: str, done: int, total: int) -> None:
        """Bytes are not shown in a deploy's one-line display: the step says what moves."""

    def close(self) -> None:
        if self._open:
            self._progress.done()
            self._open = False


def build_and_push(
    directory: Path,
    reference: str,
    progress: Progress,
    *,
    insecure_registry: bool = False,
    base_image: str | None = None,
    options: image.Options | None = None,
    push: bool = True,
) -> str:
    """Build the function in ``directory``, push it to ``reference`` (unless not to
    ``push``); the reference pinned by digest."""
    target = references.parse(reference)
    steps = _Steps(progress)
    chosen = options or image.Options(
        base_image, insecure_registry=insecure_registry, ignores=Ignore.of(directory).ignores
    )
    try:
        built = image.build(directory, chosen, steps)
        if not push:
            pinned = str(target.with_digest(built.digest))
            progress.note(f"Built {pinned} (not pushed)")
            return pinned
        auth = credentials.for_registry(target.registry)
        with Registry(target.registry, auth, insecure=insecure_registry) as registry:
            pinned, counts = pushing.push(built, target, registry, steps)
    finally:
        steps.close()
    uploaded = counts.get("uploaded", 0)
    progress.note(f"Pushed {pinned} ({uploaded} of {sum(counts.values())} blobs uploaded)")
    return pinned
