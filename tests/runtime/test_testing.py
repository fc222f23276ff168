"""``unkai.testing.FunctionClient``: each function directory gets its own modules.

Aspects: clients of functions that each have a ``func.py`` and a sibling module of the
same name answer with their own code, one after another and open at the same time; a
new client imports the function afresh (module state does not leak between tests);
closing a client restores ``os.environ`` and ``sys.path`` and forgets the modules it
imported from the directory, and so does a client whose function fails to load; a sync
handler runs on the thread that imported it, as in an instance, so module state made
at import (a SQLite connection) works.
"""

import os
import sys
import textwrap
from pathlib import Path

import pytest
from tests.support.servers import FUNCTIONS

from unkai.runtime import LoadError
from unkai.testing import FunctionClient

FUNC = """
    import helpers

    calls = 0


    def handle(request):
        global calls
        calls += 1
        return {"who": helpers.WHO, "calls": calls}
"""


def make_function(parent: Path, name: str) -> Path:
    directory = parent / name
    directory.mkdir()
    (directory / "func.py").write_text(textwrap.dedent(FUNC))
    (directory / "helpers.py").write_text(f"WHO = {name!r}\n")
    (directory / "func.yaml").write_text(f"name: {name}\nenv:\n  FUNCTION_ENV: {name}\n")
    return directory


def answer(client: FunctionClient) -> dict[str, object]:
    response = client.get("/")
    assert response.status_code == 200, response.text
    reply: dict[str, object] = response.json()
    return reply


def test_each_function_gets_its_own_modules_one_after_another(tmp_path: Path) -> None:
    first, second = make_function(tmp_path, "fn-a"), make_function(tmp_path, "fn-b")
    for directory in (first, second, first):
        with FunctionClient(directory) as client:
            assert answer(client) == {"who": directory.name, "calls": 1}


def test_each_function_gets_its_own_modules_when_open_together(tmp_path: Path) -> None:
    first, second = make_function(tmp_path, "fn-a"), make_function(tmp_path, "fn-b")
    with FunctionClient(first) as client_a, FunctionClient(second) as client_b:
        assert answer(client_a)["who"] == "fn-a"
        assert answer(client_b)["who"] == "fn-b"
        assert answer(client_a) == {"who": "fn-a", "calls": 2}


def test_closing_restores_the_environment_path_and_modules(tmp_path: Path) -> None:
    directory = make_function(tmp_path, "fn-a")
    environ, path, modules = dict(os.environ), list(sys.path), set(sys.modules)
    with FunctionClient(directory) as client:
        assert os.environ["FUNCTION_ENV"] == "fn-a"
        assert sys.path[0] == str(directory.resolve())
        assert {"func", "helpers"} <= set(sys.modules)
        answer(client)
    assert (dict(os.environ), sys.path) == (environ, path)
    assert not {"func", "helpers"} & (set(sys.modules) - modules)


def test_a_function_that_fails_to_load_leaves_nothing_behind(tmp_path: Path) -> None:
    directory = make_function(tmp_path, "fn-a")
    (directory / "func.py").write_text("import helpers\n\ndef handle(a, b, c, d):\n    pass\n")
    environ, path = dict(os.environ), list(sys.path)
    with pytest.raises(LoadError, match="cannot tell how to call func:handle"):
        FunctionClient(directory)
    assert (dict(os.environ), sys.path) == (environ, path)
    assert "helpers" not in sys.modules


def test_a_sync_handler_runs_on_the_thread_that_imported_it() -> None:
    with FunctionClient(FUNCTIONS / "sync_sqlite") as client:
        answers = [client.post("/", json={"n": n}).json() for n in (1, 2)]
    assert answers == [{"count": 1, "total": 1}, {"count": 2, "total": 3}]
