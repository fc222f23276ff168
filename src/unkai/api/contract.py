"""The runtime contract's environment: the names the platform sets for every instance.

Knative's runtime contract gives each container ``PORT`` and the ``K_*`` names; a
Service may not set them itself, and neither may a func.yaml. Kept apart from the
Knative kinds so that reading func.yaml (which the runtime does) stays cheap.
"""

from __future__ import annotations

from typing import Final

RESERVED_ENV: Final = ("PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION")
