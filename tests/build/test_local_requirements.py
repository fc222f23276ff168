"""Requirements naming local content: the environment follows the content, not the line.

Aspects: an edited ``./mylib`` gets a new environment with the new code (and keeps it
on the next start); two functions with their own ``./mylib`` never share one; every
way of naming local content counts (paths, ``-e``, ``file:`` URLs, ``name @ file:``,
nested ``-r``/``-c`` files, ``-f`` folders) while build byproducts do not; nested files
resolve next to the file naming them and install from there; a missing nested file or
path is an error naming it (``lookup`` just finds nothing); include loops are caught.
"""

import re
from pathlib import Path

import pytest
from tests.build.conftest import PythonIn
from tests.support.wheels import make_project

from unkai.build import environments
from unkai.build.requirements import RequirementsError, for_pip

READ_VERSION = "import mylib; print(mylib.VERSION)"


def function_with_lib(directory: Path, version: str) -> Path:
    make_project(
        directory / "mylib", name="mylib", version="1.0", module_source=f"VERSION = {version!r}\n"
    )
    return directory


def edit_lib(directory: Path, version: str) -> None:
    (directory / "mylib" / "mylib" / "__init__.py").write_text(f"VERSION = {version!r}\n")


def test_edited_local_library_gets_a_new_environment(
    tmp_path: Path, wheelhouse: Path, python_in: PythonIn
) -> None:
    root, function = tmp_path / "cache", function_with_lib(tmp_path / "fn", "v1")
    first = environments.prepare(["./mylib"], root=root, base_dir=function)
    assert python_in(first, READ_VERSION) == "v1"
    edit_lib(function, "v2")
    assert environments.lookup(["./mylib"], root=root, base_dir=function) is None
    second = environments.prepare(["./mylib"], root=root, base_dir=function)
    assert second.key != first.key
    assert python_in(second, READ_VERSION) == "v2"
    assert environments.lookup(["./mylib"], root=root, base_dir=function) == second


def test_functions_with_their_own_library_do_not_share(
    tmp_path: Path, wheelhouse: Path, python_in: PythonIn
) -> None:
    root = tmp_path / "cache"
    one = environments.prepare(
        ["./mylib"], root=root, base_dir=function_with_lib(tmp_path / "a", "a")
    )
    two = environments.prepare(
        ["./mylib"], root=root, base_dir=function_with_lib(tmp_path / "b", "b")
    )
    assert (python_in(one, READ_VERSION), python_in(two, READ_VERSION)) == ("a", "b")


@pytest.mark.parametrize(
    "line",
    [
        "./mylib",
        "./mylib[extra] ; python_version >= '3'",
        "-e ./mylib",
        "--editable=mylib",
        "file:./mylib#egg=mylib",
        "mylib @ file://{function}/mylib",
        "-r nested/more.txt",
        "-c nested/more.txt",
        "-f mylib",
    ],
)
def test_every_way_of_naming_local_content_counts(tmp_path: Path, line: str) -> None:
    function = function_with_lib(tmp_path, "v1")
    (function / "nested").mkdir()
    (function / "nested" / "more.txt").write_text(
        "# below: the lib, next to the function\n./mylib\n"
    )
    lines = [line.format(function=function)]
    before = environments.environment_key(lines, base_dir=function)
    for byproduct in ("build/lib/x.py", "mylib.egg-info/PKG-INFO", "mylib/__pycache__/x.pyc"):
        (function / "mylib" / byproduct).parent.mkdir(parents=True, exist_ok=True)
        (function / "mylib" / byproduct).write_text("made by a build")
    assert environments.environment_key(lines, base_dir=function) == before
    edit_lib(function, "v2")
    assert environments.environment_key(lines, base_dir=function) != before


def test_nested_file_resolves_and_installs_next_to_the_file_naming_it(
    tmp_path: Path, wheelhouse: Path, python_in: PythonIn
) -> None:
    function = tmp_path / "fn"
    (function / "reqs").mkdir(parents=True)
    (function / "reqs" / "main.txt").write_text("-r pinned.txt\n")
    (function / "reqs" / "pinned.txt").write_text("greeting==1.0\n")
    lines = ["-r reqs/main.txt"]
    assert for_pip(lines, function) == [f"-r {function}/reqs/main.txt"]
    before = environments.environment_key(lines, base_dir=function)
    environment = environments.prepare(lines, root=tmp_path / "cache", base_dir=function)
    assert python_in(environment, "import greeting; print(greeting.WORD)") == "hello"
    (function / "reqs" / "pinned.txt").write_text("greeting==1.0\n# a comment changes nothing\n")
    assert environments.environment_key(lines, base_dir=function) == before
    (function / "reqs" / "pinned.txt").write_text("greeting>=1.0\n")
    assert environments.environment_key(lines, base_dir=function) != before


@pytest.mark.parametrize(
    ("line", "named"),
    [("-r other.txt", "requirements file other.txt not found"), ("./gone", "./gone not found")],
)
def test_missing_local_content_is_named(tmp_path: Path, line: str, named: str) -> None:
    with pytest.raises(RequirementsError, match=re.escape(named)):
        environments.prepare([line], root=tmp_path / "cache", base_dir=tmp_path)
    assert environments.lookup([line], root=tmp_path / "cache", base_dir=tmp_path) is None


def test_include_loop_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\n")
    (tmp_path / "b.txt").write_text("-r a.txt\n")
    with pytest.raises(RequirementsError, match="includes itself"):
        environments.environment_key(["-r a.txt"], base_dir=tmp_path)
