"""``unkai build --dockerfile``: the same image for docker or podman."""

from pathlib import Path

from click.testing import CliRunner

from unkai.build import dockerfile, pins
from unkai.cli.main import cli


def test_dockerfile_installs_pinned_runtime_and_requirements_and_runs_as_non_root(
    hello: Path,
) -> None:
    result = CliRunner().invoke(cli, ["build", str(hello), "--dockerfile", "--base-image", "b:1"])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "FROM b:1" in lines
    text = result.stdout
    for pin in dockerfile.runtime_pins():
        assert f"'{pin}'" in text
    pinned = {pin.partition("==")[0] for pin in dockerfile.runtime_pins()}
    assert {"unkai", "uvicorn", "pydantic-core"} <= pinned
    assert "rich" in pins.runtime_versions()
    assert "'rich==" not in text  # the CLI's, not the function runtime's
    assert 'pip install --no-cache-dir --target /opt/unkai/deps "greeting==1.0"' in text
    assert "COPY . /app" in lines
    assert "USER 65532:65532" in lines
    assert lines[-1] == 'ENTRYPOINT ["python3", "-m", "unkai.runtime", "/app"]'
