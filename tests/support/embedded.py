"""``unkai up`` in the test's own process: its API, controllers and (unless replaced) data
plane run on an event loop in a thread, so a test can call the CLI's commands or
``unkai.kube`` directly against it. It records itself in its data dir as a detached
``unkai up`` does, so the resource commands find it there.
"""

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.certificates import seed
from unkai.platform.contracts import RevisionReadiness
from unkai.platform.embedded import Platform, Settings
from unkai.platform.state import PlatformDir


@contextmanager
def started(
    settings: Settings, *, readiness: RevisionReadiness | None = None
) -> Iterator[tuple[Platform, asyncio.AbstractEventLoop]]:
    """The platform, started, and the loop it runs on, until the block ends.
    ``readiness``: no data plane; the test says how revisions fare."""
    seed(PlatformDir.under(settings.data_dir).root)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def make() -> Platform:  # on its loop: the data plane's parts bind to it
        return Platform(settings, readiness=readiness)

    try:
        platform = asyncio.run_coroutine_threadsafe(make(), loop).result(30)
        asyncio.run_coroutine_threadsafe(platform.start(), loop).result(60)
        try:
            yield platform, loop
        finally:
            asyncio.run_coroutine_threadsafe(platform.stop(), loop).result(60)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@contextmanager
def embedded(
    settings: Settings, *, readiness: RevisionReadiness | None = None
) -> Iterator[Platform]:
    """The platform, started, until the block ends (see :func:`started`)."""
    with started(settings, readiness=readiness) as (platform, _):
        yield platform
