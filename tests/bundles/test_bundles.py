"""Bundles: deterministic packing, the store (idempotent, read-only trees), references,
and every way an uploaded archive is refused (traversal, links out, devices, size)."""

import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from unkai.platform.bundles import (
    BundleError,
    BundleNotFoundError,
    BundleRef,
    BundleStore,
    extract,
    format_reference,
    pack,
    parse_reference,
)

HEX = "ab" * 32


def make_function(root: Path) -> Path:
    (root / "lib").mkdir(parents=True)
    (root / "func.py").write_text("def handle(request):\n    return 'hi'\n")
    (root / "func.yaml").write_text("name: hello\n")
    (root / "lib" / "helper.py").write_text("X = 1\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o775)
    for skipped in ("__pycache__", ".git", ".venv", ".unkai"):
        (root / skipped).mkdir()
        (root / skipped / "junk").write_text("junk")
    (root / "lib" / "helper.pyc").write_bytes(b"\0")
    return root


def archive(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, content in members:
            if content is not None:
                info.size = len(content)
            tar.addfile(info, None if content is None else io.BytesIO(content))
    return buffer.getvalue()


def entry(name: str, *, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getnames()


def test_pack_is_deterministic_and_skips_caches(tmp_path: Path) -> None:
    one = make_function(tmp_path / "one")
    two = make_function(tmp_path / "two")
    os.utime(two / "func.py", (1, 1))
    (two / "lib" / "helper.py").chmod(0o600)

    assert pack(one) == pack(one) == pack(two)
    assert names(pack(one)) == ["func.py", "func.yaml", "lib", "lib/helper.py", "run.sh"]
    (two / "func.py").write_text("changed")
    assert pack(one) != pack(two)


def test_pack_normalises_owner_time_and_mode(tmp_path: Path) -> None:
    data = pack(make_function(tmp_path / "f"))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = {member.name: member for member in tar}
    assert {(m.mtime, m.uid, m.gid, m.uname) for m in members.values()} == {(0, 0, 0, "")}
    assert members["run.sh"].mode == 0o755
    assert members["func.py"].mode == 0o644
    assert members["lib"].mode == 0o755
    assert gzip.decompress(data)  # a plain gzip stream: no name, time 0
    assert data[4:8] == b"\0\0\0\0"


def test_pack_refuses_a_link_out_of_the_directory(tmp_path: Path) -> None:
    function = make_function(tmp_path / "f")
    (function / "secret").symlink_to(tmp_path)
    with pytest.raises(BundleError, match="secret: symbolic link leads outside"):
        pack(function)


def test_put_is_idempotent_and_path_is_a_read_only_copy(tmp_path: Path) -> None:
    function = make_function(tmp_path / "f")
    (function / "lib" / "alias.py").symlink_to("helper.py")
    store = BundleStore(tmp_path / "store")
    data = pack(function)

    digest = store.put(data)
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert store.put(data, digest=digest) == digest
    assert store.has(digest)
    tree = store.path(digest)
    assert (tree / "func.py").read_text() == (function / "func.py").read_text()
    assert (tree / "lib" / "alias.py").read_text() == "X = 1\n"
    assert os.access(tree / "run.sh", os.X_OK)
    assert not (tree / "__pycache__").exists()
    assert not any(path.stat().st_mode & 0o222 for path in [tree, *tree.rglob("*")])
    assert sorted(p.name for p in tree.parent.iterdir()) == [digest.removeprefix("sha256:")]


def test_path_unpacks_again_from_the_blob(tmp_path: Path) -> None:
    store = BundleStore(tmp_path / "store")
    digest = store.put(pack(make_function(tmp_path / "f")))
    fresh = BundleStore(tmp_path / "store")
    assert (fresh.path(digest) / "func.yaml").exists()
    with pytest.raises(BundleNotFoundError, match="no bundle sha256:abab"):
        fresh.path("sha256:" + HEX)
    with pytest.raises(BundleError, match="not a bundle digest"):
        fresh.has("sha256:xyz")


def test_put_refuses_a_damaged_upload(tmp_path: Path) -> None:
    store = BundleStore(tmp_path / "store")
    data = pack(make_function(tmp_path / "f"))
    with pytest.raises(BundleError, match="not sha256:abab"):
        store.put(data, digest="sha256:" + HEX)
    with pytest.raises(BundleError, match="not a gzip-compressed tar archive"):
        store.put(b"not an archive at all")
    assert not (tmp_path / "store" / "blobs").exists()


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([(entry("/etc/passwd"), b"x")], "must be relative"),
        ([(entry("../escape.py"), b"x")], "must be relative"),
        ([(entry("a/../../escape.py"), b"x")], "must be relative"),
        ([(entry("up", kind=tarfile.SYMTYPE, link="../outside"), None)], "link leads outside"),
        ([(entry("abs", kind=tarfile.SYMTYPE, link="/etc/passwd"), None)], "absolute path"),
        ([(entry("hard", kind=tarfile.LNKTYPE, link="../../etc/passwd"), None)], "hard link"),
        ([(entry("hard", kind=tarfile.LNKTYPE, link="/etc/passwd"), None)], "hard link"),
        ([(entry("dev", kind=tarfile.CHRTYPE), None)], "devices, FIFOs"),
        ([(entry("fifo", kind=tarfile.FIFOTYPE), None)], "devices, FIFOs"),
        (
            [
                (entry("dir", kind=tarfile.SYMTYPE, link="."), None),
                (entry("dir/evil", kind=tarfile.SYMTYPE, link=".."), None),
            ],
            "written through a symbolic link",
        ),
        (
            [
                (entry("here", kind=tarfile.SYMTYPE, link="."), None),
                (entry("out", kind=tarfile.SYMTYPE, link="here/.."), None),
            ],
            "out: symbolic link leads outside",
        ),
        ([(entry("twice.py"), b"1"), (entry("twice.py"), b"2")], "appears twice"),
        (
            [(entry("f.py"), b"1"), (entry("copy.py", kind=tarfile.LNKTYPE, link="f.py"), None)],
            "hard links are not allowed",
        ),
        ([(entry("a"), b"1"), (entry("a/b"), b"2")], "a/b: cannot be written"),
        ([(entry("n" * 300), b"1")], "cannot be written: File name too long"),
        (
            [
                (entry("x", kind=tarfile.SYMTYPE, link="."), None),
                (entry("l0", kind=tarfile.SYMTYPE, link="x/.."), None),
                (entry("h", kind=tarfile.LNKTYPE, link="l0/etc/passwd"), None),
            ],
            "hard links are not allowed",  # never read through a chain of links
        ),
    ],
)
def test_put_refuses_unsafe_archives(
    tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], message: str
) -> None:
    store = BundleStore(tmp_path / "store")
    with pytest.raises(BundleError, match=message):
        store.put(archive(*members))
    assert not (tmp_path / "store" / "blobs").exists()
    assert list((tmp_path / "store" / "trees" / "sha256").iterdir()) == []
    assert not (tmp_path / "passwd").exists()


def test_put_enforces_the_size_limit(tmp_path: Path) -> None:
    store = BundleStore(tmp_path / "store", max_size=64 * 1024)
    noise = os.urandom(100 * 1024)
    with pytest.raises(BundleError, match="more than the limit 65536"):
        store.put(archive((entry("noise.bin"), noise)))
    bomb = archive((entry("zeros.bin"), bytes(10 * 2**20)))
    assert len(bomb) < 64 * 1024
    with pytest.raises(BundleError, match="unpacks to more than 65536 bytes"):
        store.put(bomb)


def test_references_round_trip() -> None:
    image = format_reference(namespace="default", name="hello", digest="sha256:" + HEX)
    assert image == f"unkai.local/default/hello@sha256:{HEX}"
    assert parse_reference(image) == BundleRef("default", "hello", "sha256:" + HEX)
    assert str(parse_reference(image)) == image
    assert parse_reference("ghcr.io/acme/hello:1.0") is None
    with pytest.raises(BundleError, match="malformed bundle reference"):
        parse_reference("unkai.local/default/hello:latest")
    with pytest.raises(BundleError, match="cannot name a bundle"):
        format_reference(namespace="Default", name="hello", digest="sha256:" + HEX)


def sparse_archive(apparent_size: int) -> bytes:
    """An archive of one PAX GNU sparse member: a few bytes that claim ``apparent_size``."""
    info = entry("huge.bin")
    info.pax_headers = {
        "GNU.sparse.major": "1",
        "GNU.sparse.minor": "0",
        "GNU.sparse.name": "huge.bin",
        "GNU.sparse.realsize": str(apparent_size),
    }
    map_block = b"1\n0\n0\n".ljust(512, b"\0")
    return archive((info, map_block))


@pytest.mark.slow
def test_put_refuses_sparse_files_and_too_many_entries(tmp_path: Path) -> None:
    store = BundleStore(tmp_path / "store")
    with pytest.raises(BundleError, match="sparse files are not allowed"):
        store.put(sparse_archive(500 * 2**20))
    many = [(entry(f"e{n}"), b"") for n in range(extract.MAX_ENTRIES + 1)]
    with pytest.raises(BundleError, match="more than 20000 entries"):
        store.put(archive(*many))
    assert not (tmp_path / "store" / "blobs").exists()


def test_put_refuses_entries_nested_beyond_the_bound(tmp_path: Path) -> None:
    store = BundleStore(tmp_path / "store")
    deep = "/".join(["d"] * 2000) + "/x.py"  # walking such a tree ran out of stack: a 500
    with pytest.raises(BundleError, match="nested deeper than 64 folders"):
        store.put(archive((entry(deep), b"x")))
    fine = "/".join(["d"] * 63) + "/x.py"
    assert store.has(store.put(archive((entry(fine), b"x"))))


def test_clean_removes_what_an_interrupted_put_left_and_keeps_bundles(tmp_path: Path) -> None:
    store = BundleStore(tmp_path / "store")
    digest = store.put(pack(make_function(tmp_path / "f")))
    trees, blobs = store.root / "trees" / "sha256", store.root / "blobs" / "sha256"
    half = trees / ".unpack-crashed"
    (half / "lib").mkdir(parents=True)
    (half / "lib" / "x.py").write_text("")
    (half / "lib").chmod(0o555)  # unpacked trees are read-only
    (blobs / ".upload-crashed").write_bytes(b"partial")

    store.clean()

    assert sorted(p.name for p in trees.iterdir()) == [digest.removeprefix("sha256:")]
    assert sorted(p.name for p in blobs.iterdir()) == [f"{digest.removeprefix('sha256:')}.tar.gz"]
    assert (store.path(digest) / "func.yaml").exists()
