"""A function that cannot be loaded: its module raises at import."""

raise RuntimeError("no database configured")


def handle(request):
    return "unreachable"
