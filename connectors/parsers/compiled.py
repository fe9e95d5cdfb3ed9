"""The compiled XML field reader (``connectors/parsers/_xmlfields.c``), loaded only if it is the build of
the source beside it, against the lxml in use.

``make codec`` (part of ``make venv``) compiles ``_xmlfields.c`` with its SHA-256 and the lxml version whose
element layout it reads built in; a build that is missing, whose source changed since, or that was built
for another lxml stops the import with one line saying to run ``make codec``: the columnar XML path never
silently runs on another reader than the one its source says.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from types import ModuleType

from lxml import etree

SOURCE = Path(__file__).with_name("_xmlfields.c")


class XmlFieldsBuildError(ImportError):
    """The compiled XML field reader is missing or is not the build of ``_xmlfields.c`` for this lxml."""


def check_build(built_from: str, lxml_version: str, source: Path = SOURCE) -> None:
    """Raise :class:`XmlFieldsBuildError` unless ``built_from`` is the SHA-256 of ``source`` and
    ``lxml_version`` the version of the lxml in use."""
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    if built_from != expected:
        raise XmlFieldsBuildError(
            f"connectors/parsers/_xmlfields is stale: built from a source with SHA-256 {built_from[:12]}…, "
            f"{source.name} is now {expected[:12]}… (run `make codec`)"
        )
    if lxml_version != etree.__version__:
        raise XmlFieldsBuildError(
            f"connectors/parsers/_xmlfields was built for lxml {lxml_version}, lxml {etree.__version__} is installed (run `make codec`)"
        )


def load_xmlfields() -> ModuleType:
    """The compiled XML field reader, checked against its source and lxml."""
    try:
        module = importlib.import_module("connectors.parsers._xmlfields")
    except ImportError as exc:
        raise XmlFieldsBuildError(f"connectors/parsers/_xmlfields is not built (run `make codec`): {exc}") from exc
    check_build(module.SOURCE_SHA256, module.LXML_BUILT_WITH)
    return module
