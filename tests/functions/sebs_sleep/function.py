"""The shape of SeBS's 010.sleep: sleep for the seconds asked, and say how long."""

import time


def handler(event):
    seconds = event.get("sleep")
    time.sleep(seconds)
    return {"result": seconds}
