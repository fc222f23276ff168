"""A control group made ahead per revision, so that a cold start does not make one.

The groups are plain directories here (as in ``test_cgroups.py``): what is checked is
which group a start gets and what its limits files say.
"""

from pathlib import Path

from unkai.platform.runners import cgroups
from unkai.platform.runners.limits import Limits

SMALL = Limits(memory=64 * 2**20)
LARGE = Limits(memory=256 * 2**20)


def spares(tmp_path: Path) -> cgroups.Spares:
    return cgroups.Spares(cgroups.Hierarchy(2, {"unified": tmp_path}, cpu=True))


def test_a_start_takes_the_group_made_ahead_for_its_revision(tmp_path: Path) -> None:
    ahead = spares(tmp_path)
    ahead.make("hello-00001", "hello-00001-ahead", SMALL)

    group = ahead.take("hello-00001", "hello-00001-abc", SMALL)

    assert group.directories == {"unified": tmp_path / "hello-00001-ahead"}
    assert (tmp_path / "hello-00001-ahead" / "memory.max").read_text() == f"{64 * 2**20}\n"
    # taken: the next start makes its own, under its own name
    again = ahead.take("hello-00001", "hello-00001-def", SMALL)
    assert again.directories == {"unified": tmp_path / "hello-00001-def"}


def test_a_spare_made_for_other_limits_is_not_used(tmp_path: Path) -> None:
    ahead = spares(tmp_path)
    ahead.make("hello-00001", "hello-00001-ahead", SMALL)

    group = ahead.take("hello-00001", "hello-00001-abc", LARGE)

    assert group.directories == {"unified": tmp_path / "hello-00001-abc"}
    assert (tmp_path / "hello-00001-abc" / "memory.max").read_text() == f"{256 * 2**20}\n"


def test_one_spare_per_revision_and_none_for_another(tmp_path: Path) -> None:
    ahead = spares(tmp_path)
    ahead.make("hello-00001", "hello-00001-first", SMALL)
    ahead.make("hello-00001", "hello-00001-second", SMALL)  # one is ready: nothing made

    assert not (tmp_path / "hello-00001-second").exists()
    other = ahead.take("other-00001", "other-00001-abc", SMALL)
    assert other.directories == {"unified": tmp_path / "other-00001-abc"}


def test_a_spare_that_cannot_be_made_leaves_the_start_to_make_it(tmp_path: Path) -> None:
    (tmp_path / "hello-00001-ahead").write_text("in the way")  # mkdir fails
    ahead = spares(tmp_path)
    ahead.make("hello-00001", "hello-00001-ahead", SMALL)

    group = ahead.take("hello-00001", "hello-00001-abc", SMALL)

    assert group.directories == {"unified": tmp_path / "hello-00001-abc"}
