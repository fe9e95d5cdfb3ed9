"""The Great Expectations suites of a night, kept as code and reviewed like code.

One suite per typed table (``<table>``) over the DAMA dimensions — completeness, validity,
uniqueness, volume — plus one ``consistency`` suite whose frames join tonight's rows to the
history (what the ``cur_*`` as-of views give, read without ranking every version of every record:
:data:`CONSISTENCY`).  Every expectation carries its dimension in ``meta``.

A :class:`Frame` is the SQL that selects what a suite validates from the warehouse: only
tonight's rows and the columns the expectations read, with ``src_sha256`` and ``src_pos``
so that an unexpected value can be traced to its file and position.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from dataclasses import dataclass

import duckdb
import great_expectations.expectations as gxe
import pyarrow as pa
import sqlalchemy as sa
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial
from great_expectations.expectations.row_conditions import Column
from stdnum.cn import uscc

from connectors.kinds import declared
from connectors.parsers.csvlayout import CsvLayout
from connectors.parsers.fields import CD_NO, INVOICE_NO
from connectors.parsers.layouts import WAYBILL_STATUSES
from foundation.vocabulary import EventType
from warehouse.asof import latest_versions_sql
from warehouse.schemas import NATURAL_KEYS, PARSED

DOCUMENT_DATE_SLACK_DAYS = 31
"""A source document may be dated up to this many days after the night that delivers it."""
DIMENSIONS = ("completeness", "validity", "uniqueness", "consistency", "timeliness", "volume")
EARLIEST_PLAUSIBLE = dt.date(2000, 1, 1)
MAX_AMOUNT_FEN = 10**13  # ¥100 bn: beyond it an amount is not plausible for one document


VALID_USCCS = "dq_valid_usccs"
"""The temporary table (column ``uscc``) of the valid codes among those of the frame being
validated (:func:`store_valid_usccs`)."""


@functools.lru_cache(maxsize=1 << 18)
def valid_uscc(code: str) -> bool:
    """python-stdnum's judgement of one code, remembered: the frames of a night (and the nights of a
    process) name the same companies again and again."""
    return bool(uscc.is_valid(code))


def store_valid_usccs(cursor: duckdb.DuckDBPyConnection, frame_table: str, columns: list[str]) -> None:
    """Fill :data:`VALID_USCCS` from the ``columns`` of ``frame_table``: a night names few companies
    many times, so each distinct code is judged once, by python-stdnum (GB 32100: 18 characters, the
    check character of the first 17)."""
    codes = cursor.execute(f"SELECT DISTINCT unnest([{', '.join(columns)}]) FROM {frame_table}").fetchall()
    valid = pa.table({"uscc": pa.array([c for (c,) in codes if c is not None and valid_uscc(c)], pa.string())})
    cursor.register("dq_valid_uscc_codes", valid)
    cursor.execute(f"CREATE OR REPLACE TEMP TABLE {VALID_USCCS} AS SELECT uscc FROM dq_valid_uscc_codes")
    cursor.unregister("dq_valid_uscc_codes")


class ColumnValuesValidUscc(ColumnMapMetricProvider):
    """Metric: the value is a valid GB 32100 unified social credit code (check character included):
    one of :data:`VALID_USCCS`."""

    condition_metric_name = "column_values.valid_uscc"

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column, **kwargs):  # noqa: N805 (GX's metric signature)
        return column.in_(sa.select(sa.column("uscc")).select_from(sa.table(VALID_USCCS)))


class ExpectColumnValuesToBeValidUscc(ColumnMapExpectation):
    """Expect column values to be valid USCCs: 18 characters and the check character of the first 17."""

    map_metric = "column_values.valid_uscc"


class ColumnValuesMatchFormat(ColumnMapMetricProvider):
    """Metric: the whole value matches the regular expression ``pattern``, judged in the warehouse
    (DuckDB's ``regexp_full_match``: GX's own regex metric has no DuckDB dialect)."""

    condition_metric_name = "column_values.match_format"
    condition_value_keys = ("pattern",)

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column, pattern, **kwargs):  # noqa: N805 (GX's metric signature)
        return sa.func.regexp_full_match(column, sa.literal(pattern))


class ExpectColumnValuesToMatchFormat(ColumnMapExpectation):
    """Expect each whole column value to match the regular expression ``pattern``."""

    pattern: str
    map_metric = "column_values.match_format"
    success_keys = ("pattern", "mostly")


@dataclass(frozen=True)
class Frame:
    """What one suite validates: a SQL query of tonight's rows (``$day`` = the business date)."""

    suite: str
    source: str
    sql: str


def _table_frame(table: str, columns: tuple[str, ...]) -> Frame:
    cols = ", ".join(dict.fromkeys((*columns, "src_sha256", "src_pos")))
    return Frame(table, table, f"SELECT {cols} FROM {table} WHERE business_date = $day ORDER BY src_sha256, src_pos")


def _dim(dimension: str, expectation: gxe.Expectation) -> gxe.Expectation:
    expectation.meta = {"dimension": dimension}
    return expectation


def _not_null(*columns: str) -> list[gxe.Expectation]:
    return [_dim("completeness", gxe.ExpectColumnValuesToNotBeNull(column=c)) for c in columns]


def _usccs(*columns: str) -> list[gxe.Expectation]:
    return [_dim("validity", ExpectColumnValuesToBeValidUscc(column=c)) for c in columns]


def _regex(column: str, pattern: re.Pattern[str]) -> gxe.Expectation:
    return _dim("validity", ExpectColumnValuesToMatchFormat(column=column, pattern=pattern.pattern))


def _in_set(column: str, values: object) -> gxe.Expectation:
    return _dim("validity", gxe.ExpectColumnValuesToBeInSet(column=column, value_set=sorted(values)))  # type: ignore[call-overload]


def _amount(column: str, minimum: int = 1) -> gxe.Expectation:
    return _dim("validity", gxe.ExpectColumnValuesToBeBetween(column=column, min_value=minimum, max_value=MAX_AMOUNT_FEN))


def _dates(day: dt.date, *columns: str, ahead_days: int = DOCUMENT_DATE_SLACK_DAYS) -> list[gxe.Expectation]:
    earliest = dt.datetime.combine(EARLIEST_PLAUSIBLE, dt.time())
    latest = dt.datetime.combine(day + dt.timedelta(days=ahead_days), dt.time())
    return [_dim("validity", gxe.ExpectColumnValuesToBeBetween(column=c, min_value=earliest, max_value=latest))
            for c in columns]


def _unique(table: str) -> gxe.Expectation:
    keys = list(NATURAL_KEYS[table])
    if len(keys) == 1:
        return _dim("uniqueness", gxe.ExpectColumnValuesToBeUnique(column=keys[0]))
    return _dim("uniqueness", gxe.ExpectCompoundColumnsToBeUnique(column_list=keys))


def table_suites(day: dt.date) -> dict[str, tuple[Frame, list[gxe.Expectation]]]:
    """Every table suite of the night ``day``: its frame and its expectations (volume aside).

    A CSV kind's table gets the expectations its layout declares (:func:`layout_expectations`);
    the rules below are those beyond a layout (plausible amounts and dates, USCC check
    characters, cross-column rules) and the suites of the XML kinds' and child tables.
    """
    year = 366
    specs: dict[str, tuple[tuple[str, ...], list[gxe.Expectation]]] = {
        "financings": (
            ("financing_id", "bank_code", "product", "applicant_uscc", "debtor_uscc", "asset_ref",
             "financed_amount_fen", "face_amount_fen", "rate", "value_date", "maturity_date", "status"),
            [*_not_null("applicant_uscc", "value_date"),
             *_usccs("applicant_uscc", "debtor_uscc"),
             _amount("financed_amount_fen"), _amount("face_amount_fen"),
             _dim("validity", gxe.ExpectColumnValuesToBeBetween(column="rate", min_value=0, max_value=0.36)),
             _dim("validity", gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                 column_A="face_amount_fen", column_B="financed_amount_fen", or_equal=True, ignore_row_if="either_value_is_missing")),
             *_dates(day, "value_date"), *_dates(day, "maturity_date", ahead_days=10 * year)],
        ),
        "financing_invoices": (("financing_id", "invoice_no", "amount_fen"),
                               [*_not_null("invoice_no"), _regex("invoice_no", INVOICE_NO), _amount("amount_fen")]),
        "voucher_events": (
            ("event_id", "event_type", "voucher_id", "from_uscc", "to_uscc", "issuer_uscc", "amount_fen", "event_time"),
            [*_usccs("from_uscc", "issuer_uscc"),
             # a FINANCE event moves the voucher to the bank, named by its 12-digit bank code
             _dim("validity", ExpectColumnValuesToBeValidUscc(column="to_uscc", row_condition=Column("event_type") != "FINANCE")),
             _amount("amount_fen", 0)],
        ),
        "tax_invoices": (
            ("invoice_no", "seller_uscc", "buyer_uscc", "amount_fen", "tax_fen", "total_fen", "issue_time"),
            [*_not_null("invoice_no", "seller_uscc", "buyer_uscc", "total_fen", "issue_time"),
             _regex("invoice_no", INVOICE_NO), *_usccs("seller_uscc", "buyer_uscc"),
             _dim("validity", gxe.ExpectColumnValuesToBeBetween(column="total_fen", min_value=-MAX_AMOUNT_FEN, max_value=MAX_AMOUNT_FEN)),
             _dim("validity", gxe.ExpectColumnValuesToBeBetween(
                 column="issue_time", min_value=dt.datetime.combine(EARLIEST_PLAUSIBLE, dt.time()),
                 max_value=dt.datetime.combine(day + dt.timedelta(days=DOCUMENT_DATE_SLACK_DAYS), dt.time())))],
        ),
        "tax_invoice_lines": (("invoice_no", "line_no", "tax_rate"),
                              [_dim("validity", gxe.ExpectColumnValuesToBeBetween(column="tax_rate", min_value=0, max_value=0.17))]),
        "tax_invoice_status": (("invoice_no", "status", "change_date"),
                               _dates(day, "change_date")),
        "waybills": (("carrier_uscc", "waybill_no", "po_no", "consignor_uscc", "consignee_uscc", "status", "quantity"),
                     [*_not_null("carrier_uscc", "waybill_no", "status"),
                      *_usccs("carrier_uscc", "consignor_uscc", "consignee_uscc"), _in_set("status", WAYBILL_STATUSES)]),
        "bills": (("cd_no", "range_start", "range_end", "amount_fen", "issue_date", "due_date", "drawer_uscc", "acceptor_uscc"),
                  [*_not_null("cd_no", "range_start", "range_end", "amount_fen", "due_date"),
                   _regex("cd_no", CD_NO), _amount("amount_fen"), *_usccs("drawer_uscc", "acceptor_uscc"),
                   _dim("validity", gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                       column_A="range_end", column_B="range_start", or_equal=True)),
                   _dim("validity", gxe.ExpectColumnValuesToBeBetween(column="range_start", min_value=1))]),
        "erp_vendors": (("core_uscc", "lifnr", "vendor_uscc"), _usccs("core_uscc", "vendor_uscc")),
        "erp_po_items": (("core_uscc", "ebeln", "ebelp", "po_date", "net_value_fen"),
                         [*_not_null("po_date"), *_dates(day, "po_date"), _amount("net_value_fen", 0)]),
        "erp_goods_receipts": (("core_uscc", "mblnr", "mjahr", "zeile", "ebeln", "ebelp", "posting_date"),
                               [*_not_null("ebeln", "posting_date"), *_dates(day, "posting_date")]),
        "erp_ap_items": (("core_uscc", "bukrs", "gjahr", "belnr", "buzei", "ap_ref", "posting_date", "amount_fen"),
                         [*_not_null("ap_ref", "posting_date"), *_dates(day, "posting_date")]),
    }
    for kind in declared():
        if kind.csv is not None:
            columns, expectations = layout_expectations(kind.csv)
            beyond_columns, beyond = specs.get(kind.csv.table, ((), []))
            specs[kind.csv.table] = ((*columns, *beyond_columns), [*expectations, *beyond])
    suites = {}
    for table, (columns, expectations) in specs.items():
        keys = NATURAL_KEYS[table]
        suites[table] = (_table_frame(table, (*keys, *columns)), [*expectations, _unique(table)])
    return suites


def layout_expectations(layout: CsvLayout) -> tuple[tuple[str, ...], list[gxe.Expectation]]:
    """What a CSV layout declares of its table, as expectations (required values, codes, identifier
    forms), and the columns they read."""
    names = set(PARSED[layout.table].names)
    fields = [f for f in layout.fields if f.column in names]
    expectations = [
        *_not_null(*(f.column for f in fields if f.required)),
        *(_in_set(f.column, f.choices) for f in fields if f.choices is not None),
        *(_regex(f.column, f.pattern) for f in fields if f.pattern is not None),
    ]
    return tuple(dict.fromkeys(f.column for f in fields if f.required or f.choices or f.pattern)), expectations


def volume_expectation(trailing_median: float | None, min_percent: int, min_median: int) -> gxe.Expectation:
    """Rows tonight against the median of the trailing nights (judged only from ``min_median`` rows up)."""
    judged = trailing_median is not None and trailing_median >= min_median
    minimum = math.ceil(trailing_median * min_percent / 100) if judged else 0  # type: ignore[operator]
    return _dim("volume", gxe.ExpectTableRowCountToBeBetween(min_value=minimum))


_TONIGHTS_VOUCHERS = "SELECT voucher_id FROM voucher_events WHERE business_date = $day"
_NAMING_TONIGHTS = ("business_date <= $day AND event_id IN (SELECT event_id FROM voucher_events "
                    f"WHERE business_date <= $day AND voucher_id IN ({_TONIGHTS_VOUCHERS}))")
_KNOWN_VOUCHERS = (  # vouchers an ISSUE or SPLIT names in its version of record, among the events naming tonight's
    f"SELECT DISTINCT voucher_id FROM ({latest_versions_sql('voucher_events', _NAMING_TONIGHTS)}) "
    f"WHERE event_type IN ('{EventType.ISSUE}', '{EventType.SPLIT}')")
_PO_ITEMS_UP_TO_TONIGHT = "FROM erp_po_items WHERE business_date <= $day"


def _known_orders(columns: str, named_tonight: str) -> str:
    """The distinct ``columns`` of the order items delivered up to tonight whose order number tonight's
    rows name (``named_tonight``: a query of those numbers): the book's items grouped only where tonight
    looks (every item of history grouped cost O(book) a night: BENCHMARKS.md)."""
    return f"SELECT DISTINCT {columns} {_PO_ITEMS_UP_TO_TONIGHT} AND ebeln IN ({named_tonight})"


CONSISTENCY: tuple[tuple[Frame, str], ...] = (
    (Frame("consistency", "financing_invoices",
           "SELECT f.invoice_no, t.invoice_no AS known_invoice_no, f.src_sha256, f.src_pos FROM financing_invoices f "
           "LEFT JOIN (SELECT DISTINCT invoice_no FROM tax_invoices WHERE business_date <= $day AND invoice_no IN "
           "(SELECT invoice_no FROM financing_invoices WHERE business_date = $day)) t USING (invoice_no) "
           "WHERE f.business_date = $day ORDER BY f.src_sha256, f.src_pos"), "known_invoice_no"),
    (Frame("consistency", "voucher_events",
           "SELECT e.voucher_id, v.voucher_id AS known_voucher_id, e.src_sha256, e.src_pos FROM voucher_events e "
           f"LEFT JOIN ({_KNOWN_VOUCHERS}) v USING (voucher_id) WHERE e.business_date = $day ORDER BY e.src_sha256, e.src_pos"),
     "known_voucher_id"),
    (Frame("consistency", "erp_goods_receipts",
           "SELECT g.ebeln || '/' || g.ebelp AS po_line, p.ebeln AS known_po, g.src_sha256, g.src_pos FROM erp_goods_receipts g "
           f"LEFT JOIN ({_known_orders('core_uscc, ebeln, ebelp', 'SELECT ebeln FROM erp_goods_receipts WHERE business_date = $day')}) p "
           "USING (core_uscc, ebeln, ebelp) "
           "WHERE g.business_date = $day ORDER BY g.src_sha256, g.src_pos"), "known_po"),
    (Frame("consistency", "waybills",
           "SELECT w.po_no, p.ebeln AS known_po, w.src_sha256, w.src_pos FROM waybills w "
           f"LEFT JOIN ({_known_orders('ebeln', 'SELECT po_no FROM waybills WHERE business_date = $day')}) p ON p.ebeln = w.po_no "
           "WHERE w.business_date = $day AND w.po_no IS NOT NULL "
           f"AND w.consignee_uscc IN (SELECT DISTINCT core_uscc {_PO_ITEMS_UP_TO_TONIGHT}) "
           "ORDER BY w.src_sha256, w.src_pos"),
     "known_po"),
)
"""Cross-table frames: each row of tonight names something the history must know (column non-null): a
document of any version delivered up to tonight (``cur_*``, :mod:`warehouse.asof`).  A key column's
values are the same among every version of a key as among versions of record, so those frames read
the rows up to tonight as they are; a voucher known by its event's type, not a key column, is read
from the versions of record of the events naming tonight's vouchers only (not the whole history)."""


def consistency_expectation(column: str) -> gxe.Expectation:
    """The named document is known (the joined column is not null)."""
    return _dim("consistency", gxe.ExpectColumnValuesToNotBeNull(column=column))
