"""``python -m unkai.cli``: the same as the ``unkai`` command."""

from unkai.cli.main import main

main()
