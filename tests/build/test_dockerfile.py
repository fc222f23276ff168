"""``unkai build --dockerfile``: the same image for docker or podman."""

from pathlib import Path

from click.testing import CliRunner

import unkai
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
    assert (
        "RUN pip freeze --path /opt/unkai/runtime --exclude unkai"
        " > /tmp/runtime-constraints.txt \\\n"
        "    && pip install --no-cache-dir --no-compile --target /opt/unkai/deps"
        ' -c /tmp/runtime-constraints.txt "greeting==1.0" \\\n'
    ) in text
    assert "COPY . /app" in lines
    assert "USER 65532:65532" in lines
    assert lines[-1] == 'ENTRYPOINT ["python3", "-m", "unkai.runtime", "/app"]'


def test_without_a_wheel_the_dockerfile_says_how_to_make_one(hello: Path) -> None:
    result = CliRunner().invoke(cli, ["build", str(hello), "--dockerfile"])

    assert result.exit_code == 0, result.output
    assert f"'unkai=={unkai.__version__}'" in result.stdout
    assert f"again with --unkai-wheel FILE: {dockerfile.wheel_command()}" in result.stdout
    assert "pip wheel --no-deps --wheel-dir ." in dockerfile.wheel_command()


def test_a_wheel_in_the_context_is_bind_mounted_and_installed_instead_of_the_index_pin(
    hello: Path,
) -> None:
    wheels = hello / "wheels"
    wheels.mkdir()
    name = f"unkai-{unkai.__version__}-py3-none-any.whl"
    (wheels / name).write_bytes(b"PK")

    result = CliRunner().invoke(
        cli, ["build", str(hello), "--dockerfile", "--unkai-wheel", str(wheels / name)]
    )

    assert result.exit_code == 0, result.output
    text = result.stdout
    assert (
        f"RUN --mount=type=bind,source=wheels/{name},target=/tmp/unkai-wheel/{name} "
        "pip install --no-cache-dir --no-compile --no-deps --target /opt/unkai/runtime \\\n"
        f"    '/tmp/unkai-wheel/{name}' \\\n"
    ) in text
    assert "'unkai==" not in text
    assert "--unkai-wheel FILE" not in text
    others = [pin for pin in dockerfile.runtime_pins() if not pin.startswith("unkai==")]
    assert len(others) == len(dockerfile.runtime_pins()) - 1
    for pin in others:
        assert f"'{pin}'" in text


def test_a_wheel_outside_the_context_or_not_unkais_is_refused(hello: Path, tmp_path: Path) -> None:
    outside = tmp_path / "unkai-1.0-py3-none-any.whl"
    outside.write_bytes(b"PK")
    other = hello / "rich-13.0-py3-none-any.whl"
    other.write_bytes(b"PK")

    far = CliRunner().invoke(
        cli, ["build", str(hello), "--dockerfile", "--unkai-wheel", str(outside)]
    )
    wrong = CliRunner().invoke(
        cli, ["build", str(hello), "--dockerfile", "--unkai-wheel", str(other)]
    )

    assert far.exit_code == 2
    assert f"{outside} is not in {hello}, the build context" in far.output
    assert wrong.exit_code == 2
    assert f"{other} is not a wheel of unkai" in wrong.output
