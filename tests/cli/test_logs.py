"""`unkai logs` for people and for scripts, in-process with click's runner over the log
files of a platform's data dir (written as instances and the data plane write them).

Aspects: a JSON line shows as time, level and message; its traceback as the
multi-line text Python prints, naming the user's file and not the bundle's copy; plain
output stays as it was printed; the platform's own lines about the revision appear
among them; `-o json` gives one JSON object a line with the instance that wrote it.
"""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from unkai.cli.main import cli
from unkai.platform.logs import RevisionEvents

BUNDLE = "/home/ada/.local/share/unkai/platform/bundles/trees/sha256/" + "ab" * 32
TRACEBACK = (
    "Traceback (most recent call last):\n"
    f'  File "{BUNDLE}/func.py", line 4, in handle\n'
    "    return 1 / 0\n"
    "ZeroDivisionError: division by zero\n"
)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data dir where instance hello-00001-a1 logged a failed request and a print."""
    folder = tmp_path / "data" / "platform" / "logs" / "default" / "hello" / "hello-00001"
    folder.mkdir(parents=True)
    failed = {
        "time": "2026-12-05T09:30:01.250Z",
        "level": "error",
        "logger": "unkai.runtime",
        "message": "request failed",
        "exception": TRACEBACK,
    }
    (folder / "hello-00001-a1.log").write_text(json.dumps(failed) + "\nplain print output\n")
    RevisionEvents(folder).write(
        "error", "instance hello-00001-a2 exited (ExitCode1: …) after 0.3s"
    )
    return tmp_path / "data"


def logs(data: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["logs", "hello", "--data-dir", str(data), *args])


def test_tracebacks_read_as_python_prints_them(data: Path) -> None:
    shown = logs(data)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[:6] == [
        "hello-00001-a1 09:30:01.250 ERROR request failed",
        "    Traceback (most recent call last):",
        '      File "func.py", line 4, in handle',
        "        return 1 / 0",
        "    ZeroDivisionError: division by zero",
        "hello-00001-a1 plain print output",
    ]
    [platform] = [line for line in lines if line.startswith("platform ")]
    assert platform.endswith("ERROR instance hello-00001-a2 exited (ExitCode1: …) after 0.3s")


def test_json_output_keeps_every_field_for_scripts(data: Path) -> None:
    shown = logs(data, "-o", "json")
    assert shown.exit_code == 0, shown.output
    records = [json.loads(line) for line in shown.stdout.splitlines()]
    by_message = {record["message"]: record for record in records}
    assert by_message["request failed"]["instance"] == "hello-00001-a1"
    assert by_message["request failed"]["exception"] == TRACEBACK  # as written
    assert by_message["plain print output"] == {
        "instance": "hello-00001-a1",
        "message": "plain print output",
    }
    exited = next(record for record in records if record["instance"] == "platform")
    assert (exited["level"], exited["logger"]) == ("error", "unkai.platform")
