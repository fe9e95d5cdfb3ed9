"""DuckDB SQL of the catalogue → Spark SQL: what does not port, named once, and how it is handled.

The catalogue is written once, in DuckDB SQL (``reconciliation/sql/*.sql`` and the SQL the
night's session builds around it).  :class:`Translator` takes that stream of statements, in
the order the DuckDB session runs them (:mod:`engines.record`), and gives the Spark SQL of
each one: sqlglot (``read="duckdb"``, ``write="spark"``) does the bulk, after the rewrites
below, which are everything the catalogue uses that Spark has no spelling for.

=============================  ==============================================================
DuckDB construct               handling
=============================  ==============================================================
``SET VARIABLE`` /             the value is kept here; every ``getvariable('name')`` is
``getvariable``                replaced by it as a literal (:meth:`Translator._substitute`)
``CREATE MACRO`` (scalar)      kept here; every call is expanded in place, its parameters
                               replaced by the arguments (:meth:`Translator._expand`), its own
                               table aliases renamed first (DuckDB's macros are hygienic)
``CREATE MACRO … AS TABLE``    kept here; a call in ``FROM`` becomes the macro's query as a
                               subquery
``query_table('t')``           the table ``t``
``CREATE TABLE`` of the        not run: the warehouse's tables are the open store's
warehouse, ``ALTER``,          (:mod:`engines.store`); their upkeep is the warehouse's job
``CREATE INDEX``, ``UPDATE``
``CREATE [TEMP] TABLE … AS``   a Spark temp view, materialised (checkpointed) by the runner: the
                               session's derived tables (temporary, or the as-of state DuckDB
                               keeps between nights, which Spark recomputes every night)
``CREATE TEMP TABLE (cols)``   an empty Spark temp view that ``INSERT INTO`` appends to
``LATERAL (VALUES …)``         ``LATERAL (SELECT … UNION ALL SELECT …)`` (:func:`_values_as_select`)
``EXISTS`` in a lambda's      a column of its own before the projection that reads it (Spark's
array, in a projection         lateral column alias; :func:`_exists_out_of_lambdas`): an existence
                               join on the subquery's equality keys
correlated scalar aggregate    a ``CROSS JOIN LATERAL`` of its aggregates, the expression over
subquery (outer columns in     them outside (:func:`_lateral_aggregates`); also ``EXISTS`` in a
its result), ``EXISTS`` in a   higher-order function's array anywhere else
lambda's array elsewhere
``list(…) FILTER (WHERE c)``   the filter on the ``collect_list`` of the ordered list
``WITH RECURSIVE`` with        the recursion in ``UNION ALL``, then ``SELECT DISTINCT`` of it
``UNION``                      (:func:`_recursive_union_all`)
``AS MATERIALIZED`` (CTE)      a plain CTE (a hint)
a CTE read more than once      a materialised view of its own, made before the statement
                               (:func:`_hoist_shared`: Spark plans a CTE into each reader)
``list(x ORDER BY k)``         ``transform(array_sort(collect_list(struct(k, x))), …)``
                               (:func:`_ordered_list`); ``DISTINCT`` adds ``array_distinct``
``list[a:b]`` (1-based)        ``slice(list, a, b - a + 1)``
``list[i]``, ``i`` not a        ``element_at(list, i)`` (1-based, as DuckDB; sqlglot shifts only a
literal                        literal index to Spark's 0-based ``[]``)
``json_object(k, v, …)``       ``to_json(named_struct(k, v, …))`` (nulls kept, see
                               :data:`SPARK_CONF`); a ``json_object`` as a member's value
                               (or in a list or ``CASE`` there) stays a struct, nested as
                               DuckDB nests it (:func:`_nested_json`)
``json_merge_patch(a, b)``     ``a`` (compacted) with ``b``'s non-null members appended (``b``'s
                               keys are never in ``a`` in the catalogue: the pending members)
``list_has_any(a, b)``          ``arrays_overlap(a, b)`` (sqlglot writes ``a && b``, which Spark does not read)
``len(list)``                  ``size(list)`` (``len`` is the catalogue's spelling of a list's
                               length; sqlglot would read it as a string's)
``JSON`` (type, ``x::JSON``)   ``STRING``: a JSON text (:func:`spark_type`)
``TIMESTAMP_S`` (``_MS/_NS``)  ``TIMESTAMP``
``regexp_full_match(s, p)``    ``s RLIKE '^(?:p)$'``
``printf``                     ``format_string``, every ``%s`` argument cast to text first
a bare ``SELECT``              not run: what the DuckDB session reads back (its check that
                               the parameters are set, counts) changes nothing
=============================  ==============================================================

Anything else sqlglot cannot write for Spark raises :class:`NotPortable` naming the
statement, never a silent change of meaning.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import sqlglot
from sqlglot import exp

from foundation.errors import ScfError

#: Spark settings the translated SQL relies on: UTC dates, ``to_json`` keeping null members
#: (as DuckDB's ``json_object`` does), DuckDB's NULL (not an error) for an index out of range.
SPARK_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.jsonGenerator.ignoreNullFields": "false",
    "spark.sql.caseSensitive": "false",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # DuckDB gives NULL for a list index out of range and for x / 0, as Spark outside ANSI mode
    "spark.sql.ansi.enabled": "false",
}

_LEN = re.compile(r"\blen\(", re.IGNORECASE)
_UPKEEP = re.compile(r"^\s*(?:INSERT\s+INTO|DELETE\s+FROM|UPDATE)\s+(\w+)", re.IGNORECASE)
_READ_ONLY = re.compile(r"^\s*(SELECT|DESCRIBE|SHOW)\b", re.IGNORECASE)
_SET_VARIABLE = re.compile(r"^\s*SET\s+VARIABLE\s+(\w+)\s*=\s*(.+?)\s*;?\s*$", re.IGNORECASE | re.DOTALL)


class NotPortable(ScfError):
    """A statement of the catalogue that the Spark engine cannot run."""


@dataclass(frozen=True)
class Action:
    """What the Spark runner does with one translated statement."""

    kind: str  # "view", "table" (materialised view), "empty" (a view of no rows), "insert"
    name: str
    sql: str  # Spark SQL: the query (view/table/insert) or the column list (empty)
    label: str = ""  # the check whose rows an insert appends (the session's check_id variable)


@dataclass
class _Macro:
    params: list[str]
    body: exp.Expr
    table: bool


@dataclass
class Translator:
    """Turns the DuckDB session's statements, in order, into Spark actions (see the module)."""

    base_tables: frozenset[str]
    variables: dict[str, object] = field(default_factory=dict)
    macros: dict[str, _Macro] = field(default_factory=dict)
    reads: set[str] = field(default_factory=set)  # the warehouse tables the statements read
    kept: set[str] = field(default_factory=set)  # tables the session creates for its own bookkeeping
    expansions: int = 0  # macro calls expanded so far (each one's aliases made its own)

    def feed(self, sql: str, params: Sequence[object] | Mapping[str, object] | None = None) -> list[Action]:
        """The Spark actions of one executed DuckDB statement (a script: several)."""
        variable = _SET_VARIABLE.match(sql)
        if variable:
            self._set_variable(variable.group(1), variable.group(2), params)
            return []
        if _READ_ONLY.match(sql):
            return []
        upkeep = _UPKEEP.match(sql)
        if upkeep and upkeep.group(1).lower() in self.base_tables | self.kept:
            return []  # the warehouse's own bookkeeping (its rows are the store's, not the night's judgement)
        actions: list[Action] = []
        for statement in sqlglot.parse(_LEN.sub("array_length(", sql), read="duckdb"):
            if statement is not None:
                actions.extend(self._statement(_bind_parameters(statement, params) if params else statement))
        return actions

    # -- statements --------------------------------------------------------------------------

    def _set_variable(self, name: str, value_sql: str, params: Sequence[object] | Mapping[str, object] | None) -> None:
        if value_sql == "?":
            if not isinstance(params, Sequence) or len(params) != 1:
                raise NotPortable(f"SET VARIABLE {name} without its one parameter")
            self.variables[name] = params[0]
            return
        value = sqlglot.parse_one(value_sql, read="duckdb")
        if isinstance(value, exp.Cast) and value.to.is_type(exp.DataType.Type.DATE) and value.this.is_string:
            self.variables[name] = dt.date.fromisoformat(value.this.name)
        elif isinstance(value, exp.Literal):
            self.variables[name] = value.this if value.is_string else int(value.this)
        else:
            raise NotPortable(f"SET VARIABLE {name} = {value_sql}: not a literal")

    def _statement(self, statement: exp.Expr) -> list[Action]:
        if isinstance(statement, exp.Create):
            return self._create(statement)
        if isinstance(statement, exp.Insert):
            target = statement.this.find(exp.Table)
            name = target.name if target else ""
            if name in self.base_tables:
                return []  # warehouse upkeep
            label = str(self.variables.get("check_id", ""))
            shared, sql = self._materialised(statement.expression, label)
            return [*shared, Action("insert", name, sql, label)]
        if isinstance(statement, (exp.Alter, exp.Update)) and _target(statement) in self.base_tables:
            return []
        raise NotPortable(f"no Spark handling for: {statement.sql(dialect='duckdb')[:160]}")

    def _create(self, create: exp.Create) -> list[Action]:
        kind = (create.args.get("kind") or "").upper()
        temporary = bool(create.find(exp.TemporaryProperty))
        if kind == "MACRO":
            function = create.this
            body = create.expression
            if isinstance(body, exp.Paren | exp.Subquery) and isinstance(body.this, exp.Select):
                body = exp.Subquery(this=body.this)
            self.macros[function.this.name.lower()] = _Macro(
                [p.name for p in function.expressions], body, isinstance(create.expression, exp.Select | exp.Union))
            return []
        if kind == "INDEX":
            return []
        name = create.this.name if isinstance(create.this, exp.Table) else create.this.this.name
        query = create.expression
        if kind == "TABLE" and not temporary and (name in self.base_tables or query is None):
            if name not in self.base_tables:
                self.kept.add(name)
            return []  # the warehouse's schema (IF NOT EXISTS); its rows are the store's
        if kind == "VIEW" and query is not None:
            return [Action("view", name, self._spark(query))]
        if kind == "TABLE" and query is not None:
            shared, sql = self._materialised(query, name)
            return [*shared, Action("table", name, sql)]
        if kind == "TABLE" and isinstance(create.this, exp.Schema):
            columns = ", ".join(f"{c.name} {c.args['kind'].sql(dialect='spark')}" for c in create.this.expressions)
            return [Action("empty", name, columns)]
        raise NotPortable(f"no Spark handling for: {create.sql(dialect='duckdb')[:160]}")

    # -- expressions -------------------------------------------------------------------------

    def _spark(self, query: exp.Expr) -> str:
        return _spark_sql(self._translated(query), query)

    def _translated(self, query: exp.Expr) -> exp.Expr:
        tree = self._expand(query.copy())
        self.reads.update(t.name for t in tree.find_all(exp.Table) if t.name in self.base_tables)
        tree = _recursive_union_all(_bottom_up(tree, _rewrite))
        return _lateral_aggregates(_exists_out_of_lambdas(tree))

    def _materialised(self, query: exp.Expr, owner: str) -> tuple[list[Action], str]:
        """A query Spark runs now, its shared CTEs first as materialised views of their own
        (:func:`_hoist_shared`)."""
        tree = self._translated(query)
        actions = [a for w in list(tree.find_all(exp.With)) if _uncorrelated(w) for a in _hoist_shared(w, owner, query)]
        return actions, _spark_sql(tree, query)

    def _expand(self, tree: exp.Expr) -> exp.Expr:
        """Replace variables and macro calls until none is left."""
        for _ in range(50):
            changed = False

            def step(node: exp.Expr) -> exp.Expr:
                nonlocal changed
                if isinstance(node, exp.Anonymous) and node.name.lower() == "getvariable":
                    changed = True
                    return self._variable(node.expressions[0])
                if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous) and node.this.name.lower() == "query_table":
                    named = node.this.expressions[0].unnest() if node.this.expressions else None
                    if named is None or not named.is_string:
                        return node  # its argument is a macro parameter not bound yet
                    changed = True
                    return exp.Table(this=exp.to_identifier(named.name), alias=node.args.get("alias"))
                if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous):
                    macro = self.macros.get(node.this.name.lower())
                    if macro and macro.table:
                        changed = True
                        body = _bind(macro, node.this.expressions, self._fresh())
                        alias = node.alias or node.this.name
                        return exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier(alias)))
                if isinstance(node, exp.Anonymous):
                    macro = self.macros.get(node.name.lower())
                    if macro and not macro.table:
                        changed = True
                        return exp.Paren(this=_bind(macro, node.expressions, self._fresh()))
                return node

            tree = tree.transform(step)
            if not changed:
                return tree
        raise NotPortable("macro expansion does not end (a recursive macro)")

    def _fresh(self) -> str:
        self.expansions += 1
        return f"_m{self.expansions}"

    def _variable(self, name_node: exp.Expr) -> exp.Expr:
        name = name_node.name
        if name not in self.variables:
            raise NotPortable(f"getvariable('{name}') before SET VARIABLE {name}")
        return _literal(self.variables[name])


def _hoist_shared(with_: exp.With, owner: str, source: exp.Expr) -> list[Action]:
    """The CTEs of ``with_`` read more than once, with the CTEs they read, as materialised views
    ``_cte_<owner>_<name>`` (the actions that make them, in order); ``with_`` keeps the others.

    Spark plans a CTE into every query that reads it: a CTE read by an ``IN`` subquery of the
    next, read by the next…, grows the plan exponentially (TRADE_CIRCULAR's pruned graph ran out
    of heap while planning)."""
    scope = with_.parent
    ctes = {c.alias_or_name.lower(): c for c in with_.expressions}
    if scope is None:
        return []

    def reads(node: exp.Expr) -> list[exp.Table]:
        return [t for t in node.find_all(exp.Table) if not t.args.get("db") and t.name.lower() in ctes]

    counts = Counter(t.name.lower() for t in reads(scope))
    shared = {name for name, count in counts.items() if count > 1}
    for name in reversed(list(ctes)):  # what a shared CTE reads is shared too (it is read before it)
        if name in shared:
            shared.update(t.name.lower() for t in reads(ctes[name].this) if t.name.lower() != name)
    renamed = {name: f"_cte_{re.sub(r'[^0-9A-Za-z]', '_', owner)}_{name}" for name in shared}
    for table in reads(scope):
        name = table.name.lower()
        if name in renamed:
            table.set("this", exp.to_identifier(renamed[name]))
            if not table.alias:  # its columns may be qualified by its name
                table.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
    actions = []
    for name, cte in ctes.items():
        if name not in shared:
            continue
        body = cte.this
        if any(t.name == renamed[name] for t in body.find_all(exp.Table)):  # a recursive CTE: its own WITH RECURSIVE
            columns = ", ".join(c.name for c in cte.args["alias"].columns)
            body = exp.select("*").from_(renamed[name]).with_(
                f"{renamed[name]}({columns})" if columns else renamed[name], as_=body, recursive=True)
        actions.append(Action("table", renamed[name], _spark_sql(body, source)))
    kept = [cte for name, cte in ctes.items() if name not in shared]
    if kept:
        with_.set("expressions", kept)
    elif shared:
        with_.pop()
    return actions


def _spark_sql(tree: exp.Expr, source: exp.Expr) -> str:
    """The Spark SQL text of a translated tree (``source``, DuckDB's, names it when it cannot be written)."""
    try:
        return tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.UnsupportedError as error:
        raise NotPortable(f"{error}: {source.sql(dialect='duckdb')[:160]}") from error


def _uncorrelated(with_: exp.With) -> bool:
    """Whether a ``WITH`` belongs to the statement's own query: only ``FROM`` subqueries and set
    operations between it and the top (a CTE there reads no outer column)."""
    node = with_.parent
    while node is not None and node.parent is not None:
        parent = node.parent
        if isinstance(node, exp.Subquery) and not isinstance(parent, exp.From):
            return False
        if not isinstance(parent, exp.Select | exp.Subquery | exp.From | exp.SetOperation):
            return False
        node = parent
    return True


def _target(statement: exp.Expr) -> str:
    table = statement.find(exp.Table)
    return table.name if table else ""


def _bind_parameters(statement: exp.Expr, params: Sequence[object] | Mapping[str, object]) -> exp.Expr:
    """The statement with its parameters (``?``, ``$1``, ``$name``) as literals."""
    positional = iter(params) if not isinstance(params, Mapping) else None

    def bind(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Placeholder):
            return node
        name = node.args.get("this")
        if isinstance(params, Mapping):
            if str(name) not in params:
                raise NotPortable(f"parameter ${name} is not given")
            return _literal(params[str(name)])
        if name is None and positional is not None:
            return _literal(next(positional))
        if name is not None and str(name).isdigit():
            return _literal(list(params)[int(name) - 1])
        raise NotPortable(f"parameter {node.sql()} cannot be bound")

    return statement.transform(bind)


def _bind(macro: _Macro, arguments: Sequence[exp.Expr], tag: str) -> exp.Expr:
    """The macro's body with its parameters replaced by ``arguments``, its own table aliases
    suffixed with ``tag`` first (DuckDB binds a macro's parameters hygienically: a caller's ``n.since``
    is not the macro's ``n``)."""
    if len(arguments) != len(macro.params):
        raise NotPortable(f"macro called with {len(arguments)} arguments, defined with {len(macro.params)}")
    values = {p.lower(): a for p, a in zip(macro.params, arguments, strict=True)}

    def bind(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.table and node.name.lower() in values:
            return exp.Paren(this=values[node.name.lower()].copy())
        if isinstance(node, exp.Column) and not node.args.get("db") and node.table.lower() in values:
            return exp.Dot(this=exp.Paren(this=values[node.table.lower()].copy()), expression=node.this.copy())
        return node

    return _own_aliases(macro.body.copy(), tag).transform(bind)


def _own_aliases(body: exp.Expr, tag: str) -> exp.Expr:
    """``body`` with the table aliases it defines (not its CTEs' names) suffixed with ``tag``."""
    aliases = {a.name.lower() for a in body.find_all(exp.TableAlias) if a.name and not isinstance(a.parent, exp.CTE)}

    def rename(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.TableAlias) and not isinstance(node.parent, exp.CTE) and node.name.lower() in aliases:
            node.set("this", exp.to_identifier(f"{node.name}{tag}"))
        elif isinstance(node, exp.Column) and not node.args.get("db") and node.table.lower() in aliases:
            node.set("table", exp.to_identifier(f"{node.table}{tag}"))
        return node

    return body.transform(rename) if aliases else body


def _literal(value: object) -> exp.Expr:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | Decimal):
        return exp.Literal.number(value)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise NotPortable(f"a variable of type {type(value).__name__}")


def _bottom_up(tree: exp.Expr, rewrite: Callable[[exp.Expr], exp.Expr]) -> exp.Expr:
    """``rewrite`` applied to every node, children before their parent (so a rewritten node's
    arguments are already Spark's)."""
    for node in reversed(list(tree.dfs())):
        new = rewrite(node)
        if new is not node:
            if node is tree:
                tree = new
            else:
                node.replace(new)
    return tree


def _values_as_select(values: exp.Values, alias: exp.TableAlias) -> exp.Expr:
    """``VALUES (a, b), (c, d) AS r(x, y)`` as ``SELECT a AS x, b AS y UNION ALL SELECT c, d`` (Spark
    evaluates no outer column in an inline table)."""
    names = [c.name for c in alias.columns]
    rows = [exp.select(*(exp.alias_(v.copy(), n) for v, n in zip(row.expressions, names, strict=True)))
            for row in values.expressions]
    union: exp.Expr = rows[0]
    for row in rows[1:]:
        union = exp.union(union, row, distinct=False)
    return union


def _exists_out_of_lambdas(tree: exp.Expr) -> exp.Expr:
    """An ``EXISTS`` inside a higher-order function's array (which Spark refuses), in a ``SELECT``'s
    projection, as a column of its own before the projection that reads it (Spark's lateral column
    alias), the ``SELECT`` wrapped to give its own columns only.

    ``SELECT …, filter([CASE WHEN EXISTS (q) …], λ) AS r FROM …`` becomes
    ``SELECT …, r FROM (SELECT EXISTS (q) AS _exists0, …, filter([CASE WHEN _exists0 …], λ) AS r FROM …)``:
    Spark plans the ``EXISTS`` as an existence join on the subquery's equality keys.  A count in a
    lateral join (:func:`_lateral_aggregates`, where the ``EXISTS`` is anywhere else) is decorrelated
    over every outer row's non-equality columns: a nested-loop join, quadratic (``BILL_EXCHANGE_CONFLICT``
    on the 1M night ran for hours).
    """
    hoisted: dict[int, tuple[exp.Select, list[exp.Expr]]] = {}
    for counter, exists in enumerate(e for e in list(tree.find_all(exp.Exists)) if _in_lambda_array(e)):
        outer = exists.find_ancestor(exp.Select)
        if (outer is None or outer.args.get("group")
                or not any(a is p for a in _ancestors(exists) for p in outer.expressions)
                or any(isinstance(p, exp.Star) or not p.alias_or_name for p in outer.expressions)):  # fmt: skip
            continue  # not in a projection that can be wrapped: a lateral count (_lateral_aggregates)
        name = f"_exists{counter}"
        hoisted.setdefault(id(outer), (outer, []))[1].append(exp.alias_(exists.copy(), name))
        exists.replace(exp.column(name))
    for outer, columns in hoisted.values():
        inner = outer.copy()
        inner.set("expressions", [*columns, *inner.expressions])
        inner.set("distinct", None)
        wrapped = exp.select(*[exp.column(p.alias_or_name) for p in outer.expressions]).from_(
            exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(f"_lca{columns[0].alias.removeprefix('_exists')}"))))
        wrapped.set("distinct", outer.args.get("distinct"))
        if outer is tree:
            tree = wrapped
        else:
            outer.replace(wrapped)
    return tree


def _in_lambda_array(node: exp.Expr) -> bool:
    return any(isinstance(a, exp.Func) and a.find(exp.Lambda) for a in _ancestors(node))


def _lateral_aggregates(tree: exp.Expr) -> exp.Expr:
    """Scalar subqueries Spark cannot correlate, as ``CROSS JOIN LATERAL`` aggregates.

    A scalar subquery ``(SELECT f(agg₁, …, outer columns) FROM … WHERE …)`` without ``GROUP BY`` is
    one row per outer row: its aggregates go into a lateral subquery joined to the enclosing
    ``SELECT`` (Spark correlates those), ``f`` stays outside, over the lateral's columns.  An
    ``EXISTS`` inside a higher-order function's array (which Spark refuses) becomes
    ``count(*) > 0`` the same way.
    """
    counter = 0
    for subquery in list(tree.find_all(exp.Subquery, exp.Exists)):
        inner = subquery.this
        if not isinstance(inner, exp.Select) or inner.args.get("group"):
            continue
        if isinstance(subquery, exp.Exists):
            if not _in_lambda_array(subquery):
                continue
            projection = exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(0))
        elif isinstance(subquery.parent, exp.From | exp.Join | exp.Lateral | exp.In | exp.Union) or subquery.alias:
            continue
        elif len(inner.expressions) == 1 and inner.expressions[0].find(exp.AggFunc):
            projection = inner.expressions[0].unalias()
        else:
            continue
        outer = subquery.find_ancestor(exp.Select)
        if outer is None or outer.args.get("group"):
            raise NotPortable(f"a correlated aggregate subquery in a grouped SELECT: {subquery.sql(dialect='duckdb')[:120]}")
        name = f"_lateral{counter}"
        counter += 1
        aggregates = [a.parent if isinstance(a.parent, exp.Filter) else a  # an aggregate with its FILTER
                      for a in projection.find_all(exp.AggFunc) if not a.find_ancestor(exp.AggFunc)]
        columns = [exp.alias_(a.copy(), f"a{k}") for k, a in enumerate(aggregates)]
        for k, aggregate in enumerate(aggregates):
            aggregate.replace(exp.column(f"a{k}", table=name))
        lateral = inner.copy()
        lateral.set("expressions", columns)
        outer.append("joins", exp.Join(this=exp.Lateral(this=exp.Subquery(this=lateral),
                                                        alias=exp.TableAlias(this=exp.to_identifier(name))),
                                       kind="CROSS"))
        subquery.replace(exp.paren(projection))
    return tree


def _ancestors(node: exp.Expr) -> list[exp.Expr]:
    found = []
    while node.parent is not None:
        node = node.parent
        found.append(node)
    return found


def _recursive_union_all(tree: exp.Expr) -> exp.Expr:
    """``WITH RECURSIVE r AS (a UNION b)`` as ``r_all AS (a UNION ALL b'), r AS (SELECT DISTINCT * FROM r_all)``
    (Spark recurses with ``UNION ALL`` only; a cycle then ends in Spark's recursion limit, an error)."""
    for with_ in tree.find_all(exp.With):
        if not with_.args.get("recursive"):
            continue
        for cte in list(with_.expressions):
            union = cte.this
            name = cte.alias
            if not (isinstance(union, exp.Union) and union.args.get("distinct")
                    and any(t.name == name for t in union.find_all(exp.Table))):
                continue
            everything = f"{name}_all"
            union.set("distinct", False)
            for table in union.find_all(exp.Table):
                if table.name == name:
                    table.set("this", exp.to_identifier(everything))
            cte.set("alias", exp.TableAlias(this=exp.to_identifier(everything), columns=cte.args["alias"].columns))
            distinct = exp.CTE(this=exp.select("*").from_(everything).distinct(), alias=exp.TableAlias(this=exp.to_identifier(name)))
            with_.set("expressions", [*with_.expressions[: cte.index + 1], distinct, *with_.expressions[cte.index + 1:]])
    return tree


def _rewrite(node: exp.Expr) -> exp.Expr:
    """The DuckDB-only functions of the module's table, rewritten for Spark."""
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)
        return node
    if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.JSON):
        return node.this
    if isinstance(node, exp.RegexpFullMatch):
        return exp.RegexpLike(this=node.this, expression=_anchored(node.expression))
    if isinstance(node, exp.RegexpReplace):
        modifiers = node.args.get("modifiers")
        if modifiers is None:
            return _replace_first(node)
        if modifiers.name != "g":
            raise NotPortable(f"regexp_replace with options {modifiers.name!r}")
        node.set("modifiers", None)
        node.set("single_replace", None)
        return node
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        return _ordered_list(node.this)
    if isinstance(node, exp.Filter) and not isinstance(node.this, exp.AggFunc):
        aggregate = node.this.find(exp.ArrayAgg)  # an ordered list: the filter goes on what it collects
        if aggregate is None:
            raise NotPortable(f"FILTER on {node.this.sql(dialect='duckdb')[:80]}")
        aggregate.replace(exp.Filter(this=aggregate.copy(), expression=node.expression))
        return node.this
    if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Values) and isinstance(node.parent, exp.Lateral):
        return exp.Subquery(this=_values_as_select(node.this, node.parent.args["alias"]))
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.Slice):
        low, high = node.expressions[0].this, node.expressions[0].expression
        return exp.func("slice", node.this, low, exp.paren(exp.Sub(this=exp.paren(high), expression=exp.paren(low.copy()))) + 1)
    if isinstance(node, exp.JSONObject):
        fields = []
        for pair in node.expressions:
            fields.extend([pair.this, _nested_json(pair.expression)])
        return exp.func("to_json", exp.func("named_struct", *fields))
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1 and not isinstance(node.expressions[0], exp.Slice | exp.Literal):
        return exp.Anonymous(this="element_at", expressions=[node.this, node.expressions[0]])
    if isinstance(node, exp.ArrayOverlaps):
        return exp.Anonymous(this="arrays_overlap", expressions=[node.this, node.expression])
    if isinstance(node, exp.Anonymous) and node.name.lower() == "printf":
        return _printf(node)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "json_merge_patch":
        return _append_members(*node.expressions)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "list_bool_or":
        x = exp.to_identifier("_x")
        return exp.func("exists", node.expressions[0], exp.Lambda(this=exp.column("_x"), expressions=[x]))
    return _json_as_text(node)


#: Nodes through which a ``json_object`` is still a JSON value of the enclosing one (a list of
#: them, a choice between them), not text: DuckDB nests it there.
_JSON_CONTAINERS = (exp.Paren, exp.Transform, exp.ArraySort, exp.ArrayDistinct, exp.ArrayAgg, exp.Filter, exp.Lambda,
                    exp.Array, exp.Order, exp.Ordered, exp.Distinct, exp.Dot, exp.Case, exp.If, exp.Coalesce)


def _nested_json(value: exp.Expr) -> exp.Expr:
    """A ``json_object`` member's value with the ``json_object``s inside it (already
    ``to_json(named_struct(…))``) as structs again, where DuckDB nests a JSON value (directly, in a
    list of them, in a ``CASE``): the enclosing ``to_json`` writes them as objects, not as quoted text."""
    for inner in list(value.find_all(exp.Anonymous)):
        if not _is_json_object(inner):
            continue
        if inner is value:
            return inner.expressions[0]
        node = inner.parent
        while node is not None and node is not value and (isinstance(node, _JSON_CONTAINERS) or _is_struct(node)):
            node = node.parent
        if node is value:
            inner.replace(inner.expressions[0])
    return value


def _is_json_object(node: exp.Expr) -> bool:
    return (isinstance(node, exp.Anonymous) and node.name.lower() == "to_json" and len(node.expressions) == 1
            and _is_struct(node.expressions[0]))


def _is_struct(node: exp.Expr) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == "named_struct"


_SPECIFIER = re.compile(r"%(?:%|[-#+ 0,(]*\d*(?:\.\d+)?([a-zA-Z]))")


def _printf(node: exp.Anonymous) -> exp.Expr:
    """``printf``'s ``%s`` of a date or decimal is its text in DuckDB, a number or Java's text in
    Spark's ``format_string``: every ``%s`` argument is cast to text first (as DuckDB prints it)."""
    template, *arguments = node.expressions
    if not template.is_string:
        raise NotPortable("printf with a format that is not a literal")
    kinds = [m.group(1) for m in _SPECIFIER.finditer(template.name) if m.group(1)]
    if len(kinds) != len(arguments):
        raise NotPortable(f"printf({template.name!r}) with {len(arguments)} arguments")
    cast = [exp.cast(a, exp.DataType.build("VARCHAR")) if kind == "s" else a for kind, a in zip(kinds, arguments, strict=True)]
    return exp.Anonymous(this="format_string", expressions=[template, *cast])


def _anchored(pattern: exp.Expr) -> exp.Expr:
    if not pattern.is_string:
        raise NotPortable("regexp_full_match with a pattern that is not a literal")
    return exp.Literal.string(f"^(?:{pattern.name})\\z")


def _replace_first(node: exp.RegexpReplace) -> exp.Expr:
    """DuckDB's ``regexp_replace`` without ``'g'`` replaces the first match only; Spark's, all."""
    pattern, replacement = node.expression, node.args["replacement"]
    if not pattern.is_string or not replacement.is_string or "$" in replacement.name or "\\" in replacement.name:
        raise NotPortable("regexp_replace (first match) with a pattern or replacement that is not a plain literal")
    first = exp.Literal.string(f"(?s)^(.*?)(?:{pattern.name})")
    return exp.RegexpReplace(this=node.this, expression=first, replacement=exp.Literal.string(f"$1{replacement.name}"))


def _ordered_list(order: exp.Order) -> exp.Expr:
    """``list(x ORDER BY k…)``: the items sorted by their keys (ascending, nulls last, as DuckDB)."""
    fields: list[exp.Expr] = []
    for position, key in enumerate(order.expressions):
        if key.args.get("desc"):
            raise NotPortable("list(… ORDER BY … DESC)")
        fields.extend([exp.Literal.string(f"k{position}"), key.this])
    value = order.this
    distinct = isinstance(value, exp.Distinct)
    if distinct:
        value = value.expressions[0]
    fields.extend([exp.Literal.string("v"), value])
    collected = exp.func("array_sort", exp.ArrayAgg(this=exp.func("named_struct", *fields)))
    item = exp.to_identifier("_s")
    items = exp.func("transform", collected, exp.Lambda(this=exp.column("v", table="_s"), expressions=[item]))
    return exp.func("array_distinct", items) if distinct else items


def _append_members(document: exp.Expr, patch: exp.Expr) -> exp.Expr:
    """``json_merge_patch(a, b)`` where ``b`` adds members ``a`` does not have: ``a``'s text (compact,
    as DuckDB writes JSON) with ``b``'s members appended, a member of ``b`` that is null left out
    (a merge patch's null removes a member)."""
    if not (isinstance(patch, exp.Anonymous) and patch.name.lower() == "to_json"):
        raise NotPortable("json_merge_patch with a patch that is not a json_object")
    patch = exp.Anonymous(this="to_json", expressions=[*patch.expressions, exp.Anonymous(
        this="map", expressions=[exp.Literal.string("ignoreNullFields"), exp.Literal.string("true")])])
    a = exp.paren(exp.RegexpReplace(this=document, expression=exp.Literal.string('("(?:[^"\\\\]|\\\\.)*")|\\s+'),
                                    replacement=exp.Literal.string("$1")))
    b = exp.paren(patch)
    body = exp.func("substr", a, exp.Literal.number(1), exp.func("length", a.copy()) - 1)
    comma = exp.Case(ifs=[exp.If(this=exp.EQ(this=a.copy(), expression=exp.Literal.string("{}")), true=exp.Literal.string(""))],
                     default=exp.Literal.string(","))
    return exp.func("concat", body, comma, exp.func("substr", b, exp.Literal.number(2)))


def spark_type(duckdb_type: str) -> str:
    """A DuckDB column type in Spark SQL (``JSON`` is text)."""
    built = exp.DataType.build(duckdb_type, dialect="duckdb").transform(_json_as_text)
    return built.sql(dialect="spark")


def _json_as_text(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.DataType) and node.is_type(exp.DataType.Type.JSON):
        return exp.DataType.build("VARCHAR")
    if isinstance(node, exp.DataType) and node.is_type(*_TIMESTAMPS):
        return exp.DataType.build("TIMESTAMP")
    return node


_TIMESTAMPS = (exp.DataType.Type.TIMESTAMP_S, exp.DataType.Type.TIMESTAMP_MS, exp.DataType.Type.TIMESTAMP_NS)
