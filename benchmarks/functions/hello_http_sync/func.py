def handle(request):  # sync: runs on the thread that imported it
    return b"Hello, world!"
