"""Lambda / SeBS shape: found as handler(event), without signature or entrypoint."""


def handler(event):
    if event.get("fail"):
        raise KeyError("fail")
    if event.get("nan"):
        return {"ratio": float("nan")}
    return {"sum": event.get("a", 0) + event.get("b", 0), "keys": sorted(event)}
