"""The compiled codec (``ledger/_codec.c``), loaded only if it is the build of the source beside it
(:mod:`foundation.compiled`): the ledger never silently runs on another encoder than its source says."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from foundation.compiled import check_source, import_built

SOURCE = Path(__file__).with_name("_codec.c")
NAME = "ledger/_codec"


def check_build(built_from: str, source: Path = SOURCE) -> None:
    """Raise :class:`~foundation.compiled.BuildError` unless ``built_from`` is the SHA-256 of ``source``."""
    check_source(NAME, built_from, source)


def load_codec() -> ModuleType:
    """The compiled codec module, checked against its source."""
    codec = import_built("ledger._codec", NAME)
    check_build(codec.SOURCE_SHA256)
    return codec
