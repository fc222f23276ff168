"""What goes into a bundle: the default leave-outs, `.funcignore` (the gitignore subset
docs/func-yaml.md lists), the counts deploy prints, and symbolic links refused by pack
exactly when the platform's unpack check would refuse them."""

import io
import os
import tarfile
from pathlib import Path, PurePosixPath

import pytest

from unkai.build import digests
from unkai.platform.bundles import BundleError, BundleStore, pack
from unkai.platform.bundles.archive import packed
from unkai.platform.bundles.ignore import DEFAULT_IGNORED, Ignore


def names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getnames()


def tree(root: Path, files: list[str]) -> Path:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    return root


@pytest.mark.parametrize(
    ("pattern", "path", "directory", "ignored"),
    [
        ("data/", "data", True, True),
        ("data/", "lib/data", True, True),
        ("data/", "data", False, False),  # a trailing / is for directories only
        ("*.csv", "a.csv", False, True),
        ("*.csv", "lib/deep/a.csv", False, True),  # no / inside: at any depth
        ("/*.csv", "lib/a.csv", False, False),  # a leading / anchors at the root
        ("/*.csv", "a.csv", False, True),
        ("lib/*.csv", "lib/a.csv", False, True),  # a / in the middle anchors too
        ("lib/*.csv", "x/lib/a.csv", False, False),
        ("lib/*", "lib/sub/a.csv", False, False),  # * stays within one name
        ("lib/**", "lib/sub/a.csv", False, True),
        ("**/fixtures", "a/b/fixtures", True, True),
        ("docs/**/*.png", "docs/a.png", False, True),
        ("docs/**/*.png", "docs/x/y/a.png", False, True),
        ("file?.txt", "file1.txt", False, True),
        ("file?.txt", "file10.txt", False, False),
        ("a.b", "axb", False, False),  # only * and ? are special
        ("[ab].txt", "[ab].txt", False, True),  # classes are not in the subset
    ],
)
def test_ignore_patterns(pattern: str, path: str, directory: bool, ignored: bool) -> None:
    assert Ignore([pattern]).ignores(PurePosixPath(path), directory=directory) is ignored


def test_comments_blanks_negation_and_last_match_wins() -> None:
    ignore = Ignore(["# *.py", "", "   ", "*.csv", "!keep.csv", "/keep.csv ", "!venv/"])
    assert not ignore.ignores(PurePosixPath("func.py"), directory=False)
    assert ignore.ignores(PurePosixPath("a.csv"), directory=False)
    assert not ignore.ignores(PurePosixPath("lib/keep.csv"), directory=False)
    assert ignore.ignores(PurePosixPath("keep.csv"), directory=False)
    assert not ignore.ignores(PurePosixPath("venv"), directory=True)  # a default, undone
    assert ignore.ignores(PurePosixPath("node_modules"), directory=True)


def test_the_defaults_cover_what_build_digests_treat_as_byproducts() -> None:
    # One list would be better: see unkai.build.digests.BYPRODUCTS.
    assert set(DEFAULT_IGNORED) >= digests.BYPRODUCTS
    default = Ignore([])
    for name in (*digests.BYPRODUCTS, "venv", "node_modules", ".DS_Store", "x.egg-info"):
        assert default.ignores(PurePosixPath("lib", name), directory=True), name
    for needed in ("func.py", "func.yaml", "requirements.txt", "lib/build", "dist", "venvs"):
        assert not default.ignores(PurePosixPath(needed), directory=True), needed


def test_pack_follows_funcignore_and_counts_what_went_in(tmp_path: Path) -> None:
    function = tree(
        tmp_path / "fn",
        [
            "func.py",
            "func.yaml",
            "requirements.txt",
            "data/big.csv",
            "data/keep.csv",
            "lib/helper.py",
            "lib/notes.csv",
            "keep.csv",
            "node_modules/left-pad/index.js",
            "venv/bin/python",
            ".DS_Store",
            "lib/__pycache__/helper.cpython-311.pyc",
        ],
    )
    (function / ".funcignore").write_text(
        "# data is fetched at start\ndata/\n*.csv\n!/keep.csv\n!data/keep.csv\nfunc.yaml\n"
    )
    bundle = packed(function)
    assert names(bundle.data) == [
        ".funcignore",
        "func.py",
        "func.yaml",  # always in, whatever .funcignore says
        "keep.csv",
        "lib",
        "lib/helper.py",
        "requirements.txt",
    ]
    files = [function / name for name in names(bundle.data) if name != "lib"]
    assert (bundle.files, bundle.size) == (6, sum(file.stat().st_size for file in files))
    assert pack(function) == bundle.data


def test_a_directory_left_out_cannot_be_brought_back_from(tmp_path: Path) -> None:
    function = tree(tmp_path / "fn", ["func.yaml", "data/keep.csv", "data/big.csv"])
    (function / ".funcignore").write_text("data/\n!data/keep.csv\n")
    assert names(pack(function)) == [".funcignore", "func.yaml"]


@pytest.mark.parametrize(
    ("link", "target", "message"),
    [
        # Resolving inside on this machine is not enough: the platform reads the text.
        ("abs.txt", "{fn}/data.txt", r"abs.txt: symbolic link to an absolute path \(/"),
        ("up.txt", "../fn/data.txt", r"up.txt: symbolic link leads outside the bundle \(\.\./fn"),
        ("lib/up.txt", "../../fn/data.txt", "lib/up.txt: symbolic link leads outside"),
        ("out.txt", "/etc/hostname", r"out.txt: symbolic link leads outside the bundle \(/etc"),
    ],
)
def test_pack_refuses_the_links_the_platform_refuses(
    tmp_path: Path, link: str, target: str, message: str
) -> None:
    function = tree(tmp_path / "fn", ["func.yaml", "data.txt", "lib/x.py"])
    (function / link).symlink_to(target.format(fn=function))
    with pytest.raises(BundleError, match=message):
        pack(function)
    (function / ".funcignore").write_text(link + "\n")
    store = BundleStore(tmp_path / "store")
    assert (store.path(store.put(pack(function))) / "data.txt").read_text() == "data.txt"


def test_links_that_stay_inside_by_their_text_are_packed_and_accepted(tmp_path: Path) -> None:
    function = tree(tmp_path / "fn", ["func.yaml", "data.txt", "lib/x.py"])
    (function / "alias.txt").symlink_to("data.txt")
    (function / "lib" / "data.txt").symlink_to("../data.txt")
    (function / "shared").symlink_to("lib")
    store = BundleStore(tmp_path / "store")
    unpacked = store.path(store.put(pack(function)))
    assert (unpacked / "lib" / "data.txt").read_text() == "data.txt"
    assert (unpacked / "shared" / "x.py").read_text() == "lib/x.py"
    assert packed(function).files == 3  # links are not counted as files


def test_a_special_file_is_refused_with_its_name(tmp_path: Path) -> None:
    function = tree(tmp_path / "fn", ["func.yaml"])
    os.mkfifo(function / "pipe")
    with pytest.raises(BundleError, match="pipe: only files, directories and links"):
        pack(function)
