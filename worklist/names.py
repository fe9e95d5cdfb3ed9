"""Names beside codes: companies by USCC (from what the inputs carry) and banks by CNAPS code.

A company's name is the party master's (``reference/parties.csv``, the latest row valid on
the night), else the name a 数电票 gives its seller or buyer.  No input names a bank by its
CNAPS code, so a bank is named by the code's first three digits, the CNAPS bank class
(行别代码) of the People's Bank of China's clearing system.
"""

from __future__ import annotations

import datetime as dt

import duckdb

#: CNAPS bank class (first three digits of a 12-digit CNAPS code) → the bank (group) it names.
CNAPS_BANK_CLASSES: dict[str, str] = {
    "001": "中国人民银行", "102": "中国工商银行", "103": "中国农业银行", "104": "中国银行", "105": "中国建设银行",
    "201": "国家开发银行", "202": "中国进出口银行", "203": "中国农业发展银行", "301": "交通银行",
    "302": "中信银行", "303": "中国光大银行", "304": "华夏银行", "305": "中国民生银行", "306": "广发银行",
    "307": "平安银行", "308": "招商银行", "309": "兴业银行", "310": "上海浦东发展银行", "313": "城市商业银行",
    "314": "农村商业银行", "315": "恒丰银行", "316": "浙商银行", "317": "农村合作银行", "318": "渤海银行",
    "319": "徽商银行", "402": "农村信用社", "403": "中国邮政储蓄银行",
}


def bank_name(cnaps: str | None) -> str:
    """The bank (class) a CNAPS code names, or ``""``."""
    return CNAPS_BANK_CLASSES.get((cnaps or "")[:3], "") if cnaps and len(cnaps) == 12 else ""


def create_party_names(con: duckdb.DuckDBPyConnection, business_date: dt.date, usccs: str) -> None:
    """TEMP table ``party_names(uscc, name)``: one name per USCC known on the night, for the USCCs
    the query ``usccs`` returns (the caller's SQL text, never data; ``$1`` is the night): a report
    names the parties it shows, not every party ever delivered."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE party_names AS
        WITH wanted AS (SELECT DISTINCT uscc FROM ({usccs}) w(uscc) WHERE uscc IS NOT NULL),
        master AS (
          SELECT uscc, name FROM parties
          WHERE business_date <= $1 AND (valid_from IS NULL OR valid_from <= $1) AND coalesce(name, '') <> ''
            AND uscc IN (SELECT uscc FROM wanted)
          QUALIFY row_number() OVER (PARTITION BY uscc ORDER BY valid_from DESC NULLS LAST, business_date DESC, name) = 1),
        unnamed AS (SELECT uscc FROM wanted WHERE uscc NOT IN (SELECT uscc FROM master)),
        invoiced AS (  -- the invoices are read only for the parties the master does not name
          SELECT uscc, name FROM (
            SELECT seller_uscc AS uscc, seller_name AS name, business_date FROM tax_invoices WHERE business_date <= $1
            UNION ALL SELECT buyer_uscc, buyer_name, business_date FROM tax_invoices WHERE business_date <= $1)
          WHERE uscc IN (SELECT uscc FROM unnamed) AND coalesce(name, '') <> ''
          QUALIFY row_number() OVER (PARTITION BY uscc ORDER BY business_date DESC, name) = 1)
        SELECT uscc, name FROM master UNION ALL SELECT uscc, name FROM invoiced""",
        [business_date],
    )
