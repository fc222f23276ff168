def handle(request):  # sync, on runtime.syncWorkers threads
    return b"Hello, world!"
