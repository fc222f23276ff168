"""Kubeconfig for `unkai kubeconfig`: a working context, merged without losing the user's."""

import stat
from pathlib import Path

from unkai.kube import kubeconfig


def ours(server: str, token: str) -> dict[str, object]:
    """What `unkai up` writes for itself (one context, named unkai)."""
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": "unkai",
        "clusters": [{"name": "unkai", "cluster": {"server": server}}],
        "users": [{"name": "unkai", "user": {"token": token}}],
        "contexts": [{"name": "unkai", "context": {"cluster": "unkai", "user": "unkai"}}],
    }  # fmt: skip


def test_merge_keeps_other_contexts_and_replaces_ours() -> None:
    existing = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "prod",
        "clusters": [
            {"name": "prod", "cluster": {"server": "https://prod"}},
            {"name": "unkai", "cluster": {"server": "http://old"}},
        ],
        "users": [{"name": "prod", "user": {"token": "p"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "prod"}}],
    }
    mine = ours("http://127.0.0.1:9000", "new")
    merged = kubeconfig.merge(existing, mine, use=False)
    assert merged["current-context"] == "prod"
    servers = {c["name"]: c["cluster"]["server"] for c in merged["clusters"]}
    assert servers == {"prod": "https://prod", "unkai": "http://127.0.0.1:9000"}
    assert [u["name"] for u in merged["users"]] == ["prod", "unkai"]
    assert kubeconfig.merge(existing, mine, use=True)["current-context"] == "unkai"


def test_saved_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "kube" / "config"
    kubeconfig.save(path, ours("http://x", "secret"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert kubeconfig.load(path)["users"][0]["user"]["token"] == "secret"
