"""The protobuf wire format, read: just enough to walk the fields of a message.

Kubernetes clients send built-in kinds as protobuf (:mod:`.protobuf` gives the fields
their meaning). Walking a message needs nothing but the wire format, so there is no
protobuf library and no generated code: varints, length-delimited values, and the
fixed32/fixed64 values that only unknown fields carry and that are skipped. Groups
(wire types 3 and 4, deprecated since proto2 and never sent by Kubernetes) are refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from unkai.errors import UserError

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
WIRE_TYPES = {
    VARINT: "a varint",
    FIXED64: "fixed64",
    LENGTH: "length-delimited",
    FIXED32: "fixed32",
}
_FIXED_SIZES = {FIXED64: 8, FIXED32: 4}


class WireError(UserError, ValueError):
    """The bytes are not a well-formed message; the text says what is wrong and where."""


@dataclass(frozen=True)
class Field:
    """One field occurrence: varints as ints, everything else as its raw bytes.

    ``offset`` is where the value starts, counted from the start of the whole body, so
    errors found deep inside nested messages still point at the right byte."""

    number: int
    wire_type: int
    value: int | bytes
    offset: int


def read_varint(data: bytes, pos: int, *, base: int, where: str) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it (at most 10 bytes, as in protobuf)."""
    result = 0
    for shift in range(0, 70, 7):
        if pos >= len(data):
            raise WireError(f"{where}: truncated varint at byte {base + pos}")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
    raise WireError(f"{where}: varint longer than 10 bytes at byte {base + pos - 10}")


def fields(data: bytes, *, base: int, where: str) -> Iterator[Field]:
    """The fields of one message in wire order; ``base`` is the message's offset in the
    body and ``where`` names it in errors (``ConfigMap.metadata``)."""
    pos = 0
    while pos < len(data):
        start = pos
        key, pos = read_varint(data, pos, base=base, where=where)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError(f"{where}: field number 0 at byte {base + start}")
        if wire_type == VARINT:
            value, end = read_varint(data, pos, base=base, where=where)
            yield Field(number, wire_type, value, base + pos)
            pos = end
            continue
        if wire_type == LENGTH:
            size, pos = read_varint(data, pos, base=base, where=where)
        elif wire_type in _FIXED_SIZES:
            size = _FIXED_SIZES[wire_type]
        else:
            raise WireError(
                f"{where}: field {number} has unsupported wire type {wire_type} "
                f"at byte {base + start}"
            )
        if pos + size > len(data):
            raise WireError(
                f"{where}: field {number} needs {size} bytes at byte {base + pos}, "
                f"but only {len(data) - pos} remain"
            )
        yield Field(number, wire_type, data[pos : pos + size], base + pos)
        pos += size
