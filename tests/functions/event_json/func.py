"""Lambda / SeBS shape: found as handler(event), without signature or entrypoint."""


def handler(event):
    if event.get("fail"):
        raise KeyError("fail")
    return {"sum": event.get("a", 0) + event.get("b", 0), "keys": sorted(event)}
