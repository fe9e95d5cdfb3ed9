"""XML layouts as data: which element is a record, where each column sits, its type, whether
it is required, and how a file says which layout it follows.

A source family (tax invoices, waybills …) declares one :class:`XmlLayout` per layout a
counterparty sends (see :mod:`connectors.parsers.layouts`); a new counterparty's layout is
a new declaration, not new parsing code.  :func:`detect` picks a file's layout from its
header or its first record; :meth:`XmlLayout.read` turns one record into typed values by
column, quarantining the record (:class:`BadRecord`) when a required field is missing or a
value does not parse, the field named by its path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from connectors.parsers import fields as F
from connectors.parsers.base import BadRecord, FileRejected
from foundation.vocabulary import QuarantineReason

#: A field's type: ``(path, text)`` → typed value (``None`` when empty), raising :class:`BadRecord`.
Convert = F.Convert[Any]
#: How a field found several times in a record (one per vehicle …) becomes one value.
Combine = Callable[[list[Any]], Any]


@dataclass(frozen=True)
class Field:
    """One column read from one path below the record element."""

    column: str
    path: str
    convert: Convert
    required: bool = False
    combine: Combine | None = None  # the path repeats in a record: combine its values (else: at most once)


@dataclass(frozen=True)
class XmlLayout:
    """How one layout of a source family's XML files is read.

    ``roots``: the tags of a batch file's root (a record may also be the root itself);
    ``version``: the text at ``version_path`` below the root (in the header) naming this
    layout, ``None`` for the layout of files that name none; ``marker``: a path whose
    presence in a record shows this layout when the header names none; ``derived``: columns
    the layout does not carry but the contract defines from others (column → function of
    the read values).
    """

    name: str
    record: str
    roots: frozenset[str]
    fields: tuple[Field, ...]
    version: str | None = None
    version_path: str | None = None
    marker: str | None = None
    derived: Mapping[str, Callable[[Mapping[str, Any]], Any]] = field(default_factory=dict)
    groups: tuple[str, ...] = ()  # repeating child records (invoice lines …), given as elements
    _tree: dict[str, _Node] = field(init=False, repr=False, compare=False)
    _plan: tuple[_Step, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tree", _compile(self.fields, self.groups))
        object.__setattr__(self, "_plan", tuple(
            (f.column, f.path, F.remembered(f.convert), f.required, f.combine, f"{f.path} is missing (required by the "
             f"{self.name} layout)") for f in self.fields
        ))

    def path(self, column: str) -> str:
        """The path a column is read from (for messages naming the field)."""
        return next(f.path for f in self.fields if f.column == column)

    def read(self, elem: etree._Element) -> dict[str, Any]:
        """The typed values of a record by column (``None`` for what it lacks or the layout does not carry).

        The elements of each of :attr:`groups` are under the group's path, in document order.

        Raises :class:`BadRecord` naming the path of a required field that is missing, of a
        value that does not parse, or of a single field given twice; raises
        :class:`NoLayout` when the record carries none of the layout's fields.
        """
        texts: dict[str, list[str | None]] = {}
        elements: dict[str, list[etree._Element]] = {}
        _walk(elem, self._tree, texts, elements)
        if not texts and not elements:
            raise NoLayout(f"<{elem.tag}> holds none of the fields of the {self.name} layout")
        out: dict[str, Any] = {g: elements.get(g, []) for g in self.groups}
        for column, path, convert, required, combine, missing in self._plan:
            found = texts.get(path)
            if found is None:
                value = None
            elif combine is None:
                if len(found) > 1:
                    raise BadRecord(QuarantineReason.DUPLICATE_FIELD, f"<{path}> appears twice")
                value = convert(path, found[0])
            else:
                typed = [v for v in (convert(path, t) for t in found) if v is not None]
                value = combine(typed) if typed else None
            if value is None and required:
                raise BadRecord(QuarantineReason.MISSING_FIELD, missing)
            out[column] = value
        for column, derive in self.derived.items():
            out[column] = derive(out)
        return out


#: A field as :meth:`XmlLayout.read` takes it: column, path, converter (remembering its results
#: where it may: :func:`connectors.parsers.fields.remembered`), required, combine, the message when missing.
_Step = tuple[str, str, Convert, bool, Combine | None, str]


class NoLayout(BadRecord):
    """A record that carries none of its layout's fields."""

    def __init__(self, reason: str) -> None:
        super().__init__(QuarantineReason.UNKNOWN_LAYOUT, reason)


def detect(layouts: Iterable[XmlLayout], root: etree._Element | None, first: etree._Element) -> XmlLayout:
    """The layout of a file, from its root (header) and its first record.

    A header naming a version picks the layout of that version, and a version no layout
    declares rejects the file; else the first layout whose marker the record holds, else the
    layout that names no version and has no marker.
    """
    layouts = tuple(layouts)
    paths = {lay.version_path for lay in layouts if lay.version_path}
    named = next((v.strip() for p in paths if root is not None and (v := root.findtext(p)) and v.strip()), None)
    if named is not None:
        for lay in layouts:
            if lay.version == named:
                return lay
        known = ", ".join(lay.version or lay.name for lay in layouts)
        raise FileRejected(QuarantineReason.UNKNOWN_LAYOUT, f"the header names layout {named!r}, which is none of the known ({known})")
    for lay in layouts:
        if lay.marker is not None and first.find(lay.marker) is not None:
            return lay
    return next(lay for lay in layouts if lay.version is None and lay.marker is None)


class _Node:
    """What is wanted of an element met on a layout's paths: its text (a field path), attributes
    (``name`` → field path), its whole element (a group), and/or elements below it."""

    __slots__ = ("attributes", "children", "group", "text")

    def __init__(self) -> None:
        self.text: str | None = None
        self.attributes: list[tuple[str, str]] = []
        self.group: str | None = None
        self.children: dict[str, _Node] = {}


def _compile(fields: Iterable[Field], groups: Iterable[str]) -> dict[str, _Node]:
    """The tree of wanted paths.  ``a/b`` is the text of ``b`` below ``a``, ``a/b/@c`` its attribute ``c``."""
    tree: dict[str, _Node] = {}
    for path, is_group in [*((f.path, False) for f in fields), *((g, True) for g in groups)]:
        tags = path.split("/")
        attribute = tags.pop()[1:] if tags[-1].startswith("@") else None
        nodes = tree
        for tag in tags[:-1]:
            nodes = nodes.setdefault(tag, _Node()).children
        node = nodes.setdefault(tags[-1], _Node())
        if attribute is not None:
            node.attributes.append((attribute, path))
        elif is_group:
            node.group = path
        elif node.text is None:
            node.text = path
        else:
            raise ValueError(f"{path} given twice")
    return tree


def _walk(
    elem: etree._Element,
    tree: dict[str, _Node],
    texts: dict[str, list[str | None]],
    elements: dict[str, list[etree._Element]],
) -> None:
    """Collect the texts and attributes of the wanted fields and the elements of the groups,
    descending into every element on a wanted path (so a path under a repeating element — one
    per vehicle — is met once per repetition)."""
    for child in elem:
        node = tree.get(child.tag)
        if node is None:
            continue
        if node.text is not None:
            texts.setdefault(node.text, []).append(child.text)
        for name, path in node.attributes:
            texts.setdefault(path, []).append(child.get(name))
        if node.group is not None:
            elements.setdefault(node.group, []).append(child)
        elif node.children:
            _walk(child, node.children, texts, elements)


def total(values: list[Any]) -> Any:
    """Combine repeated numbers by their sum (exact: ``Decimal`` or ``int``)."""
    return sum(values[1:], values[0])


def joined(values: list[Any]) -> str:
    """Combine repeated texts: the distinct ones, in document order, joined by ``; ``."""
    return "; ".join(dict.fromkeys(values))
