"""Whether a value is known at synth, answered in Python (no jsii round trip).

The CDK encodes an unresolved value (a token) inside ordinary Python values: a string containing
``${Token[`` (or a list marker ``#{Token[``), or a float whose top 16 bits are ``0xFBFF`` (aws-cdk-lib
``core/lib/private/encoding.ts``: ``DOUBLE_TOKEN_MARKER_BITS = 0xFBFF << 16`` in the high word). Anything
else (a bool, an int, any other float or string, None) is a plain value. The model treats unresolved values
as unknown (None) and skips the rules that need them.
"""

from __future__ import annotations

import struct
from typing import Any

STRING_MARKER = "${Token["
LIST_MARKER = "#{Token["


def is_unresolved(value: Any) -> bool:
    """True when ``value`` is a CDK token encoded in a string, a float or a list of strings."""
    if value is None or isinstance(value, bool | int):
        return False
    if isinstance(value, str):
        return STRING_MARKER in value or LIST_MARKER in value
    if isinstance(value, float):
        return struct.pack(">d", value)[:2] == b"\xfb\xff"
    if isinstance(value, list | tuple):
        return any(isinstance(v, str) and (LIST_MARKER in v or STRING_MARKER in v) for v in value)
    return False


def known(value: Any) -> Any:
    """``value`` when it is plain, else None (the model's "unknown")."""
    return None if is_unresolved(value) else value
