"""The compiled codec (``ledger/_codec.c``), loaded only if it is the build of the source beside it.

``make codec`` (part of ``make venv``) compiles ``_codec.c`` with its SHA-256 built in; a build
that is missing, or whose source changed since, stops the import with one line saying to run
``make codec``: the ledger never silently runs on another encoder than the one its source says.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from types import ModuleType

SOURCE = Path(__file__).with_name("_codec.c")


class CodecBuildError(ImportError):
    """The compiled codec is missing or is not the build of ``ledger/_codec.c``."""


def check_build(built_from: str, source: Path = SOURCE) -> None:
    """Raise :class:`CodecBuildError` unless ``built_from`` is the SHA-256 of ``source``."""
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    if built_from != expected:
        raise CodecBuildError(
            f"ledger/_codec is stale: built from a source with SHA-256 {built_from[:12]}…, {source.name} is now "
            f"{expected[:12]}… (run `make codec`)"
        )


def load_codec() -> ModuleType:
    """The compiled codec module, checked against its source."""
    try:
        codec = importlib.import_module("ledger._codec")
    except ImportError as exc:
        raise CodecBuildError(f"ledger/_codec is not built (run `make codec`): {exc}") from exc
    check_build(codec.SOURCE_SHA256)
    return codec
