"""The vectorized converters' own checks against their plain definitions (:mod:`connectors.parsers.vectorized`)."""

from __future__ import annotations

import re

import pyarrow as pa

from connectors.parsers import vectorized as V
from foundation import values

_KEPT_IDENTIFIER = re.compile("[!-~]+")
"""What :func:`foundation.values.normalise_identifier` keeps as it is: printable ASCII, no space (the definition the
compiled-kernel check replaced)."""


def _kept(text: str | None) -> bool:
    return text is not None and _KEPT_IDENTIFIER.fullmatch(text) is not None and len(text) <= values.MAX_TEXT_CHARS


def test_identifier_check_is_printable_ascii_without_space_on_every_code_point() -> None:
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    texts: list[str | None] = [*chars, *(f"A{c}9" for c in chars[:0x3000]), "", None, " A", "A ", "A B", "\tA",
                               "a" * values.MAX_TEXT_CHARS, "a" * (values.MAX_TEXT_CHARS + 1), "é" * 3, "91440300MA5FXXXX1A"]
    got = V._identifier_ok(pa.array(texts, pa.string())).to_pylist()
    wrong = [t for t, ok in zip(texts, got, strict=True) if ok != _kept(t)]
    assert not wrong, wrong[:10]
    assert sum(got) == 94 + 94 + 2  # the 94 printable characters alone and inside "A…9", the bound and the USCC
