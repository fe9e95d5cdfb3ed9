"""The project's C extensions, loaded only as the build of the source beside them.

``make codec`` (part of ``make venv``) compiles each extension with its source's SHA-256 built in
(``SOURCE_SHA256``); a build that is missing, or whose source changed since, stops the import with
one line saying to run ``make codec``: the engine never silently runs code other than its source says.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from types import ModuleType


class BuildError(ImportError):
    """A compiled extension is missing, or is not the build of its source (or of the library it reads)."""


def check_source(name: str, built_from: str, source: Path) -> None:
    """Raise :class:`BuildError` unless ``built_from`` is the SHA-256 of ``source`` (``name``: the extension's path)."""
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    if built_from != expected:
        raise BuildError(
            f"{name} is stale: built from a source with SHA-256 {built_from[:12]}…, {source.name} is now "
            f"{expected[:12]}… (run `make codec`)"
        )


def import_built(module: str, name: str) -> ModuleType:
    """The extension ``module`` (``name``: its path), or :class:`BuildError` if it is not built."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BuildError(f"{name} is not built (run `make codec`): {exc}") from exc
