"""Querysets compiled once per shape, then only re-bound: the small queries of hot paths (the one-child risk
rescore, gamification awarding).

An event rescore runs about fifteen `filter(...).values_list(...)` queries of a few rows each. Building
one with the ORM (cloning, resolving lookups, compiling) costs ~1.3 ms; running it in SQLite ~0.1 ms. So
each query is written once with the ORM (one source of truth for the SQL, tenancy and types) and compiled
with stand-in values; later calls with the same *shape* (the same argument names and IN-list lengths)
reuse the SQL text and put the real values where the stand-ins were, converting rows with Django's own
converters, exactly as `values_list` would.

Anything unusual (an empty IN list, which Django turns into "no rows" at compile time; a stand-in the
compiler did not pass as a parameter) falls back to running the queryset itself, so the result is never
different from the ORM's.
"""

import datetime as dt
import threading
from collections.abc import Callable

from django.db import connections

_MAX_SHAPES = 64  # per statement: IN-list lengths of one child's groups, students and guardians
# Stand-in ids: unique in one compile, inside a 32-bit integer column's range (PostgreSQL's backend turns an
# out-of-range value into "no rows" at compile time), and far above any id this project will reach.
_BASE = 2_140_000_000


class _Shape:
    __slots__ = ("sql", "slots", "compiler", "converters")

    def __init__(self, sql, slots, compiler, converters):
        self.sql, self.slots, self.compiler, self.converters = sql, slots, compiler, converters


# False runs every statement through the ORM as built (risk_bench measures that as its baseline).
ENABLED = True
_cache: dict[tuple, _Shape | None] = {}
_lock = threading.Lock()


def rows(build: Callable, using: str = "default", **args) -> list[tuple]:
    """`build(**args).values_list(...)` rows, compiled once per shape. `args` are ints, dates, aware
    datetimes or lists of ints."""
    connection = connections[using]
    shape = tuple((name, len(v) if isinstance(v, list) else type(v).__name__) for name, v in args.items())
    key = (build, connection.vendor, shape)
    if not ENABLED or any(isinstance(v, list) and not v for v in args.values()):
        return list(build(**args))
    compiled = _cache.get(key, False)
    if compiled is False:
        compiled = _compile(build, connection, args)
        with _lock:
            if sum(1 for k in _cache if k[0] is build) < _MAX_SHAPES:
                _cache[key] = compiled
    if compiled is None:
        return list(build(**args))
    ops = connection.ops
    params = []
    for slot in compiled.slots:
        kind = slot[0]
        if kind == "const":
            params.append(slot[1])
        else:
            value = args[slot[1]]
            if slot[2] is not None:
                value = value[slot[2]]
            if kind == "date":
                value = ops.adapt_datefield_value(value)
            elif kind == "datetime":
                value = ops.adapt_datetimefield_value(value)
            params.append(value)
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        fetched = cursor.fetchall()
    if not compiled.converters:
        return fetched
    # Django's converters (dates from SQLite text, decimals, booleans), with this thread's connection.
    out = []
    for raw in fetched:
        row = list(raw)
        for pos, (converters, expression) in compiled.converters:
            value = row[pos]
            for convert in converters:
                value = convert(value, expression, connection)
            row[pos] = value
        out.append(tuple(row))
    return out


def _stand_in(value, counter: list[int]):
    counter[0] += 1
    if isinstance(value, bool):
        return None  # booleans are constants of the query's shape, not bound values
    if isinstance(value, int):
        return _BASE + counter[0]
    if isinstance(value, dt.datetime):
        return dt.datetime(1000 + counter[0], 1, 1, tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.date(1000 + counter[0], 1, 1)
    return None


def _compile(build: Callable, connection, args: dict) -> _Shape | None:
    counter = [0]
    stand_ins: dict[str, object] = {}
    where: dict = {}  # the value the compiler will show for a stand-in → (kind, name, index)
    ops = connection.ops
    for name, value in args.items():
        items = value if isinstance(value, list) else [value]
        fakes = []
        for index, item in enumerate(items):
            fake = _stand_in(item, counter)
            if fake is None:
                return None
            fakes.append(fake)
            at = index if isinstance(value, list) else None
            if isinstance(fake, dt.datetime):
                where[fake] = ("datetime", name, at)
                where[ops.adapt_datetimefield_value(fake)] = ("datetime", name, at)
            elif isinstance(fake, dt.date):
                where[fake] = ("date", name, at)
                where[ops.adapt_datefield_value(fake)] = ("date", name, at)
            else:
                where[fake] = ("value", name, at)
        stand_ins[name] = fakes if isinstance(value, list) else fakes[0]
    queryset = build(**stand_ins)
    compiler = queryset.query.get_compiler(connection=connection)
    try:
        sql, params = compiler.as_sql()
    except Exception:  # noqa: BLE001 - e.g. EmptyResultSet: let the ORM answer as it always does
        return None
    slots, seen = [], set()
    for param in params:
        found = where.get(param) if isinstance(param, int | str | dt.date) else None
        if found is None:
            slots.append(("const", param))
        else:
            slots.append(found)
            seen.add(found[1:])
    if len(seen) != counter[0]:
        return None  # a value was written into the SQL text, not passed: do not guess
    fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
    return _Shape(sql, slots, compiler, list(compiler.get_converters(fields).items()))
