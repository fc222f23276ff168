"""A gRPC function: ``echo.Echo`` with unary ``Say`` and server-streaming ``Count``.

Messages are raw bytes (no protobuf): generic handlers, so the test needs no generated
code. ``Say`` answers ``{K_REVISION}:{request}`` so a caller sees which revision served.
"""

import os
from collections.abc import Iterator

import grpc


def say(request: bytes, context: grpc.ServicerContext) -> bytes:
    return os.environ.get("K_REVISION", "").encode() + b":" + request


def count(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
    for number in range(int(request)):
        yield str(number).encode()


def handle(server: grpc.Server) -> None:
    handlers = {
        "Say": grpc.unary_unary_rpc_method_handler(say),
        "Count": grpc.unary_stream_rpc_method_handler(count),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("echo.Echo", handlers),))
