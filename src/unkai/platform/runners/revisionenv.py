"""What a revision's zygote and instances run with: its requirements installed, and its
environment.

Requirements are installed once per set of requirement lines into a cached environment
(``unkai.build.environments``), in a small pool of the runner's own
(:data:`INSTALLS_AT_ONCE` threads), not the event loop's shared one, each within the
install timeout; retiring a revision cancels its install. So a hanging ``pip`` delays
only deploys that need an install too, never applies, cold starts or other revisions'
instances. Sandboxed, ``pip`` runs in the sandbox too, as the revision's user, seeing
what it reads and writing only the environment being filled.

The environment is the runner's ``inherited`` one (``spec.base_environment``, nothing of
the platform's own), what the platform tells instances about itself (the internal
gateway), the container's ``env`` and the runtime contract's ``K_*``, with the
requirements first on ``PYTHONPATH``; ``PORT`` is the instance's, set when it is made.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

from unkai.api.yamlsource import SourceError
from unkai.build import environments, pip
from unkai.platform.contracts import Reason, RevisionKey
from unkai.platform.runners.base import RunnerError
from unkai.platform.runners.sandbox import Sandbox
from unkai.platform.runners.spec import InstanceSpec, internal_gateway_env

INSTALLS_AT_ONCE: Final = 2


class RevisionEnvironments:
    """Installs revisions' requirements and resolves their environments (module docstring).

    ``root`` is where requirement environments are cached (default: the user's cache
    dir); ``internal_gateway`` gives the port of the gateway's internal listener, told
    to instances that can reach it (not those in a ``private_network`` of their own)."""

    def __init__(
        self,
        *,
        sandbox: Sandbox,
        inherited: Mapping[str, str],
        root: Path | None,
        install_timeout: float,
        private_network: bool,
        internal_gateway: Callable[[], int] | None,
    ) -> None:
        self._sandbox = sandbox
        self._inherited = inherited
        self._root = root
        self._install_timeout = install_timeout
        self._private_network = private_network
        self._internal_gateway = internal_gateway
        self._installs = ThreadPoolExecutor(INSTALLS_AT_ONCE, thread_name_prefix="unkai-install")
        self._unwanted: dict[RevisionKey, threading.Event] = {}

    async def of(self, spec: InstanceSpec) -> dict[str, str]:
        """What an instance's (or zygote's) environment is, before ``PORT``."""
        from unkai.runtime import LoadError, load_spec  # late: pydantic, off `unkai up` idle

        directory = bundle_of(spec)
        try:
            lines = load_spec(directory).requirement_lines(directory)
        except (LoadError, SourceError) as error:  # a requirements file that went away
            raise RunnerError(Reason.FUNCTION_INVALID, str(error)) from None
        unwanted = self._unwanted.setdefault(spec.key, threading.Event())
        install = functools.partial(
            environments.prepare, lines, root=self._root, base_dir=directory,
            timeout=self._install_timeout, cancelled=unwanted.is_set,
            sandbox=self._pip_sandbox(spec),
        )  # fmt: skip
        try:
            site = await asyncio.get_running_loop().run_in_executor(self._installs, install)
        except environments.RequirementsError as error:
            raise RunnerError(Reason.REQUIREMENTS_FAILED, str(error)) from None
        env = {**self._inherited, **self._platform_env(), **spec.env, **spec.contract_env()}
        env.pop("PORT", None)
        env["PYTHONPATH"] = site.python_path(self._inherited.get("PYTHONPATH"))
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def retire(self, key: RevisionKey) -> None:
        """The revision is gone: an install still running for it stops."""
        if (unwanted := self._unwanted.pop(key, None)) is not None:
            unwanted.set()

    def close(self) -> None:
        for unwanted in self._unwanted.values():
            unwanted.set()
        self._unwanted.clear()
        self._installs.shutdown(wait=False, cancel_futures=True)

    def _pip_sandbox(self, spec: InstanceSpec) -> pip.Sandboxing | None:
        """How the revision's requirements are installed: in the sandbox too, as its user,
        seeing what pip reads and writing only the environment being filled."""
        if not self._sandbox.enabled:
            return None
        identity = self._sandbox.identity(
            spec.namespace, uid=spec.run_as_user, gid=spec.run_as_group
        )

        def sandboxed(command: list[str], read_only: Sequence[Path], target: Path) -> list[str]:
            if identity is not None:  # the target is the platform's new, empty directory
                os.chown(target, identity.uid, identity.gid)
            return self._sandbox.command(
                command, identity=identity, read_only=read_only, writable=[target],
                workdir=read_only[-1],
            )  # fmt: skip

        return sandboxed

    def _platform_env(self) -> dict[str, str]:
        """What the platform tells instances about itself: the internal gateway, unless
        they are in a network of their own, where loopback is out of reach."""
        private = self._private_network and self._sandbox.no_private_network is None
        if self._internal_gateway is None or private:
            return {}
        return internal_gateway_env(self._internal_gateway())


def bundle_of(spec: InstanceSpec) -> Path:
    """The bundle directory ``spec`` runs; :class:`RunnerError` when it names none."""
    if spec.bundle is None:
        raise RunnerError(Reason.BUNDLE_MISSING, f"{spec.image or spec.revision}: no bundle to run")
    return spec.bundle
