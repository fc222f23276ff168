"""Problems worded the way Knative's webhooks word them.

Knative builds every admission error from a handful of ``apis.FieldError`` constructors
(``ErrMissingField``, ``ErrInvalidValue``, ``ErrOutOfBoundsValue``...). Users search for
those messages, and kubectl shows them, so Unkai keeps the wording and puts the field
path in :class:`~unkai.api.yamlsource.Problem`. Where Knative adds ``Details``, they
follow the message after a colon (or on new lines, for diffs).
"""

from __future__ import annotations

from collections.abc import Sequence

from unkai.api.yamlsource import Path, Problem


def go_value(value: object) -> str:
    """A value as Go's ``%v`` prints it: ``true``, ``100`` (not ``100.0``), ``0.01``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def with_details(message: str, details: str | None) -> str:
    if not details:
        return message
    separator = "\n" if "\n" in details else ": "
    return f"{message}{separator}{details}"


def missing_field(path: Path) -> Problem:
    return Problem(path, "missing field(s)")


def disallowed_field(path: Path) -> Problem:
    return Problem(path, "must not set the field(s)")


def invalid_value(value: object, path: Path, details: str | None = None) -> Problem:
    return Problem(path, with_details(f"invalid value: {go_value(value)}", details))


def invalid_key_name(key: str, path: Path, details: str | None = None) -> Problem:
    return Problem(path, with_details(f'invalid key name "{key}"', details))


def out_of_bounds(value: object, lower: object, upper: object, path: Path) -> Problem:
    text = f"expected {go_value(lower)} <= {go_value(value)} <= {go_value(upper)}"
    return Problem(path, text)


def multiple_one_of(parent: Path, fields: Sequence[str]) -> Problem:
    return Problem(parent, f"expected exactly one, got both: {', '.join(fields)}")


def missing_one_of(parent: Path, fields: Sequence[str]) -> Problem:
    return Problem(parent, f"expected exactly one, got neither: {', '.join(fields)}")


def immutable_changed(path: Path, diff: str) -> Problem:
    return Problem(path, with_details("Immutable fields changed (-old +new)", diff))
