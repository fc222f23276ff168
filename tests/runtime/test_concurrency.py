"""Whether a function's instances serve one request at a time, read from its source
(``unkai.runtime.concurrency``), as ``unkai deploy`` asks before writing
containerConcurrency.

Aspects: a plain ``def`` handler of http, cloudevent or event serves one at a time,
found by entrypoint, by the signature's conventional name or by detection; an
``async def``, an asgi function, ``runtime.syncWorkers``, and a handler the source does
not define plainly (assigned, imported, missing, unparsable) do not count as one.
"""

import textwrap
from pathlib import Path

import pytest

from unkai.api import funcyaml
from unkai.runtime.concurrency import one_at_a_time


@pytest.mark.parametrize(
    ("func_yaml", "source", "expected"),
    [
        pytest.param("", "def handler(event):\n    return event\n", True, id="event, detected"),
        pytest.param("", "def handle(request):\n    pass\n", True, id="http, detected"),
        pytest.param(
            "signature: cloudevent\n",
            "import os\n\ndef handle(event):\n    pass\n",
            True,
            id="cloudevent, conventional name",
        ),
        pytest.param(
            "entrypoint: main:run\n",
            "def run(event, context):\n    pass\n",
            True,
            id="entrypoint in another module",
        ),
        pytest.param("", "async def handle(request):\n    pass\n", False, id="async def"),
        pytest.param("", "def new():\n    return object()\n", False, id="asgi factory"),
        pytest.param("", "def handle(scope, receive, send):\n    pass\n", False, id="asgi shape"),
        pytest.param(
            "signature: asgi\n", "def handle(request):\n    pass\n", False, id="signature asgi"
        ),
        pytest.param(
            "runtime: {syncWorkers: 4}\n",
            "def handler(event):\n    pass\n",
            False,
            id="syncWorkers opted in",
        ),
        pytest.param("", "def _impl(event):\n    pass\n\nhandler = _impl\n", False, id="assigned"),
        pytest.param("", "from lib import handler\n", False, id="imported"),
        pytest.param(
            "",
            "def handler(event):\n    pass\n\nhandler = wrap(handler)\n",
            False,
            id="rebound after the def",
        ),
        pytest.param(
            "", "def handle(request):\n    pass\n\ndef handler(e):\n    pass\n", False, id="two"
        ),
        pytest.param("", "def handler(event)\n", False, id="syntax error"),
    ],
)
def test_one_at_a_time(tmp_path: Path, func_yaml: str, source: str, expected: bool) -> None:
    (tmp_path / "func.yaml").write_text(f"name: fn\n{func_yaml}")
    module = funcyaml.load(tmp_path).module
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
    assert one_at_a_time(tmp_path, funcyaml.load(tmp_path)) is expected


def test_a_package_module_is_read_from_its_init(tmp_path: Path) -> None:
    (tmp_path / "func.yaml").write_text("name: fn\nentrypoint: app.main:handle\n")
    (tmp_path / "app" / "main").mkdir(parents=True)
    (tmp_path / "app" / "main" / "__init__.py").write_text("def handle(request):\n    pass\n")
    assert one_at_a_time(tmp_path, funcyaml.load(tmp_path))
