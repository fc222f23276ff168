"""What the platform writes about a revision's requests that the gateway ended itself:
one line per kind per interval, with the count, so a flood of 503s is a few lines."""

import json
from datetime import UTC, datetime
from pathlib import Path

from unkai.platform.logs import Outcomes, RevisionEvents, event_line, outcome_lines


def test_each_kind_of_outcome_is_one_line_with_its_count() -> None:
    before = Outcomes(timeouts=2, overloads=10, upstream_failures=1)
    after = Outcomes(timeouts=3, overloads=250, upstream_failures=1)
    assert outcome_lines(before, after, seconds=5) == [
        "1 request timed out (504): no response within the revision's timeoutSeconds,"
        " in the last 5s",
        "240 requests refused (503): every instance busy and the gateway's queue full,"
        " in the last 5s",
    ]
    assert outcome_lines(after, after, seconds=5) == []


def test_platform_lines_have_the_runtimes_fields(tmp_path: Path) -> None:
    moment = datetime(2026, 12, 5, 9, 30, 1, 250_000, tzinfo=UTC)
    assert json.loads(event_line("warning", "3 requests …", now=moment)) == {
        "time": "2026-12-05T09:30:01.250Z",
        "level": "warning",
        "logger": "unkai.platform",
        "message": "3 requests …",
    }
    folder = tmp_path / "default" / "hello" / "hello-00001"
    RevisionEvents(folder).write("error", "first", now=moment)
    RevisionEvents(folder).write("error", "second", now=moment)
    written = (folder / "platform.log").read_text().splitlines()
    assert [json.loads(line)["message"] for line in written] == ["first", "second"]
