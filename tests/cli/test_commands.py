"""The ``unkai`` group loads each command's module only when that command runs; every
command it lists still loads, under the name it is listed by, and shows its help."""

import subprocess
import sys

import pytest
from click.testing import CliRunner

from unkai.cli.main import COMMANDS, cli


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_listed_command_loads_and_answers_help(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: cli {name} ")


def test_help_lists_every_command() -> None:
    listed = CliRunner().invoke(cli, ["--help"]).stdout.split("Commands:\n")[1]
    assert [line.split()[0] for line in listed.splitlines()] == sorted(COMMANDS)


def test_a_command_does_not_import_the_others() -> None:
    """``unkai list`` imports the resource commands, not the platform or the builder."""
    code = (
        "import sys\nfrom unkai.cli.main import main\nsys.argv = ['unkai', 'list', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(*(m for m in sys.modules if m.startswith('unkai.')), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = done.stderr.split()
    assert "unkai.cli.resources" in loaded
    for other in ("unkai.cli.platform", "unkai.platform.embedded", "unkai.build.image"):
        assert other not in loaded
