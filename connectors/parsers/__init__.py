"""Parsers: one module per source family, streaming, emitting Arrow record batches and
quarantine records (see docs/ARCHITECTURE.md, "Parsers").

Which parser reads a file is its input kind's declaration (:mod:`connectors.kinds`, whose
:func:`~connectors.kinds.parse_file` dispatches): a CSV kind is read through its layout
(:mod:`connectors.parsers.csvlayout`), an XML kind by its family's parser over the declared
XML layouts (:mod:`connectors.parsers.layouts`).  A record that breaks the format goes to
``sink.quarantine`` and is skipped; a file that cannot be parsed at all raises
:class:`FileRejected`.
"""

from __future__ import annotations

from connectors.parsers.base import FileRejected, ParseContext, Sink

__all__ = ["FileRejected", "ParseContext", "Sink"]
