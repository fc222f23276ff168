"""Which wheels fit an image: its platform and Python, read from the base image's config."""

import sys

import pytest

from unkai.build.platforms import PlatformError, Target, of_config


def test_the_python_of_the_official_images_is_read_from_their_env() -> None:
    config = {"os": "linux", "architecture": "arm64",
              "config": {"Env": ["PATH=/usr/local/bin", "PYTHON_VERSION=3.12.7"]}}  # fmt: skip
    assert of_config(config, None) == Target("linux", "arm64", "3.12")
    assert of_config(config, "3.13") == Target("linux", "arm64", "3.13")


def test_without_a_python_version_the_image_gets_this_interpreters() -> None:
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert of_config({"os": "linux", "architecture": "amd64"}, None).python == running


def test_pip_is_asked_for_the_targets_wheels_only() -> None:
    options = Target("linux", "arm64", "3.12").pip_options()
    assert "--platform=manylinux2014_aarch64" in options
    assert "--platform=manylinux_2_17_aarch64" in options
    assert not any("x86_64" in option for option in options)
    assert options[-3:] == ["--python-version=3.12", "--implementation=cp", "--only-binary=:all:"]


def test_a_platform_without_linux_wheels_is_refused_by_name() -> None:
    with pytest.raises(PlatformError, match=r"cannot install wheels for windows/amd64"):
        Target("windows", "amd64", "3.12").pip_options()


def test_another_python_is_not_this_machine() -> None:
    assert not Target("linux", "amd64", "3.9").is_host()
