"""The DuckDB → Spark translation of the catalogue's SQL (engines/portable.py), without Spark."""

from __future__ import annotations

import pytest

from engines.portable import NotPortable, Translator, spark_type


def _translate(*statements: str | tuple[str, list[object]]) -> list[str]:
    translator = Translator(frozenset({"files", "financings"}))
    actions = []
    for statement in statements:
        sql, params = statement if isinstance(statement, tuple) else (statement, None)
        actions += translator.feed(sql, params)
    return [action.sql for action in actions]


def test_variables_become_literals_and_macros_are_expanded() -> None:
    (sql,) = _translate(
        ("SET VARIABLE window_days = ?", [7]),
        "SET VARIABLE business_date = DATE '2026-11-20'",
        "CREATE OR REPLACE TEMP MACRO yuan(fen) AS (fen // 100)::VARCHAR",
        "CREATE OR REPLACE TEMP VIEW v AS SELECT yuan(amount_fen) AS y FROM financings "
        "WHERE business_date <= getvariable('business_date') - getvariable('window_days')",
    )
    assert "getvariable" not in sql.lower() and "yuan" not in sql.lower()
    assert "CAST('2026-11-20' AS DATE) - 7" in sql
    assert "DIV 100" in sql


def test_a_table_macro_becomes_a_subquery() -> None:
    (sql,) = _translate(
        "CREATE OR REPLACE MACRO as_of(d) AS TABLE SELECT * FROM financings WHERE business_date <= d",
        "CREATE OR REPLACE TEMP TABLE t AS SELECT r.* FROM as_of(DATE '2026-11-20') r",
    )
    assert "FROM (SELECT * FROM financings WHERE business_date <= (CAST('2026-11-20' AS DATE))) AS r" in sql


def test_query_table_in_a_table_macro_names_the_table() -> None:
    (sql,) = _translate(
        "CREATE OR REPLACE TEMP MACRO rows_of(t) AS TABLE SELECT * FROM query_table(t)",
        "CREATE OR REPLACE TEMP VIEW v AS SELECT * FROM rows_of('financings') r",
    )
    assert "FROM (SELECT * FROM financings) AS r" in sql


def test_duckdb_only_functions_are_rewritten() -> None:
    (sql,) = _translate(
        "CREATE OR REPLACE TEMP TABLE t AS SELECT list(DISTINCT x ORDER BY x) AS xs, l[1:3] AS head, "
        "regexp_full_match(a, '[0-9]{8}') AS full, regexp_replace(a, '0', '') AS first, "
        "regexp_replace(a, '0', '', 'g') AS every, len(l) AS n FROM files",
    )
    assert "ARRAY_DISTINCT(TRANSFORM(ARRAY_SORT(COLLECT_LIST(NAMED_STRUCT('k0', x, 'v', x))), _s -> _s.v))" in sql
    assert "SLICE(l, 1, ((3) - (1)) + 1)" in sql
    assert "a RLIKE '^(?:[0-9]{8})\\\\z'" in sql
    assert "REGEXP_REPLACE(a, '(?s)^(.*?)(?:0)', '$1')" in sql  # DuckDB replaces the first match only
    assert "REGEXP_REPLACE(a, '0', '')" in sql
    assert "SIZE(l)" in sql


def test_a_correlated_aggregate_subquery_becomes_a_lateral_join() -> None:
    (sql,) = _translate(
        "CREATE OR REPLACE TEMP TABLE t AS SELECT f.financing_id, "
        "(SELECT CASE WHEN count(*) > 0 THEN f.value_date END FROM files d WHERE d.rel_path = f.asset_ref) AS p "
        "FROM financings f",
    )
    assert "CROSS JOIN LATERAL (SELECT COUNT(*) AS a0 FROM files AS d WHERE d.rel_path = f.asset_ref) AS _lateral0" in sql
    assert "CASE WHEN _lateral0.a0 > 0 THEN f.value_date END" in sql


def test_what_does_not_port_is_refused_with_the_statement() -> None:
    with pytest.raises(NotPortable, match="DESC"):
        _translate("CREATE OR REPLACE TEMP TABLE t AS SELECT list(x ORDER BY x DESC) FROM files")
    with pytest.raises(NotPortable, match="getvariable"):
        _translate("CREATE OR REPLACE TEMP VIEW v AS SELECT getvariable('unset') FROM files")
    with pytest.raises(NotPortable, match=r"\$d is not given"):
        _translate(("CREATE OR REPLACE TEMP VIEW v AS SELECT * FROM files WHERE business_date = $d", {"e": 1}))


def test_warehouse_upkeep_and_reads_are_not_run_on_spark() -> None:
    assert _translate(
        "CREATE TABLE IF NOT EXISTS financings (business_date DATE)",
        "CREATE TABLE IF NOT EXISTS asof_progress (as_of DATE)",
        ("INSERT INTO files VALUES (?, ?)", [1, 2]),
        "ALTER TABLE financings ADD COLUMN IF NOT EXISTS x DATE",
        ("SELECT getvariable(?)", ["x"]),
        "SELECT count(*) FROM files",
    ) == []


def test_duckdb_types_in_spark() -> None:
    assert spark_type("JSON") == "STRING"
    assert spark_type("TIMESTAMP_S") == "TIMESTAMP"
    assert spark_type("DECIMAL(38,18)") == "DECIMAL(38, 18)"
    assert spark_type("VARCHAR[]") == "ARRAY<STRING>"


def test_a_json_object_inside_another_is_nested_not_quoted() -> None:
    (sql,) = _translate(
        "CREATE OR REPLACE TEMP TABLE t AS SELECT json_object('document', d, 'invalid', "
        "list(json_object('role', r) ORDER BY r), 'one', json_object('x', 1)) AS evidence FROM files GROUP BY d",
    )
    assert sql.count("TO_JSON(") == 1  # only the outer one writes text
    assert "NAMED_STRUCT('role', r)" in sql and "'one', NAMED_STRUCT('x', 1)" in sql


def test_list_functions_spark_reads() -> None:
    (sql,) = _translate("CREATE OR REPLACE TEMP TABLE t AS SELECT list_has_any(a, b) AS o, p[k] AS at, p[1] AS first FROM files")
    assert "ARRAYS_OVERLAP(a, b)" in sql
    assert "ELEMENT_AT(p, k)" in sql  # 1-based, as DuckDB; sqlglot shifts only a literal index
    assert "p[0]" in sql


def test_a_macro_keeps_its_own_aliases_apart_from_its_callers() -> None:
    (sql,) = _translate(
        "CREATE OR REPLACE TEMP MACRO latest(since) AS (SELECT count(*) FROM files n WHERE n.business_date >= since)",
        "CREATE OR REPLACE TEMP TABLE t AS SELECT latest(n.value_date) AS c FROM financings n",
    )
    assert "FROM files AS n_m1 WHERE n_m1.business_date >= (n.value_date)" in sql


def test_an_aggregate_with_its_filter_goes_into_the_lateral_join() -> None:
    (sql,) = _translate(
        "CREATE OR REPLACE TEMP TABLE t AS SELECT (SELECT count(*) FILTER (WHERE d.business_date >= f.value_date) "
        "FROM files d) AS p FROM financings f",
    )
    assert "COUNT(*) FILTER(WHERE d.business_date >= f.value_date) AS a0" in sql


def test_a_cte_read_twice_is_materialised_before_the_statement() -> None:
    translator = Translator(frozenset({"files"}))
    actions = translator.feed(
        "CREATE OR REPLACE TEMP TABLE t AS WITH e AS (SELECT DISTINCT a, b FROM files), "
        "f AS (SELECT * FROM e WHERE a IN (SELECT b FROM e)), once AS (SELECT * FROM f) SELECT * FROM once")
    assert [(a.kind, a.name) for a in actions] == [("table", "_cte_t_e"), ("table", "t")]
    assert actions[0].sql == "SELECT DISTINCT a, b FROM files"
    assert "FROM _cte_t_e AS e WHERE a IN (SELECT b FROM _cte_t_e AS e)" in actions[1].sql


def test_an_exists_in_a_lambdas_array_becomes_a_column_before_it_not_a_lateral_count() -> None:
    """Spark plans a projected EXISTS as a hash existence join; a lateral count with non-equality
    correlations is a nested-loop join over every outer row (BILL_EXCHANGE_CONFLICT at 1M)."""
    (sql,) = _translate(
        "CREATE OR REPLACE TEMP TABLE t AS SELECT DISTINCT f.financing_id, list_filter([CASE WHEN f.value_date > DATE '2026-01-01' "
        "AND EXISTS (SELECT 1 FROM files d WHERE d.rel_path = f.asset_ref AND d.business_date <> f.value_date) THEN 'x' END], "
        "lambda x: x IS NOT NULL) AS reasons FROM financings f",
    )
    assert sql == (
        "SELECT DISTINCT financing_id, reasons FROM (SELECT EXISTS(SELECT 1 FROM files AS d WHERE d.rel_path = f.asset_ref "
        "AND d.business_date <> f.value_date) AS _exists0, f.financing_id, "
        "FILTER(ARRAY(CASE WHEN f.value_date > CAST('2026-01-01' AS DATE) AND _exists0 THEN 'x' END), x -> NOT x IS NULL) AS reasons "
        "FROM financings AS f) AS _lca0")
    (where,) = _translate(  # not in a projection: the lateral count
        "CREATE OR REPLACE TEMP TABLE t AS SELECT f.financing_id FROM financings f "
        "WHERE len(list_filter([EXISTS (SELECT 1 FROM files d WHERE d.rel_path = f.asset_ref)], lambda x: x)) > 0",
    )
    assert "CROSS JOIN LATERAL (SELECT COUNT(*) AS a0 FROM files AS d WHERE d.rel_path = f.asset_ref) AS _lateral0" in where
