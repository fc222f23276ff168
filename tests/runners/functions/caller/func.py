"""Calls the service ``?name=`` by its cluster-local name, as docs/runners.md says a
function does: plain ``urllib`` with the platform's internal gateway as the proxy of
``*.svc.cluster.local`` URLs (``K_INTERNAL_GATEWAY``)."""

import os
import urllib.error
import urllib.request


def handle(request):
    url = f"http://{request.query_params['name']}.default.svc.cluster.local/"
    proxy = os.environ.get("K_INTERNAL_GATEWAY")
    if proxy is None:
        return {"error": "K_INTERNAL_GATEWAY is not set"}
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy}))
    try:
        with opener.open(url, timeout=20) as response:
            return {"status": response.status, "body": response.read().decode()}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": error.read().decode()}
