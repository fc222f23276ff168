"""No func.yaml: served with the defaults, named after the directory."""

import os


def handle(request):
    return os.environ["K_SERVICE"]
