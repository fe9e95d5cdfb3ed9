"""A programme's criteria file (TOML): eligibility rules, concentration limits, objective.

The file is data, versioned by its ``version`` key and identified by the SHA-256 of its
bytes (recorded in the pool's manifest).  Every key is optional except ``version`` and
``limits.target``: an absent rule or limit does not apply.  Money is a decimal yuan string
(``"500000000.00"``), shares are decimals (``0.15`` = 15 %), kept exact as fractions.
See ``docs/POOLS.md`` for the full layout.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, NoReturn

from connectors.parsers.reference import RATINGS
from foundation import values
from foundation.errors import ConfigError
from foundation.vocabulary import PRODUCTS

OBJECTIVES = ("wa_yield", "diversification")


@dataclass(frozen=True)
class Eligibility:
    """Per-asset rules; ``None`` (or empty) means the rule does not apply."""

    products: frozenset[str] | None = None
    min_remaining_days: int | None = None
    max_remaining_days: int | None = None
    min_amount_fen: int | None = None
    max_amount_fen: int | None = None
    rating_floor: str | None = None
    no_related_party: bool = False
    excluded_industries: tuple[str, ...] = ()  # prefixes of GB/T 4754 codes
    legal_final_date: dt.date | None = None
    no_open_findings: bool = False


@dataclass(frozen=True)
class Limits:
    """Pool-level limits, shares of the pool's total outstanding amount."""

    target_fen: int
    tolerance: Fraction = Fraction(0)
    single_asset: Fraction | None = None
    single_obligor: Fraction | None = None
    top_n: int | None = None
    top_n_share: Fraction | None = None
    industry: Fraction | None = None  # each industry division (门类 letter + 大类 digits, e.g. C39)
    region: Fraction | None = None  # each province (first two digits of the division code)
    short_term_days: int = 90
    short_term_share: Fraction | None = None
    min_obligors: int | None = None
    min_wa_rate: Fraction | None = None

    @property
    def min_total_fen(self) -> Fraction:
        """The smallest pool the target allows."""
        return self.target_fen * (1 - self.tolerance)

    @property
    def max_total_fen(self) -> Fraction:
        """The largest pool the target allows."""
        return self.target_fen * (1 + self.tolerance)


@dataclass(frozen=True)
class Criteria:
    """A parsed criteria file and its identity."""

    name: str
    version: str
    sha256: str
    eligibility: Eligibility
    limits: Limits
    objective: str = "wa_yield"

    def summary(self) -> dict[str, Any]:
        """The criteria as JSON-ready data (for the manifest)."""
        def plain(value: Any) -> Any:
            if isinstance(value, Fraction):
                return str(Decimal(value.numerator) / Decimal(value.denominator))
            if isinstance(value, (frozenset, tuple)):
                return sorted(plain(v) for v in value)
            if isinstance(value, dt.date):
                return value.isoformat()
            return value

        return {
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "objective": self.objective,
            "eligibility": {k: plain(v) for k, v in vars(self.eligibility).items()},
            "limits": {k: plain(v) for k, v in vars(self.limits).items()},
        }


def load_criteria(path: Path) -> Criteria:
    """Read and validate a criteria file; any problem raises :class:`ConfigError` naming the key."""
    path = Path(path)
    try:
        data = path.read_bytes()
        doc = tomllib.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"criteria file {path}: cannot read it ({err}); give a UTF-8 TOML file") from None
    return parse_criteria(doc, hashlib.sha256(data).hexdigest(), str(path))


def parse_criteria(doc: dict[str, Any], sha256: str, where: str = "criteria") -> Criteria:
    """Validate a parsed criteria document."""
    reader = _Reader(doc, where)
    known = {"name", "version", "eligibility", "limits", "objective"}
    reader.no_unknown(doc, known, "")
    elig = doc.get("eligibility", {})
    lim = doc.get("limits", {})
    reader.no_unknown(elig, set(_ELIGIBILITY_KEYS), "eligibility.")
    reader.no_unknown(lim, set(_LIMIT_KEYS), "limits.")
    term = reader.pair_int(elig, "remaining_term_days")
    amount = reader.pair_money(elig, "amount")
    products = elig.get("products")
    if products is not None and (not isinstance(products, list) or not set(products) <= PRODUCTS):
        reader.fail("eligibility.products", f"must be a list of {', '.join(sorted(PRODUCTS))}")
    rating = elig.get("rating_floor")
    if rating is not None and rating not in RATINGS:
        reader.fail("eligibility.rating_floor", f"must be one of {' '.join(RATINGS)}")
    excluded = elig.get("excluded_industries", [])
    if not isinstance(excluded, list) or not all(isinstance(c, str) and c for c in excluded):
        reader.fail("eligibility.excluded_industries", "must be a list of GB/T 4754 code prefixes")
    eligibility = Eligibility(
        products=frozenset(products) if products is not None else None,
        min_remaining_days=term[0] if term else None,
        max_remaining_days=term[1] if term else None,
        min_amount_fen=amount[0] if amount else None,
        max_amount_fen=amount[1] if amount else None,
        rating_floor=rating,
        no_related_party=reader.boolean(elig, "no_related_party"),
        excluded_industries=tuple(excluded),
        legal_final_date=reader.date(elig, "legal_final_date"),
        no_open_findings=reader.boolean(elig, "no_open_findings"),
    )
    if "target" not in lim:
        reader.fail("limits.target", "is required (the pool's size, a yuan amount)")
    limits = Limits(
        target_fen=reader.money(lim.get("target"), "limits.target", positive=True),
        tolerance=reader.share(lim, "tolerance") or Fraction(0),
        single_asset=reader.share(lim, "single_asset"),
        single_obligor=reader.share(lim, "single_obligor"),
        top_n=reader.count(lim, "top_n"),
        top_n_share=reader.share(lim, "top_n_share"),
        industry=reader.share(lim, "industry"),
        region=reader.share(lim, "region"),
        short_term_days=reader.count(lim, "short_term_days") or 90,
        short_term_share=reader.share(lim, "short_term_share"),
        min_obligors=reader.count(lim, "min_obligors"),
        min_wa_rate=reader.share(lim, "min_wa_rate"),
    )
    if (limits.top_n is None) != (limits.top_n_share is None):
        reader.fail("limits.top_n", "top_n and top_n_share go together")
    objective = doc.get("objective", "wa_yield")
    if objective not in OBJECTIVES:
        reader.fail("objective", f"must be one of {', '.join(OBJECTIVES)}")
    version = doc.get("version")
    if not isinstance(version, (str, int)) or not str(version):
        reader.fail("version", "is required (the criteria's version, e.g. \"2026-1\")")
    return Criteria(str(doc.get("name", "")), str(version), sha256, eligibility, limits, objective)


_ELIGIBILITY_KEYS = (
    "products", "remaining_term_days", "amount", "rating_floor", "no_related_party",
    "excluded_industries", "legal_final_date", "no_open_findings",
)  # fmt: skip
_LIMIT_KEYS = (
    "target", "tolerance", "single_asset", "single_obligor", "top_n", "top_n_share", "industry",
    "region", "short_term_days", "short_term_share", "min_obligors", "min_wa_rate",
)  # fmt: skip


class _Reader:
    """Typed access to the document's keys; every error names the file and key."""

    def __init__(self, doc: dict[str, Any], where: str) -> None:
        self.doc = doc
        self.where = where

    def fail(self, key: str, why: str) -> NoReturn:
        raise ConfigError(f"{self.where}: {key} {why}")

    def no_unknown(self, table: Any, known: set[str], prefix: str) -> None:
        if not isinstance(table, dict):
            self.fail(prefix.rstrip(".") or "document", "must be a table")
        for key in table:
            if key not in known:
                self.fail(prefix + key, f"is not a known key (known: {', '.join(sorted(known))})")

    def share(self, table: dict[str, Any], key: str) -> Fraction | None:
        value = table.get(key)
        if value is None:
            return None
        try:
            number = Decimal(str(value)) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or not 0 <= number <= 1:
            self.fail(f"limits.{key}", f"must be a decimal share between 0 and 1, not {value!r}")
        return Fraction(number)

    def count(self, table: dict[str, Any], key: str) -> int | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.fail(f"limits.{key}", f"must be a whole number ≥ 1, not {value!r}")
        return value

    def money(self, value: Any, key: str, *, positive: bool = False) -> int:
        try:
            fen = values.parse_fen(value) if isinstance(value, str) else None
        except ValueError:
            fen = None
        if fen is None or fen < 0 or (positive and fen == 0):
            self.fail(key, f"must be a yuan amount as a string, e.g. \"500000000.00\", not {value!r}")
        assert fen is not None
        return fen

    def pair_int(self, table: dict[str, Any], key: str) -> tuple[int, int] | None:
        value = table.get(key)
        if value is None:
            return None
        if (not isinstance(value, list) or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
                or value[0] > value[1]):
            self.fail(f"eligibility.{key}", f"must be [min, max] whole numbers, not {value!r}")
        return value[0], value[1]

    def pair_money(self, table: dict[str, Any], key: str) -> tuple[int, int] | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or len(value) != 2:
            self.fail(f"eligibility.{key}", f"must be [min, max] yuan strings, not {value!r}")
        low, high = (self.money(v, f"eligibility.{key}") for v in value)
        if low > high:
            self.fail(f"eligibility.{key}", "min is above max")
        return low, high

    def boolean(self, table: dict[str, Any], key: str) -> bool:
        value = table.get(key, False)
        if not isinstance(value, bool):
            self.fail(f"eligibility.{key}", f"must be true or false, not {value!r}")
        return value

    def date(self, table: dict[str, Any], key: str) -> dt.date | None:
        value = table.get(key)
        if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(f"eligibility.{key}", f"must be a date YYYY-MM-DD, not {value!r}")
        return None
