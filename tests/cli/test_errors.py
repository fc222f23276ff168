"""One error tree: every exception Unkai defines says whose move it is (the user's input,
or the environment), and the CLI shows any of them as one red line with exit code 1."""

import importlib
import inspect
import pkgutil

import pytest
from click.testing import CliRunner

import unkai
from unkai import errors
from unkai.cli import console, main


def defined_exceptions() -> list[type[BaseException]]:
    """Every exception class defined in a module of the package."""
    found = set()
    for module_info in pkgutil.walk_packages(unkai.__path__, "unkai."):
        if module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.__name__:
                found.add(value)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


ROOTS = {errors.UnkaiError, errors.UserError, errors.TargetError, console.Failure}


@pytest.mark.parametrize("error", defined_exceptions(), ids=lambda cls: cls.__qualname__)
def test_every_exception_sits_on_one_branch_of_the_tree(error: type[BaseException]) -> None:
    assert issubclass(error, errors.UnkaiError)
    if error not in ROOTS:
        assert issubclass(error, errors.UserError) != issubclass(error, errors.TargetError)


def test_the_tree_at_the_top_of_errors_names_every_class() -> None:
    documented = errors.__doc__ or ""
    missing = [
        cls.__qualname__ for cls in defined_exceptions() if cls.__qualname__ not in documented
    ]
    assert missing == []


@pytest.mark.parametrize("error", [errors.UserError, errors.TargetError])
def test_the_cli_shows_any_error_of_the_tree_as_one_line(error: type[errors.UnkaiError]) -> None:
    @main.cli.command(name="failing")
    def failing() -> None:
        raise error("the namespace is missing: create it first")

    try:
        result = CliRunner().invoke(main.cli, ["failing"])
    finally:
        main.cli.commands.pop("failing")
    assert result.exit_code == 1
    assert result.stderr == "error: the namespace is missing: create it first\n"
    assert isinstance(result.exception, SystemExit)  # not a traceback
