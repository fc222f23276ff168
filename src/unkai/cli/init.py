"""``unkai init``: scaffold a working function from a template."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

from unkai.api import funcyaml
from unkai.cli import console
from unkai.kube import checks

TEMPLATES = ("http", "cloudevent", "asgi", "event")


def existing_code(directory: Path, *, name: str) -> str | None:
    """What to do instead of scaffolding, when ``directory`` already holds a function or
    Python code: a template's ``func.py`` beside someone's ``app.py`` would be served
    instead of their code, so the user is shown how to serve theirs."""
    if (directory / funcyaml.FILENAME).exists():
        return (
            f"{directory} already is a function (it has {funcyaml.FILENAME}): run it with "
            f"`unkai run {directory}`, deploy it with `unkai deploy {directory}`"
        )
    sources = sorted(path for path in directory.glob("*.py") if not path.name.startswith("test"))
    if not sources:
        return None
    here = "this folder" if directory == Path() else str(directory)
    candidates = []
    for source in sources:
        try:
            defined = checks.top_level(source).callables
        except checks.FunctionCodeError:
            continue
        candidates += [f"{source.stem}:{callable_}" for callable_ in defined]
    example = candidates[0] if candidates else "MODULE:FUNCTION"
    listed = f" (callables found: {', '.join(candidates[:8])})" if candidates else ""
    return (
        f"{here} has code already ({', '.join(path.name for path in sources)}): to serve "
        f"it, write {directory / funcyaml.FILENAME} naming the function to call{listed}:\n"
        f"  name: {name}\n  entrypoint: {example}\n"
        f"then `unkai run {directory}`. For a new function instead, choose another --path."
    )


def scaffold(directory: Path, *, name: str, template: str) -> list[Path]:
    """Write the template's files into ``directory``; refuse to overwrite anything."""
    source = resources.files("unkai") / "templates" / template
    entries = sorted(
        (entry for entry in source.iterdir() if entry.is_file() and entry.name != "__pycache__"),
        key=lambda entry: entry.name,
    )
    targets = [directory / entry.name for entry in entries]
    clashes = [str(target) for target in targets if target.exists()]
    if clashes:
        raise console.Failure(f"refusing to overwrite existing files: {', '.join(clashes)}")
    directory.mkdir(parents=True, exist_ok=True)
    for entry, target in zip(entries, targets, strict=True):
        target.write_text(entry.read_text().replace("{{name}}", name))
    return targets


@click.command()
@click.argument("name")
@click.option(
    "--template",
    "-t",
    type=click.Choice(TEMPLATES),
    default="http",
    show_default=True,
    help="Function signature to start from.",
)
@click.option(
    "--path",
    "-p",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to create (default: ./NAME).",
)
def init(name: str, template: str, directory: Path | None) -> None:
    """Create a new function NAME with func.yaml, func.py, requirements and a test."""
    try:
        funcyaml.FuncSpec(name=name)
    except ValueError:
        raise console.Failure(
            f"{name!r} is not a valid function name: use lowercase letters, digits and '-', "
            "starting with a letter (it becomes the service's DNS name)"
        ) from None
    target = directory or Path(name)
    advice = existing_code(target, name=name) if target.is_dir() else None
    if advice is not None:
        raise console.Failure(advice)
    written = scaffold(target, name=name, template=template)
    console.out.print(f"Created [bold]{name}[/] ({template}) in {target}/:")
    for path in written:
        console.out.print(f"  {path.name}")
    console.out.print(f"\nNext: [bold]unkai run {target}[/]  then  [bold]unkai invoke {target}[/]")
