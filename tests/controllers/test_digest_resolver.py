"""The background resolver of tags, in-process: one resolution per revision and image
while it runs, its result read once it ends (the revision queued again then), a
failure raised once and tried again, a deleted revision's resolution dropped, and no
more resolutions at once than the pool has workers.

The resolve function is the one seam the resolver has (``unkai up`` passes the real
registry client, which ``tests/runners/test_image_digests.py`` tests against a real
registry): here it blocks until a test lets the image go, so that what is in flight is
the test's to decide.
"""

import asyncio
import threading
from collections.abc import Awaitable, Callable

import pytest

from unkai.errors import TargetError
from unkai.platform.controllers.digests import DigestResolver

DEADLINE = 10.0
DIGEST = "registry.example/app@sha256:" + "a" * 64


class Registry:
    """Answers for images the test releases; counts who asked for what."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.answers: dict[str, str | Exception] = {}
        self._lock = threading.Lock()
        self._released = threading.Condition(self._lock)

    def resolve(self, image: str) -> str:
        with self._released:
            self.asked.append(image)
            self._released.notify_all()
            self._released.wait_for(lambda: image in self.answers, timeout=DEADLINE)
            answer = self.answers.pop(image)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def answer(self, image: str, answer: str | Exception) -> None:
        with self._released:
            self.answers[image] = answer
            self._released.notify_all()

    def asked_for(self, count: int) -> bool:
        with self._lock:
            return len(self.asked) >= count


async def until(condition: Callable[[], bool]) -> None:
    """Wait for ``condition`` with a deadline (polled: the resolver's threads change
    what it reads, and they cannot set an ``asyncio.Event``)."""
    async with asyncio.timeout(DEADLINE):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


def run(scenario: Callable[[DigestResolver, Registry, list[tuple[str, str]]], Awaitable[None]],
        workers: int = 4) -> None:  # fmt: skip
    async def main() -> None:
        registry = Registry()
        done: list[tuple[str, str]] = []
        resolver = DigestResolver(
            registry.resolve, done=lambda ns, name: done.append((ns, name)), workers=workers
        )
        try:
            await scenario(resolver, registry, done)
        finally:
            for image in ("a:1", "b:1", "c:1"):
                registry.answer(image, "")  # no thread left waiting
            await resolver.close()

    asyncio.run(main())


def test_one_resolution_per_revision_then_its_digest() -> None:
    async def scenario(
        resolver: DigestResolver, registry: Registry, done: list[tuple[str, str]]
    ) -> None:
        assert resolver.result("default", "app-00001", "a:1") is None  # started
        await until(lambda: registry.asked_for(1))
        for _ in range(3):  # asked again while it runs: no second resolution
            assert resolver.result("default", "app-00001", "a:1") is None
        registry.answer("a:1", DIGEST)
        await until(lambda: done == [("default", "app-00001")])  # queued again
        assert resolver.result("default", "app-00001", "a:1") == DIGEST
        assert resolver.result("default", "app-00001", "a:1") == DIGEST  # until written
        assert registry.asked == ["a:1"]

    run(scenario)


def test_a_failure_is_raised_once_then_tried_again() -> None:
    async def scenario(
        resolver: DigestResolver, registry: Registry, done: list[tuple[str, str]]
    ) -> None:
        assert resolver.result("default", "app-00001", "a:1") is None
        registry.answer("a:1", TargetError("cannot reach the registry"))
        await until(lambda: len(done) == 1)
        with pytest.raises(TargetError, match="cannot reach the registry"):
            resolver.result("default", "app-00001", "a:1")
        assert resolver.result("default", "app-00001", "a:1") is None  # tried again
        await until(lambda: registry.asked_for(2))
        registry.answer("a:1", DIGEST)
        await until(lambda: len(done) == 2)
        assert resolver.result("default", "app-00001", "a:1") == DIGEST

    run(scenario)


def test_a_deleted_revisions_resolution_is_dropped() -> None:
    async def scenario(
        resolver: DigestResolver, registry: Registry, done: list[tuple[str, str]]
    ) -> None:
        assert resolver.result("default", "gone-00001", "a:1") is None
        await until(lambda: registry.asked_for(1))
        resolver.forget("default", "gone-00001")
        registry.answer("a:1", DIGEST)
        assert resolver.result("default", "other-00001", "b:1") is None
        await until(lambda: registry.asked_for(2))
        registry.answer("b:1", DIGEST)
        await until(lambda: done == [("default", "other-00001")])  # not the deleted one

    run(scenario)


def test_no_more_resolutions_at_once_than_workers() -> None:
    async def scenario(
        resolver: DigestResolver, registry: Registry, done: list[tuple[str, str]]
    ) -> None:
        for name, image in (("a-00001", "a:1"), ("b-00001", "b:1"), ("c-00001", "c:1")):
            assert resolver.result("default", name, image) is None
        await until(lambda: registry.asked_for(2))
        assert sorted(registry.asked) == ["a:1", "b:1"]  # the third waits for a worker
        registry.answer("a:1", DIGEST)
        await until(lambda: registry.asked_for(3))
        assert registry.asked[-1] == "c:1"

    run(scenario, workers=2)
