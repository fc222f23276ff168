"""A function whose module exits while it is imported (a missing setting, say): every
instance ends before it serves, with exit code 3."""

import sys

sys.exit(3)


def handle(request):
    return "never"
