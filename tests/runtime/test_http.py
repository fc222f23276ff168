"""The ``http`` signature and the contract every function gets.

Aspects: each return shape (str, bytes, dict, list, None, (body, status),
(body, status, headers), a Starlette Response) maps to its status, content type and
body; the request reaches the handler whole (method, query, headers, body); the
function sees the platform's ``K_*`` variables and func.yaml's ``env``, without
func.yaml clobbering a platform variable; an exception becomes a 500 carrying an error
id, with the traceback in one JSON log line under the same id and never in the body;
so is a reply that cannot be sent (a bad status or header, NaN in JSON), with a log line
naming what was wrong; a 204 or 304 goes out with no body and no framing headers, and a
response to HEAD with no body, so a keep-alive connection stays in step.
"""

import re
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx2
import pytest
from tests.support.servers import RunningFunction, Serve

PLATFORM = {"K_SERVICE": "shapes-svc", "K_REVISION": "shapes-svc-00003"}


@pytest.fixture(scope="module")
def server(serve_shared: Serve) -> RunningFunction:
    return serve_shared("http_shapes", env=PLATFORM)


@pytest.fixture(scope="module")
def client(server: RunningFunction) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.url) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "status", "content_type", "body"),
    [
        ("/text", 200, "text/plain; charset=utf-8", b"hello"),
        ("/bytes", 200, "application/octet-stream", b"\x00\x01binary"),
        ("/dict", 200, "application/json", b'{"answer":42}'),
        ("/list", 200, "application/json", b"[1,2,3]"),
        ("/none", 204, None, b""),
        ("/status", 201, "text/plain; charset=utf-8", b"made"),
        ("/response", 202, "application/json", b'{"via":"starlette"}'),
    ],
)
def test_return_shapes(
    client: httpx2.Client, path: str, status: int, content_type: str | None, body: bytes
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.headers.get("content-type") == content_type
    assert response.content == body


def test_tuple_headers_are_added_and_a_content_type_among_them_wins(client: httpx2.Client) -> None:
    teapot = client.get("/headers")
    assert (teapot.status_code, teapot.text) == (418, "short and stout")
    assert teapot.headers["x-kind"] == "teapot"
    custom = client.get("/json-headers")
    assert custom.headers.get_list("content-type") == ["application/vnd.demo+json"]
    assert custom.json() == {"ok": True}


def test_the_handler_sees_the_whole_request(client: httpx2.Client) -> None:
    response = client.put("/echo?a=1&b=two", content=b"payload", headers={"X-Demo": "yes"})
    assert response.json() == {
        "method": "PUT",
        "query": {"a": "1", "b": "two"},
        "header": "yes",
        "body": "payload",
    }


def test_platform_variables_and_func_yaml_env(client: httpx2.Client) -> None:
    assert client.get("/env").json() == {
        "K_SERVICE": "shapes-svc",  # set by the platform
        "K_REVISION": "shapes-svc-00003",
        "K_CONFIGURATION": "http-shapes",  # not set by the platform: defaults to the name
        "GREETING": "hello from func.yaml",
    }


def test_an_exception_is_a_500_with_an_error_id_and_one_log_line(
    client: httpx2.Client, server: RunningFunction
) -> None:
    response = client.get("/boom")
    assert response.status_code == 500
    assert "secret detail" not in response.text
    assert "Traceback" not in response.text
    match = re.search(r"error id ([0-9a-f]{16})", response.text)
    assert match is not None, response.text
    error_id = match.group(1)
    line = server.wait_for_log(lambda line: line.get("error_id") == error_id)
    assert line["level"] == "error"
    assert line["path"] == "/boom"
    assert "ValueError: secret detail" in line["exception"]
    assert 'in handle\n    raise ValueError("secret detail' in line["exception"]


def test_an_unsupported_return_value_is_a_500_that_says_why_in_the_log(
    client: httpx2.Client, server: RunningFunction
) -> None:
    response = client.get("/unsupported")
    assert response.status_code == 500
    error_id = re.search(r"error id ([0-9a-f]+)", response.text).group(1)  # type: ignore[union-attr]
    line = server.wait_for_log(lambda line: line.get("error_id") == error_id)
    assert "handler returned int" in line["message"]


def exchange(server: RunningFunction, *requests: bytes) -> bytes:
    """Send raw requests pipelined on one connection; all the bytes that come back."""
    port = urlsplit(server.url).port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"".join(requests))
        received = []
        while chunk := sock.recv(65536):
            received.append(chunk)
    return b"".join(received)


def request(method: str, path: str, *, close: bool = False) -> bytes:
    connection = b"connection: close\r\n" if close else b""
    return f"{method} {path} HTTP/1.1\r\nhost: test\r\n".encode() + connection + b"\r\n"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/bodiless-204", b"204"),
        ("GET", "/bodiless-304", b"304"),
        ("GET", "/bodiless-response", b"204"),
        ("GET", "/none", b"204"),
        ("HEAD", "/text", b"200"),
    ],
)
def test_no_body_on_the_wire_for_204_304_and_head(
    server: RunningFunction, method: str, path: str, status: bytes
) -> None:
    wire = exchange(server, request(method, path), request("GET", "/text", close=True))
    head, _, rest = wire.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 " + status)
    # The next response starts right after the head: no stray body byte in between.
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n")
    assert rest.endswith(b"\r\n\r\nhello")
    names = [line.split(b":")[0].lower() for line in head.split(b"\r\n")[1:]]
    if method == "HEAD":
        assert b"content-length: 5" in head.lower()  # what GET would send
    else:
        assert b"content-length" not in names
        assert b"transfer-encoding" not in names


def test_a_dropped_body_is_logged_once(server: RunningFunction) -> None:
    for path in ("/bodiless-204", "/bodiless-304", "/bodiless-response"):
        assert httpx2.get(server.url + path).content == b""
    dropped = [line for line in server.logs() if "dropped the body" in line["message"]]
    assert len(dropped) == 1
    assert dropped[0]["level"] == "warning"


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/bad-status-999", "handler returned status 999: use an int from 200 to 599"),
        ("/bad-status-99", "handler returned status 99"),
        ("/bad-status-101", "handler returned status 101"),
        ("/bad-status-abc", "handler returned status 'abc'"),
        ("/bad-status-response", "handler returned status 999"),
        ("/bad-header-value", "header 'x-injected' with an invalid value"),
        ("/bad-header-name", "invalid header name b'bad name'"),
        ("/bad-header-response", "header 'x-injected' with an invalid value"),
        ("/bad-json", "not valid JSON: Out of range float values"),
    ],
)
def test_a_reply_that_cannot_be_sent_is_a_500_with_an_error_id(
    client: httpx2.Client, server: RunningFunction, path: str, says: str
) -> None:
    response = client.get(path)
    assert response.status_code == 500
    assert "set-cookie" not in response.headers
    match = re.search(r"error id ([0-9a-f]{16})", response.text)
    assert match is not None, response.text
    line = server.wait_for_log(lambda line: line.get("error_id") == match.group(1))
    assert line["level"] == "error"
    assert line["path"] == path
    assert says in line["message"]
    assert client.get("/text").text == "hello"  # the connection is still in step
