"""The environment a function runs with.

The platform sets ``PORT`` and the Knative ``K_SERVICE``, ``K_CONFIGURATION`` and
``K_REVISION``; ``func.yaml``'s ``env`` adds the function's own settings on top of the
inherited environment but never replaces a platform variable that is already set. Run
outside a platform, the ``K_*`` variables default to the function's name (and
``{name}-local`` for the revision), so code reading them works the same everywhere.

An ``env`` value read from a Secret or ConfigMap key (``{{ secret:NAME:KEY }}``) is set
by the platform from the Service's ``valueFrom``; where no platform sets it (``unkai
run``) it must come from the caller's environment, and :class:`EnvReferenceError` says
so rather than letting the function fail on a missing variable.

This is a pure function; the process entrypoint applies the result to ``os.environ``
before the function's module is imported, since modules read settings at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from unkai.api.funcyaml import FuncSpec
from unkai.runtime.loader import LoadError

PLATFORM_VARIABLES: Final = ("PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION")


class EnvReferenceError(LoadError):
    """An env variable func.yaml reads from a Secret or ConfigMap is not set (no platform)."""


def environment(spec: FuncSpec, inherited: Mapping[str, str]) -> dict[str, str]:
    """``inherited`` with the function's ``env`` applied and the ``K_*`` defaults filled."""
    references = spec.references
    missing = [name for name in references if name not in inherited]
    if missing:
        listed = ", ".join(f"{name} ({references[name]})" for name in missing)
        raise EnvReferenceError(
            f"func.yaml reads {listed} from the platform's Secrets and ConfigMaps, and"
            " nothing set it here: set it in your environment to run the function locally"
        )
    env = dict(inherited)
    env.update(
        (name, value)
        for name, value in spec.env.items()
        if name not in references and not (name in PLATFORM_VARIABLES and name in inherited)
    )
    env.setdefault("K_SERVICE", spec.name)
    env.setdefault("K_CONFIGURATION", spec.name)
    env.setdefault("K_REVISION", f"{spec.name}-local")
    return env
