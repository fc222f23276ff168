def handle(request):  # sync: runs on the runtime's thread pool
    return b"Hello, world!"
