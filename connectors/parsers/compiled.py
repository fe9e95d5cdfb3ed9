"""The compiled XML field reader (``connectors/parsers/_xmlfields.c``), loaded only if it is the build of
the source beside it, against the lxml in use.

``make codec`` (part of ``make venv``) compiles ``_xmlfields.c`` with its SHA-256 and the lxml version whose
element layout it reads built in; a build that is missing, whose source changed since, or that was built
for another lxml stops the import with one line saying to run ``make codec``: the columnar XML path never
silently runs on another reader than the one its source says.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from lxml import etree

from foundation.compiled import BuildError, check_source, import_built

SOURCE = Path(__file__).with_name("_xmlfields.c")
NAME = "connectors/parsers/_xmlfields"


def check_build(built_from: str, lxml_version: str, source: Path = SOURCE) -> None:
    """Raise :class:`~foundation.compiled.BuildError` unless ``built_from`` is the SHA-256 of ``source`` and
    ``lxml_version`` the version of the lxml in use."""
    check_source(NAME, built_from, source)
    if lxml_version != etree.__version__:
        raise BuildError(f"{NAME} was built for lxml {lxml_version}, lxml {etree.__version__} is installed (run `make codec`)")


def load_xmlfields() -> ModuleType:
    """The compiled XML field reader, checked against its source and lxml."""
    module = import_built("connectors.parsers._xmlfields", NAME)
    check_build(module.SOURCE_SHA256, module.LXML_BUILT_WITH)
    return module
