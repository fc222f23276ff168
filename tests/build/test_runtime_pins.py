"""A function's requirements never replace the runtime's own packages.

Aspects: the runtime's distributions are Unkai's dependencies taken transitively (no
dev extras); a requirement ruling out a runtime version fails naming requirement,
package and version (directly or through a dependency); a compatible one installs
without a copy of the runtime's package in the environment, whatever newer version
the index offers; the runtime's versions are part of the key; pip's conflict report
is read into words.
"""

from importlib import metadata
from pathlib import Path

import pytest
from tests.build.conftest import PythonIn
from tests.support.wheels import make_wheel

from unkai.build import environments, pins
from unkai.build.pip import runtime_conflicts

STARLETTE = metadata.version("starlette")
CLOUDEVENTS = metadata.version("cloudevents")


@pytest.fixture
def starlettes(wheelhouse: Path) -> Path:
    """An index offering starlette older, newer and as the runtime has it (all fakes)."""
    for version in ("0.0.5", STARLETTE, "99.0"):
        source = f"raise ImportError('fake starlette {version} shadows the runtime')\n"
        make_wheel(wheelhouse, name="starlette", version=version, module_source=source)
    make_wheel(wheelhouse, name="needs-old", version="1.0", requires=["starlette<0.1"])
    make_wheel(wheelhouse, name="needs-recent", version="1.0", requires=["starlette>=0.1"])
    return wheelhouse


def test_runtime_is_unkai_and_what_it_needs_transitively() -> None:
    versions = pins.runtime_versions()
    assert versions["unkai"] == metadata.version("unkai")
    assert versions["starlette"] == STARLETTE
    assert versions["cloudevents"] == CLOUDEVENTS
    assert "anyio" in versions  # through starlette
    assert "pydantic-core" in versions  # through pydantic
    assert "pytest" not in versions  # unkai[dev] is not the runtime
    assert f"starlette=={STARLETTE}" in pins.constraints()


def test_requirement_ruling_out_the_runtime_version_is_named(
    tmp_path: Path, starlettes: Path
) -> None:
    root = tmp_path / "cache"
    with pytest.raises(environments.RequirementsError) as caught:
        environments.prepare(["needs-old"], root=root)
    message = str(caught.value)
    assert "runtime" in message
    assert f"needs-old 1.0 requires starlette<0.1, but the runtime uses starlette {STARLETTE}" in (
        message
    )
    assert list((root / "envs").iterdir()) == []


def test_direct_pin_of_a_runtime_package_is_named(tmp_path: Path, wheelhouse: Path) -> None:
    with pytest.raises(environments.RequirementsError) as caught:
        environments.prepare(["cloudevents==1.11.0"], root=tmp_path)
    assert (
        f"the function requires cloudevents==1.11.0, but the runtime uses cloudevents {CLOUDEVENTS}"
    ) in str(caught.value)


def test_compatible_requirement_uses_the_runtime_copy(
    tmp_path: Path, starlettes: Path, python_in: PythonIn
) -> None:
    environment = environments.prepare(["needs-recent"], root=tmp_path)
    assert environment.site is not None
    installed = sorted(path.name for path in environment.site.iterdir())
    assert installed == ["needs_recent", "needs_recent-1.0.dist-info"]
    code = "import needs_recent, starlette, importlib.metadata as m; print(m.version('starlette'))"
    assert python_in(environment, code) == STARLETTE


def test_runtime_versions_are_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = environments.environment_key(["greeting"])
    monkeypatch.setattr(pins, "constraints", lambda: ["starlette==0.0.1"])
    assert environments.environment_key(["greeting"]) != before


PIP_REPORT = """
The conflict is caused by:
    The user requested fastapi==0.1
    fastapi 0.1 depends on starlette<0.2
    other 2.0 depends on starlette>=1
    The user requested (constraint) starlette==1.10.0

To fix this you could try to:
"""


def test_conflict_report_names_what_rules_the_runtime_out() -> None:
    assert runtime_conflicts(PIP_REPORT, {"starlette": "1.10.0"}) == [
        "fastapi 0.1 requires starlette<0.2, but the runtime uses starlette 1.10.0"
    ]


def test_conflict_with_nothing_ruled_out_means_the_version_was_not_found() -> None:
    report = PIP_REPORT.replace("    fastapi 0.1 depends on starlette<0.2\n", "")
    (only,) = runtime_conflicts(report, {"starlette": "1.10.0"})
    assert "other 2.0 requires starlette>=1: the runtime's starlette 1.10.0 fits" in only
    assert "pip found no starlette 1.10.0" in only
    assert runtime_conflicts("ERROR: nothing like a conflict", {"starlette": "1.10.0"}) == []
