"""Serving reconcilers as pure decisions: observed objects and time in, desired out.

Each function takes the objects a reconcile loop observed (plain dicts from the store)
and ``now``, and returns what should exist: children to create or update and the new
status. No I/O, no clock; running one on its own output changes nothing.

* :mod:`.service`: Service → Configuration + Route, Service status.
* :mod:`.configuration`: Configuration → Revision per generation, Configuration status.
* :mod:`.route`: Route → status and the routing table the gateway serves.
* :mod:`.revision`: data-plane report (:class:`~unkai.platform.contracts.RevisionReadiness`) →
  Revision status.
"""
