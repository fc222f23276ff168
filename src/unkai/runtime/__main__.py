"""``python -m unkai.runtime DIR``: see ``unkai.runtime.process``."""

from unkai.runtime.process import main

raise SystemExit(main())
