"""Knative's API semantics for the kinds Unkai serves, as pure functions on dicts.

Objects are plain JSON dicts, as Kubernetes stores them. For each kind, a module
(:mod:`.service`, :mod:`.configuration`, :mod:`.revision`, :mod:`.route`,
:mod:`.broker`, :mod:`.trigger`, :mod:`.pingsource`) offers

* ``default(obj) -> dict``: a defaulted copy, as Knative's defaulting webhook makes it;
* ``validate(obj, old) -> list[Problem]``: Knative's admission checks (``old`` is the
  stored object on update, ``None`` on create), with Knative's messages.

:data:`KINDS` maps ``(group, version, plural)`` to a :class:`Definition` carrying both,
plus the kind's names (:mod:`unkai.api.kinds`), schema and printer columns for
discovery. Every deliberate difference from Knative is listed in
``docs/knative-compat.md``.
"""

from unkai.api.knative.registry import KINDS, Definition

__all__ = ["KINDS", "Definition"]
