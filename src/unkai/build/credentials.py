"""Registry credentials found where docker keeps them, read the way docker reads them.

``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``): a registry's
``credHelpers`` entry names a helper, else ``credsStore`` names one for all, else
``auths`` holds ``auth`` (base64 ``user:password``) or ``username``/``password``, or an
``identitytoken``. A helper is the program ``docker-credential-<name>``, asked with
``get`` and the server on standard input; it answers ``{"Username", "Secret"}``, and
says "credentials not found" when it has none. Docker Hub's entry is keyed
``https://index.docker.io/v1/``. Podman's ``$REGISTRY_AUTH_FILE`` (or
``$XDG_RUNTIME_DIR/containers/auth.json``) has the same shape and is read first.

Hand-written: the PyPI packages for credential helpers are thin and unmaintained, and
the protocol is one subprocess call.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unkai.build.references import DOCKER_HUB
from unkai.errors import UserError

_HUB_KEY = "https://index.docker.io/v1/"


class CredentialsError(UserError):
    """The credentials configuration cannot be read, or its helper failed."""


@dataclass(frozen=True)
class Credentials:
    """A user name and a secret (a password or token); ``username`` is ``<token>`` for
    an identity token, as docker's helpers answer."""

    username: str
    secret: str


def for_registry(registry: str, environ: dict[str, str] | None = None) -> Credentials | None:
    """The credentials for ``registry`` (host[:port]), or ``None`` when none are kept."""
    env = dict(os.environ) if environ is None else environ
    key = _HUB_KEY if registry == DOCKER_HUB else registry
    for path in _config_files(env):
        config = _read(path)
        if config is None:
            continue
        helper = (config.get("credHelpers") or {}).get(key) or config.get("credsStore")
        if helper:
            return _from_helper(str(helper), key, path, env)
        entry = _entry(config.get("auths") or {}, key)
        if entry is not None:
            return _from_entry(entry, key, path)
    return None


def _config_files(env: dict[str, str]) -> list[Path]:
    podman = env.get("REGISTRY_AUTH_FILE") or (
        f"{env['XDG_RUNTIME_DIR']}/containers/auth.json" if env.get("XDG_RUNTIME_DIR") else ""
    )
    docker = Path(env.get("DOCKER_CONFIG") or Path(env.get("HOME", "~")) / ".docker")
    return [*([Path(podman)] if podman else []), docker / "config.json"]


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise CredentialsError(f"cannot read registry credentials from {path}: {error}") from None
    if not isinstance(data, dict):
        raise CredentialsError(f"{path}: expected a JSON object")
    return data


def _entry(auths: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The ``auths`` entry for ``key``, also when written as a URL (``https://host/v1/``)."""
    for name, entry in auths.items():
        host = name.removeprefix("https://").removeprefix("http://").split("/", 1)[0]
        if name == key or (key != _HUB_KEY and host == key):
            return entry if isinstance(entry, dict) else None
    return None


def _from_entry(entry: dict[str, Any], key: str, path: Path) -> Credentials | None:
    if entry.get("identitytoken"):
        return Credentials("<token>", str(entry["identitytoken"]))
    if entry.get("auth"):
        try:
            username, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except ValueError:
            raise CredentialsError(
                f"{path}: auths.{key}.auth is not base64 user:password"
            ) from None
        return Credentials(username, password)
    if entry.get("username"):
        return Credentials(str(entry["username"]), str(entry.get("password", "")))
    return None


def _from_helper(helper: str, key: str, path: Path, env: dict[str, str]) -> Credentials | None:
    program = f"docker-credential-{helper}"
    try:
        done = subprocess.run(
            [program, "get"],
            input=key,
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        raise CredentialsError(
            f"{path} names the credential helper {helper!r}, but {program} is not on PATH"
        ) from None
    except subprocess.TimeoutExpired:
        raise CredentialsError(f"{program} get {key}: no answer within 60 s") from None
    if done.returncode != 0:
        if "credentials not found" in (done.stdout + done.stderr).lower():
            return None
        said = (done.stderr or done.stdout).strip()
        raise CredentialsError(f"{program} get {key} failed: {said}")
    try:
        answer = json.loads(done.stdout)
        return Credentials(str(answer["Username"]), str(answer["Secret"]))
    except (ValueError, KeyError, TypeError):
        raise CredentialsError(f"{program} get {key}: not a JSON Username/Secret") from None
