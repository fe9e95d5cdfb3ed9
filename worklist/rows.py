"""The rows the exception report shows (page and workbook alike), read from the warehouse.

A finding comes with its worklist status and age (``finding_dispositions``), its
financing's bank, product, parties and amount, the names beside the codes
(:mod:`worklist.names`), and where its documents came from: the delivered file, the
archived object and the record's position (``src_sha256``/``src_pos`` of the financing,
invoice and waybill rows it names).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import duckdb

from dispositions.effective import scalar
from reconciliation import standing
from reconciliation.check import Severity, severity_rank_sql
from reconciliation.findings import Verdict, verdict_rank_sql
from warehouse.asof import delivery_order, sequenced, verdicts_as_of_sql
from worklist.names import bank_name, create_party_names

SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)
NO_BANK = "(no financing)"


@dataclass(frozen=True)
class SourceRef:
    """Where one document of a finding was delivered: file, archived object, record position."""

    document: str  # financing, invoice, waybill
    rel_path: str  # in the night folder it came in, e.g. platform/financings.csv
    sha256: str
    position: int  # src_pos: the record's position in that file

    @property
    def archive_path(self) -> str:
        """The archived object's path under the home."""
        return f"archive/objects/{self.sha256[:2]}/{self.sha256}"


@dataclass(frozen=True)
class FinancingFacts:
    """What a report shows of the financing beside a finding or a verdict: bank, product, parties
    with their names, amount (:data:`_FACTS_SQL` reads them in this order)."""

    bank_code: str
    product: str
    applicant_uscc: str
    applicant_name: str
    debtor_uscc: str
    debtor_name: str
    amount_fen: int | None

    @property
    def bank_name(self) -> str:
        """The lending bank's name (class), or ``""``."""
        return bank_name(self.bank_code)


#: :class:`FinancingFacts`' columns, read from a financing's verdict ``v`` and the party names
#: ``a`` (applicant) and ``b`` (debtor) that :data:`_PARTY_JOINS` joins.
_FACTS_SQL = """coalesce(v.bank_code, ''), coalesce(v.product, ''), coalesce(v.applicant_uscc, ''), coalesce(a.name, ''),
                   coalesce(v.debtor_uscc, ''), coalesce(b.name, ''), v.financed_amount_fen"""
_PARTY_JOINS = """LEFT JOIN party_names a ON a.uscc = v.applicant_uscc
            LEFT JOIN party_names b ON b.uscc = v.debtor_uscc"""


@dataclass(frozen=True)
class FindingRow(FinancingFacts):
    """One finding as the report shows it."""

    finding_id: str
    severity: str
    status: str
    age_nights: int
    assignee: str
    reason_code: str
    comment: str
    check_id: str
    category: str
    financing_id: str
    voucher_id: str
    invoice_no: str
    bill_ref: str
    waybill_no: str
    detail: str
    evidence: str
    first_seen_date: dt.date
    sources: tuple[SourceRef, ...] = field(default=())


@dataclass(frozen=True)
class VerdictRow(FinancingFacts):
    """One financing's verdict of the night."""

    financing_id: str
    verdict: str
    check_ids: str
    status: str
    verdict_since: dt.date
    findings: int


#: The most keys :func:`_named` lists.  A listed key costs ~3 µs in a query (a night's findings name ~3k
#: financings; candidates of the listed verdicts ~4k), reading the whole book's verdicts 0.17 s at 955k
#: financings (BENCHMARKS.md, "reports room"): beyond this many, the book is read instead.
_LIST_MAX = 50_000


def _named(con: duckdb.DuckDBPyConnection, query: str, params: Sequence[object]) -> list[str] | None:
    """The distinct values (nulls left out) of the one column ``query`` returns, as a list passed to a
    query as a parameter for :func:`_only` (data never pasted into SQL); None, "every key", when there are
    more than :data:`_LIST_MAX`."""
    row = con.execute(f"SELECT list(DISTINCT v ORDER BY v), count(DISTINCT v) FROM ({query}) q(v) WHERE v IS NOT NULL",
                      params).fetchone()
    if row is None or not row[1]:
        return []
    return None if row[1] > _LIST_MAX else list(row[0])


def _only(column: str, values: str) -> str:
    """A condition: ``column`` is one of ``values`` (a list parameter from :func:`_named`; NULL: any).  On the
    key of an as-of reader's ranking it is applied below the ranking, as the scan's filter: only the rows of
    those keys are read and ranked, not the book's (DuckDB pushes a constant list down, not a join)."""
    return f"({values}::VARCHAR[] IS NULL OR list_contains({values}::VARCHAR[], {column}))"


def _verdicts_of(as_of: str, financings: str) -> str:
    """The verdicts as of night ``as_of`` (:func:`warehouse.asof.verdicts_as_of_sql`) of the financings
    in the list ``financings`` only (:func:`_only`)."""
    return f"SELECT * FROM ({verdicts_as_of_sql(as_of)}) WHERE {_only('financing_id', financings)}"


def _latest_row(table: str, column: str, values: str) -> str:
    """The file and position of the version of record as of night ``$1`` (:mod:`warehouse.asof`'s
    delivery order) of each ``column`` value the night's findings name (``f``; ``values``: the list of them)."""
    return (f"SELECT {column}, src_sha256, src_pos FROM {sequenced(table)} "
            f"WHERE business_date <= $1 AND {column} IN (SELECT {column} FROM f) AND {_only(column, values)} "
            f"QUALIFY row_number() OVER (PARTITION BY {column} ORDER BY {delivery_order(latest_first=True)}) = 1")


#: ``$2``, ``$3``, ``$4``: the financing ids, invoice numbers and waybill numbers the night's findings name.
_SOURCES = f"""
WITH f AS (SELECT finding_id, financing_id, invoice_no, waybill_no FROM findings WHERE business_date = $1),
latest_fin AS ({_latest_row("financings", "financing_id", "$2")}),
latest_inv AS ({_latest_row("tax_invoices", "invoice_no", "$3")}),
latest_wb AS ({_latest_row("waybills", "waybill_no", "$4")}),
src AS (
  SELECT f.finding_id, 'financing' AS document, x.src_sha256, x.src_pos FROM f JOIN latest_fin x USING (financing_id)
  UNION ALL SELECT f.finding_id, 'invoice', x.src_sha256, x.src_pos FROM f JOIN latest_inv x USING (invoice_no)
  UNION ALL SELECT f.finding_id, 'waybill', x.src_sha256, x.src_pos FROM f JOIN latest_wb x USING (waybill_no))
SELECT s.finding_id, s.document, coalesce(p.rel_path, ''), s.src_sha256, s.src_pos
FROM src s LEFT JOIN (SELECT sha256, min(rel_path) AS rel_path FROM files GROUP BY sha256) p ON p.sha256 = s.src_sha256
ORDER BY s.finding_id, s.document
"""


def _sources(con: duckdb.DuckDBPyConnection, business_date: dt.date) -> dict[str, tuple[SourceRef, ...]]:
    named = [_named(con, f"SELECT {column} FROM findings WHERE business_date = $1", [business_date])
             for column in ("financing_id", "invoice_no", "waybill_no")]
    found: dict[str, list[SourceRef]] = defaultdict(list)
    for finding_id, document, rel_path, sha, pos in con.execute(_SOURCES, [business_date, *named]).fetchall():
        found[finding_id].append(SourceRef(document, rel_path, sha, int(pos)))
    return {k: tuple(v) for k, v in found.items()}


def load_findings(con: duckdb.DuckDBPyConnection, business_date: dt.date, *, detailed: bool = True) -> list[FindingRow]:
    """The night's findings, gravest first, then by bank, check and financing; without the
    parties' names and the source records unless ``detailed`` (a summary's counts need neither)."""
    financings = _named(con, "SELECT financing_id FROM findings WHERE business_date = $1", [business_date])
    con.execute(f"""CREATE OR REPLACE TEMP TABLE finding_verdicts AS SELECT * FROM ({_verdicts_of('$1', '$2')})
                    WHERE financing_id IN (SELECT financing_id FROM findings WHERE business_date = $1)""",
                [business_date, financings])
    create_party_names(con, business_date,
                       "SELECT unnest([applicant_uscc, debtor_uscc]) FROM finding_verdicts" if detailed else "SELECT NULL")
    rows = con.execute(
        f"""SELECT {_FACTS_SQL}, f.finding_id, f.severity, coalesce(d.status, ''), coalesce(d.age_nights, 1),
                   coalesce(d.assignee, ''), coalesce(d.reason_code, ''), coalesce(d.comment, ''),
                   f.check_id, f.category, coalesce(f.financing_id, ''), coalesce(f.voucher_id, ''),
                   coalesce(f.invoice_no, ''), coalesce(f.bill_ref, ''), coalesce(f.waybill_no, ''),
                   f.detail, coalesce(f.evidence, ''), f.first_seen_date
            FROM findings f
            LEFT JOIN finding_verdicts v ON v.financing_id = f.financing_id
            LEFT JOIN finding_dispositions d ON d.business_date = f.business_date AND d.finding_id = f.finding_id
            {_PARTY_JOINS}
            WHERE f.business_date = $1
            ORDER BY {severity_rank_sql("f.severity")}, v.bank_code IS NULL, v.bank_code, f.check_id,
                     f.financing_id, f.finding_id""",
        [business_date],
    ).fetchall()
    sources = _sources(con, business_date) if detailed else {}
    facts = len(fields(FinancingFacts))
    return [FindingRow(*row, sources=sources.get(row[facts], ())) for row in rows]  # type: ignore[misc]


#: The financings the exception report lists (docs/WORKLIST.md, "What the reports list"): held
#: tonight, named by a finding tonight, or whose verdict is not the one they had the night before.
#: ``$1`` the night, ``$2`` the night before (or NULL), ``$3`` the held verdicts, ``$4`` the
#: :data:`_CANDIDATES`: only their verdicts of the two nights are read.
_LISTED = f"""CREATE OR REPLACE TEMP TABLE listed_verdicts AS
WITH counted AS (SELECT financing_id, count(*) AS findings FROM findings
                 WHERE business_date = $1 AND financing_id IS NOT NULL GROUP BY financing_id),
     last_night AS (SELECT financing_id, verdict AS last_verdict FROM ({_verdicts_of('$2', '$4')}))
SELECT v.*, coalesce(c.findings, 0) AS findings
FROM ({_verdicts_of('$1', '$4')}) v LEFT JOIN counted c USING (financing_id) LEFT JOIN last_night l USING (financing_id)
WHERE (list_contains($3, v.verdict) OR c.findings > 0 OR l.last_verdict <> v.verdict)"""

#: Every financing :data:`_LISTED` could list (``$1``..``$3`` as there), read from the night's findings and
#: the verdict rows' dates and verdicts alone: the verdicts are stored as changes (a financing's verdict as of a
#: night is its latest row up to it), so one held tonight has a held row up to tonight, and one whose verdict is
#: not last night's has a row up to last night (one new since has no verdict of last night) and one after it.
_CANDIDATES = """SELECT financing_id FROM findings WHERE business_date = $1
UNION ALL SELECT financing_id FROM financing_verdicts WHERE business_date <= $1 AND list_contains($3, verdict)
UNION ALL SELECT financing_id FROM financing_verdicts WHERE business_date <= $2
  AND financing_id IN (SELECT financing_id FROM financing_verdicts WHERE business_date > $2 AND business_date <= $1)"""


def load_verdicts(con: duckdb.DuckDBPyConnection, business_date: dt.date, before: dt.date | None) -> list[VerdictRow]:
    """The verdicts of the night the back office works, blocked first: the financings held tonight,
    named by a finding tonight, or whose verdict changed since the night ``before``.  The others
    (clean or closed as they were, no finding) are in ``financing_status.csv`` and counted by
    :func:`verdict_counts`; two nights' verdicts are read of those financings only, not of the book."""
    nights = [business_date, before, [v.value for v in Verdict if v.held]]
    con.execute(_LISTED, [*nights, _named(con, _CANDIDATES, nights)])
    create_party_names(con, business_date, "SELECT unnest([applicant_uscc, debtor_uscc]) FROM listed_verdicts")
    rows = con.execute(
        f"""SELECT {_FACTS_SQL}, v.financing_id, v.verdict, v.check_ids, coalesce(v.status, ''), v.verdict_since,
                   v.findings
            FROM listed_verdicts v
            {_PARTY_JOINS}
            ORDER BY {verdict_rank_sql("v.verdict")}, v.financing_id"""
    ).fetchall()
    return [VerdictRow(*row) for row in rows]


def verdict_counts(con: duckdb.DuckDBPyConnection, business_date: dt.date) -> dict[str, int]:
    """How many financings have each verdict tonight (all of them, listed or not), in verdict order: read from
    the standing verdicts when they are of that night (:func:`reconciliation.standing.verdicts_as_of`)."""
    counts = dict(con.execute(f"SELECT verdict, count(*) FROM ({standing.verdicts_as_of(con, business_date)}) GROUP BY verdict"
                              ).fetchall())
    return {v.value: int(counts.get(v.value, 0)) for v in Verdict}


def previous_night(con: duckdb.DuckDBPyConnection, business_date: dt.date) -> dt.date | None:
    """The latest night before ``business_date`` whose verdicts are stored, if any."""
    return scalar(con, "SELECT max(business_date) FROM verdict_nights WHERE business_date < ?", [business_date])


def yuan(fen: int | None) -> str:
    """``¥1,234,567.89`` from fen (exact; ``""`` for none)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"
