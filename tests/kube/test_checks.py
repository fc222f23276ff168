"""What `unkai deploy` refuses before uploading: code that cannot be served as func.yaml
says, reported against the user's own files (never the platform's copy).

Aspects: a syntax error names the file, line and text; a missing entrypoint module
names the file expected and the setting; a handler that is not defined lists the
callables the module does define and the entrypoint setting; names bound by
assignment or import count as defined; a module whose names only running it can tell
is left to the platform; the check happens before anything is packed.
"""

from pathlib import Path

import pytest

from unkai.api import funcyaml
from unkai.kube import checks, deploy
from unkai.kube.checks import FunctionCodeError


@pytest.fixture
def function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A function directory ``hello/`` under the current directory, as a user has it."""
    directory = tmp_path / "hello"
    directory.mkdir()
    (directory / "func.yaml").write_text("name: hello\n")
    monkeypatch.chdir(tmp_path)
    return directory


class Silent:
    def step(self, activity: str) -> None: ...
    def waiting(self, what: str, elapsed: float) -> None: ...
    def done(self) -> None: ...
    def note(self, line: str) -> None: ...


def refusal(directory: Path) -> str:
    with pytest.raises(FunctionCodeError) as raised:
        deploy.prepare(directory, Silent())
    return str(raised.value)


def test_a_syntax_error_names_the_users_file_line_and_text(function: Path) -> None:
    (function / "func.py").write_text("import json\n\ndef handle(request)\n    return 1\n")
    message = refusal(function)
    assert message.startswith("hello/func.py, line 3: ")
    assert "def handle(request)" in message
    assert "bundles" not in message


def test_a_missing_module_names_the_file_and_the_setting(function: Path) -> None:
    (function / "func.yaml").write_text("name: hello\nentrypoint: app.main:handle\n")
    message = refusal(function)
    assert message.startswith("hello/app/main.py does not exist (nor app/main/__init__.py)")
    assert "entrypoint app.main:handle" in message
    assert "hello/func.yaml" in message


def test_a_wrong_handler_name_lists_the_callables_and_the_setting(function: Path) -> None:
    (function / "func.yaml").write_text("name: hello\nentrypoint: func:handel\n")
    (function / "func.py").write_text(
        "LIMIT = 3\n\ndef handle(request):\n    return 1\n\nclass Helper:\n    pass\n"
    )
    message = refusal(function)
    assert message.startswith(
        "hello/func.py defines no handel (func.yaml says entrypoint: func:handel)"
    )
    assert "The callables it defines: handle, Helper." in message
    assert "`entrypoint: func:NAME` in hello/func.yaml" in message


def test_without_an_entrypoint_the_conventional_names_are_looked_for(function: Path) -> None:
    (function / "func.py").write_text("def main(request):\n    return 1\n")
    message = refusal(function)
    assert "defines no new or app or application or handle or handler" in message
    assert "The callables it defines: main." in message
    (function / "func.yaml").write_text("name: hello\nsignature: event\n")
    assert "defines no handler (" in refusal(function)


@pytest.mark.parametrize(
    "source",
    [
        "def handle(request):\n    return 1\n",
        "async def handle(request):\n    return 1\n",
        "from helpers import answer as handle\n",
        "import functools\nhandle = functools.partial(print)\n",
        "for handle in [print]:\n    pass\n",
        "from helpers import *\n",  # only running it tells
        "def __getattr__(name):\n    return print\n",
    ],
)
def test_code_that_may_define_the_handler_passes(function: Path, source: str) -> None:
    (function / "func.py").write_text(source)
    assert deploy.prepare(function, Silent()).spec.name == "hello"


def test_a_package_module_is_found(function: Path) -> None:
    (function / "func.yaml").write_text("name: hello\nentrypoint: app:handle\n")
    (function / "app").mkdir()
    (function / "app" / "__init__.py").write_text("def handle(request):\n    return 1\n")
    assert checks.module_file(function, "app") == function / "app" / "__init__.py"
    deploy.prepare(function, Silent())


def test_a_knative_func_project_is_checked_in_its_own_layout(tmp_path: Path) -> None:
    """func's layout has no func.py: the code is the function/ package exporting new()."""
    project = tmp_path / "hello"
    (project / "function").mkdir(parents=True)
    (project / "function" / "__init__.py").write_text("from .func import new\n")
    (project / "function" / "func.py").write_text("def new():\n    return object()\n")
    (project / "func.yaml").write_text("name: hello\n")
    checks.check(project, funcyaml.load(project))  # no refusal
    (project / "function" / "__init__.py").write_text("def helper():\n    pass\n")
    assert "function/__init__.py defines no new" in refusal(project)
