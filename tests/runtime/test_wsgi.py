"""WSGI apps (Flask) and ASGI apps (FastAPI) as people write them, served unchanged.

The fixtures ``flask_app`` (``app.py``) and ``fastapi_app`` (``main.py``) are ordinary
apps, with a func.yaml that only names them and a requirements.txt naming their
framework (installed here through the ``dev`` extra): no ``entrypoint:`` is needed.

Aspects: a Flask app is detected as WSGI and served through a2wsgi: query strings, JSON
bodies, status codes and streamed responses reach the client as Flask made them; its
views run on the thread that imported it, so a module-level SQLite connection works on
every request, unless ``runtime.syncWorkers`` opts into threads; a FastAPI app keeps its
validation and lifespan. A Flask app under another signature, or FastAPI under wsgi, is
refused at load with a hint naming the signature to use. A plain WSGI function named
``app`` or ``application`` is detected and served in-process too (``FunctionClient``),
reading its body from ``wsgi.input`` and using a module-level SQLite connection.
"""

import shutil
import textwrap
from pathlib import Path

import httpx2
import pytest
from tests.support.servers import FUNCTIONS, RunningFunction, Serve

from unkai.api import funcyaml
from unkai.runtime import concurrency, loader
from unkai.testing import FunctionClient

pytest.importorskip("flask", reason="Flask comes with the dev extra: pip install -e '.[dev]'")
pytest.importorskip("fastapi", reason="FastAPI comes with the dev extra: pip install -e '.[dev]'")


@pytest.fixture(scope="module")
def flask_app(serve_shared: Serve) -> RunningFunction:
    return serve_shared("flask_app")


def test_flask_answers_with_its_routes(flask_app: RunningFunction) -> None:
    assert httpx2.get(flask_app.url + "/", params={"name": "Ada"}).text == "hello Ada from flask"
    assert httpx2.get(flask_app.url + "/missing").status_code == 404


def test_module_state_made_at_import_works_on_every_request(flask_app: RunningFunction) -> None:
    for name in ("a", "b"):
        created = httpx2.post(flask_app.url + "/items", json={"name": name})
        assert (created.status_code, created.json()) == (201, {"ok": True})
    assert httpx2.get(flask_app.url + "/items").json()[-2:] == ["a", "b"]
    assert httpx2.get(flask_app.url + "/thread").json() == {"importing_thread": True}


def test_a_streamed_flask_response_arrives_whole(flask_app: RunningFunction) -> None:
    response = httpx2.get(flask_app.url + "/stream")
    assert response.text == "chunk 0\nchunk 1\nchunk 2\n"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_sync_workers_run_flask_views_on_threads(serve: Serve, tmp_path: Path) -> None:
    directory = tmp_path / "threaded"
    shutil.copytree(FUNCTIONS / "flask_app", directory)
    spec = "name: threaded\nruntime: {syncWorkers: 2}\n"
    (directory / "func.yaml").write_text(spec)
    server = serve(str(directory))
    assert httpx2.get(server.url + "/thread").json() == {"importing_thread": False}


def test_fastapi_keeps_its_validation_and_lifespan(serve: Serve) -> None:
    server = serve("fastapi_app")
    hello = httpx2.get(server.url + "/", params={"name": "Ada"})
    assert hello.json() == {"message": "hello Ada from fastapi"}
    item = httpx2.post(server.url + "/items", json={"name": "pen", "price": 10})
    assert item.json() == {"name": "pen", "with_tax": 12.0}
    assert httpx2.post(server.url + "/items", json={"name": "pen"}).status_code == 422


def write_function(directory: Path, code: str, spec: str) -> Path:
    directory.mkdir()
    (directory / "func.py").write_text(textwrap.dedent(code))
    (directory / "func.yaml").write_text(spec)
    return directory


FLASK = "from flask import Flask\napp = Flask(__name__)\n"
FASTAPI = "from fastapi import FastAPI\napp = FastAPI()\n"


def test_a_flask_app_is_detected_as_wsgi_and_serves_one_request_at_a_time(
    tmp_path: Path,
) -> None:
    directory = write_function(tmp_path / "detected", FLASK, "name: detected\n")
    spec = funcyaml.load(directory)
    try:
        assert loader.load(directory, spec).signature == "wsgi"
    finally:
        loader.forget(directory, ["func"])
    assert concurrency.one_at_a_time(directory, spec)


def test_fastapi_is_not_one_at_a_time(tmp_path: Path) -> None:
    directory = write_function(tmp_path / "fast", FASTAPI, "name: fast\n")
    assert not concurrency.one_at_a_time(directory, funcyaml.load(directory))


@pytest.mark.parametrize(
    ("code", "signature", "says"),
    [
        (FLASK, "asgi", "is a WSGI app (Flask, Django, Falcon…"),
        (FLASK, "http", "set `signature: wsgi` in func.yaml"),
        (FLASK, "event", "the event signature cannot serve"),
        (FASTAPI, "wsgi", "is async, so not a WSGI app"),
    ],
)
def test_an_app_under_the_wrong_signature_gets_a_hint(
    tmp_path: Path, code: str, signature: str, says: str
) -> None:
    spec_text = f"name: wrong\nsignature: {signature}\nentrypoint: func:app\n"
    directory = write_function(tmp_path / "wrong", code, spec_text)
    try:
        with pytest.raises(loader.LoadError, match="func:app") as caught:
            loader.load(directory, funcyaml.load(directory))
    finally:
        loader.forget(directory, ["func"])
    assert says in str(caught.value)


@pytest.mark.parametrize("name", ["app", "application"])
def test_a_plain_wsgi_function_is_served_in_process_too(tmp_path: Path, name: str) -> None:
    code = f"""\
        import sqlite3
        db = sqlite3.connect(":memory:")

        def {name}(environ, start_response):
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(size)
            (echo,) = db.execute("select upper(?)", (body.decode(),)).fetchone()
            start_response("202 Accepted", [("Content-Type", "text/plain"), ("X-Echo", "1")])
            return [echo.encode()]
        """
    directory = write_function(tmp_path / "plain", code, "name: plain\n")
    with FunctionClient(directory) as client:
        response = client.post("/", content=b"hello")
    assert (response.status_code, response.text, response.headers["x-echo"]) == (
        202,
        "HELLO",
        "1",
    )
