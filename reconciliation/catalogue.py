"""The check catalogue, read from the header blocks of the check SQL files.

Every check is one SQL file of ``reconciliation/sql`` named in capitals (``<CHECK_ID>.sql``),
whose text begins with its header, a TOML block in a SQL comment (as sqlmesh audits carry
theirs)::

    /* check
    id = "INVOICE_NOT_IN_TAX_DATA"
    family = "first"            # what it reads: Family (first, trade, ledger, source, pool)
    category = "fake_trade"     # Category of OUTPUTS.md
    severity = "high"           # Severity when the query leaves it NULL
    title = "Invoice unknown to the tax data"
    rule = '''
    The sentence docs/CHECKS.md prints; {pending} inserts a shared note (NOTES).
    '''
    [params]                    # every getvariable() the body reads, with its default
    evidence_window_days = 7
    */
    SELECT ...                  -- the body: check_sql(check_id)

A file may hold several headers whose checks share its body (``LEDGER.sql``, ``DQ_SOURCE.sql``,
``POOL.sql``: the body tells them apart by ``getvariable('check_id')``).  The catalogue is
parsed once, at import, and validated: an unknown key, family, category, severity or note, a
parameter that is neither an integer nor a string, two defaults for one parameter, a body
reading a parameter its header does not declare, a vocabulary placeholder naming no member
(the body writes ``{{Severity.HIGH}}``, never ``'high'``: :mod:`reconciliation.vocabulary`), a
missing field or a duplicate id fail with the file named.  Checks run family by family (:class:`Family` order), by file name within one.
``docs/CHECKS.md`` is generated from the catalogue (``scf checks --write``); a test keeps it equal.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, TypeVar

from foundation.vocabulary import FinancingStatus
from reconciliation.check import Category, Check, Family, Severity
from reconciliation.vocabulary import expand_vocabulary

#: Sentences several rules share, inserted where a rule names them (``{name}``).
NOTES: Mapping[str, str] = {
    "pending": (
        "Not yet is not absent: a source is judged at the grain of whoever delivers it (one core's ERP "
        "file, one carrier's waybills, the tax platform's nightly invoices). When the source that would "
        "hold the record has not delivered since a night from evidence_window_days before the financing's "
        "first night on (or never has; a late delivery brings the nights it missed), or its last delivery in "
        "that time arrived after the night's cut-off (DQ_SOURCE_LATE) or held no record (DQ_SOURCE_EMPTY), "
        "or a file of it was quarantined whole in that time, or a quarantined record of it names the document, the finding is "
        "pending (medium, data_quality, \"Evidence pending since …\", naming the source) until "
        "evidence_window_days after the financing's first night; then the finding stands."
    ),
    "four_flow_waybills": (
        "Waybills are those of the four-flow match: the ones citing the trade's order number, or, without "
        "one, the seller's shipments to the buyer within the date window whose quantity agrees with the invoice."
    ),
    "split_family": (
        "The financing the refused event or row names is implicated; when the refused event would have "
        "created a voucher (an ISSUE or SPLIT), so is every live financing of that voucher or of a voucher "
        "split from it, whenever it arrives. A refused TRANSFER or FINANCE moved nothing: the financings "
        "made before it on the voucher stand."
    ),
    "pool_surveillance": "The pool's surveillance: the financing's verdict is unchanged.",
}
#: A note that makes a finding wait for evidence needs the window it waits for.
NOTE_PARAMS: Mapping[str, str] = {"pending": "evidence_window_days"}

_HEADER = re.compile(r"\s*/\*\s*check\s*\n(.*?)\*/[ \t]*\n?", re.S)
_CHECK_FILE = re.compile(r"[A-Z][A-Z0-9_]*\.sql")
_FIELDS = {"id", "family", "category", "severity", "title", "rule"}
_SESSION_VARIABLES = {"business_date", "check_id"}
_E = TypeVar("_E", Family, Category, Severity)


class CatalogueError(ValueError):
    """A check file whose header is missing or wrong (the message names the file)."""


@dataclass(frozen=True)
class Catalogue:
    """The checks of a catalogue folder, in the order they run."""

    checks: tuple[Check, ...]

    @cached_property
    def by_id(self) -> dict[str, Check]:
        """Each check by its id."""
        return {c.check_id: c for c in self.checks}

    def sql(self, check_id: str) -> str:
        """The executable SQL body of ``check_id`` (the one way any engine gets a check's query)."""
        try:
            return self.by_id[check_id].sql()
        except KeyError:
            raise CatalogueError(f"no check {check_id!r} in the catalogue") from None

    def of(self, *families: Family) -> tuple[Check, ...]:
        """The checks of the given families, in catalogue order."""
        return tuple(c for c in self.checks if c.family in families)

    def default_params(self) -> dict[str, int | str]:
        """Every parameter of the catalogue with its default value."""
        return {name: value for check in self.checks for name, value in check.params.items()}

    def markdown(self) -> str:
        """The catalogue as a Markdown document (the content of docs/CHECKS.md)."""
        lines = [
            "# Check catalogue",
            "",
            "Generated from the header blocks of `reconciliation/sql/<CHECK_ID>.sql` by `scf checks --write`;",
            "a test keeps it equal. A new check is one such file (header and query) plus its test: the header,",
            "a TOML block in a `/* check … */` comment, gives `id`, `family` (what it reads, the order it runs:",
            f"{', '.join(f'`{f.value}`' for f in Family)}), `category` ({', '.join(f'`{c.value}`' for c in Category)}),",
            f"`severity` ({', '.join(f'`{v.value}`' for v in Severity)}: the default when the query's is NULL), `title`,",
            f"`rule` (`{{name}}` inserts a shared sentence: {', '.join(f'`{n}`' for n in NOTES)}) and `[params]`",
            "(every `getvariable()` the query reads, integer or string defaults, overridden by `[checks]` settings).",
            f"A financing is `blocked` by any {_or(s for s in Severity if s.blocks)} finding, in `review` with only",
            f"`medium` ones, `clean` otherwise; a financing no longer live ({_closed()})",
            "is `closed` whatever its findings. A finding whose evidence is only pending",
            "(\"Evidence pending since …\") is `medium` and in the category `data_quality`, whatever its check.",
            "",
            "| check_id | category | severity | rule | parameters |",
            "|---|---|---|---|---|",
        ]
        for c in self.checks:
            params = ", ".join(f"`{k}` = {v}" for k, v in c.params.items()) or "—"
            lines.append(f"| `{c.check_id}` | {c.category.value} | {c.severity.value} | **{c.title}.** {c.rule} | {params} |")
        return "\n".join(lines) + "\n"


def _closed() -> str:
    return ", ".join(f"`{s.value}`" for s in FinancingStatus if s.closed)


def _or(severities: Iterable[Severity]) -> str:
    return " or ".join(f"`{s.value}`" for s in reversed(list(severities)))


def load_catalogue(folder: Traversable) -> Catalogue:
    """Parse and validate every check file of ``folder`` (see the module docstring)."""
    checks: list[Check] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if _CHECK_FILE.fullmatch(entry.name):
            checks.extend(parse_check_file(entry.name, entry.read_text("utf-8")))
    _validate_together(checks)
    order = list(Family)
    return Catalogue(tuple(sorted(checks, key=lambda c: order.index(c.family))))  # stable: by file within a family


def parse_check_file(name: str, text: str) -> list[Check]:
    """The checks whose headers begin the text of check file ``name``."""
    headers: list[str] = []
    position = 0
    while match := _HEADER.match(text, position):
        headers.append(match.group(1))
        position = match.end()
    if not headers:
        raise CatalogueError(f"{name}: a check file must begin with a '/* check' header block")
    body = text[position:]
    checks = [_check(name, header, body) for header in headers]
    if len(checks) == 1 and name != f"{checks[0].check_id}.sql":
        raise CatalogueError(f"{name}: holds one check, {checks[0].check_id}: name the file after it")
    return checks


def _check(name: str, header: str, body: str) -> Check:
    try:
        fields: dict[str, Any] = tomllib.loads(header)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{name}: header is not TOML: {exc}") from None
    check_id = fields.get("id", "?")
    where = f"{name} ({check_id})"
    missing, unknown = _FIELDS - set(fields), set(fields) - _FIELDS - {"params"}
    if missing or unknown:
        raise CatalogueError(f"{where}: header lacks {sorted(missing)} / has unknown {sorted(unknown)}")
    if not isinstance(check_id, str) or not re.fullmatch(r"[A-Z][A-Z0-9_]*", check_id):
        raise CatalogueError(f"{name}: check id {check_id!r} is not an upper-case identifier")
    params = fields.get("params", {})
    if not isinstance(params, dict):
        raise CatalogueError(f"{where}: params must be a table")
    for pname, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise CatalogueError(f"{where}: parameter {pname} = {value!r}: an integer or a string expected")
    rule = _rule(where, " ".join(str(fields["rule"]).split()), params)
    read = set(re.findall(r"getvariable\('(\w+)'\)", body)) - _SESSION_VARIABLES
    if read - set(params):
        raise CatalogueError(f"{where}: the query reads {sorted(read - set(params))}, which its header does not declare")
    return Check(
        check_id=check_id,
        family=_member(Family, fields["family"], where),
        category=_member(Category, fields["category"], where),
        severity=_member(Severity, fields["severity"], where),
        title=str(fields["title"]),
        rule=rule,
        body=_expanded(where, body),
        source=name,
        params=params,
    )


def _expanded(where: str, body: str) -> str:
    try:
        return expand_vocabulary(body)
    except ValueError as error:
        raise CatalogueError(f"{where}: {error}") from None


def _member(enum: type[_E], value: object, where: str) -> _E:
    try:
        return enum(str(value))
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise CatalogueError(f"{where}: {enum.__name__.lower()} {value!r} is not one of {allowed}") from None


def _rule(where: str, text: str, params: Mapping[str, object]) -> str:
    def note(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in NOTES:
            raise CatalogueError(f"{where}: the rule names an unknown note {{{name}}} (known: {', '.join(NOTES)})")
        if name in NOTE_PARAMS and NOTE_PARAMS[name] not in params:
            raise CatalogueError(f"{where}: the rule's {{{name}}} needs the parameter {NOTE_PARAMS[name]}")
        return NOTES[name]

    rule = re.sub(r"\{(\w+)\}", note, text)
    if not rule.endswith("."):
        raise CatalogueError(f"{where}: the rule must be a sentence ending with a full stop")
    return rule


def _validate_together(checks: Iterable[Check]) -> None:
    """One id per check, one default per parameter name, across the catalogue."""
    seen: dict[str, Check] = {}
    defaults: dict[str, tuple[int | str, Check]] = {}
    for check in checks:
        if check.check_id in seen:
            raise CatalogueError(f"{check.source}: check {check.check_id} is declared in {seen[check.check_id].source} too")
        seen[check.check_id] = check
        for name, value in check.params.items():
            first, where = defaults.setdefault(name, (value, check))
            if first != value:
                raise CatalogueError(
                    f"{check.source} ({check.check_id}): parameter {name} = {value!r}, but {where.source} "
                    f"({where.check_id}) declares {first!r}: one default per parameter"
                )


#: The engine's catalogue (``reconciliation/sql``), parsed once.
CATALOGUE = load_catalogue(resources.files("reconciliation.sql"))
CHECKS: tuple[Check, ...] = CATALOGUE.checks
BY_ID: dict[str, Check] = CATALOGUE.by_id


def check_sql(check_id: str) -> str:
    """The executable SQL body of a check of the engine's catalogue: the DuckDB runner and
    the Spark transpiler get a check's query here, never by reading its file."""
    return CATALOGUE.sql(check_id)


def default_params() -> dict[str, int | str]:
    """Every parameter of the engine's catalogue with its default value."""
    return CATALOGUE.default_params()


def catalogue_markdown() -> str:
    """The engine's catalogue as Markdown (the content of docs/CHECKS.md)."""
    return CATALOGUE.markdown()
