"""Name rules: DNS labels, qualified names, metadata names, Knative's child names.

Aspects: the apimachinery messages users see; a 63-character Service still gets
63-character (hashed) revision names, as ``kmeta.ChildName`` makes them.
"""

import pytest

from unkai.api.knative import names


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("hello", True),
        ("a", True),
        ("hello-world-2", True),
        ("2hello", False),
        ("Hello", False),
        ("hello-", False),
        ("hel.lo", False),
        ("a" * 63, True),
        ("a" * 64, False),
    ],
)
def test_dns1035_label(value: str, valid: bool) -> None:
    assert (names.dns1035_label(value) == []) is valid


def test_dns1035_messages_are_apimachinery_s() -> None:
    assert names.dns1035_label("a" * 64) == ["must be no more than 63 characters"]
    [message] = names.dns1035_label("Hello")
    assert message.startswith("a DNS-1035 label must consist of lower case alphanumeric")


def test_dns1035_prefix_allows_trailing_dash() -> None:
    assert names.dns1035_label("hello-", prefix=True) == []


@pytest.mark.parametrize(
    ("value", "valid"),
    [("hello", True), ("2hello", True), ("-a", False), ("A", False)],
)
def test_dns1123_label(value: str, valid: bool) -> None:
    assert (names.dns1123_label(value) == []) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [("my-sa", True), ("sa.team.example", True), ("Bad_SA", False), ("a" * 254, False)],
)
def test_dns1123_subdomain(value: str, valid: bool) -> None:
    assert (names.dns1123_subdomain(value) == []) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("hello-00001", True),
        ("My.Name_1", True),
        ("example.com/name", True),
        ("-bad", False),
        ("a/", False),
        ("/a", False),
        ("a" * 64, False),
    ],
)
def test_qualified_name(value: str, valid: bool) -> None:
    assert (names.qualified_name(value) == []) is valid


@pytest.mark.parametrize(
    ("parent", "suffix", "expected"),
    [
        ("hello", "-00001", "hello-00001"),
        ("a" * 57, "-00001", "a" * 57 + "-00001"),
        # Longer parents keep 25 characters, add the MD5 of the parent, then the suffix.
        ("a" * 58, "-00001", "a" * 25 + "dc2f2f2462a0d72358b2f99389458606" + "-00001"),
    ],
)
def test_child_name_matches_kmeta(parent: str, suffix: str, expected: str) -> None:
    name = names.child_name(parent, suffix)
    assert name == expected
    assert len(name) <= 63
    assert names.dns1035_label(name) == []
