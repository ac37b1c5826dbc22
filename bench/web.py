"""Page latency of the web app with a million customers and ten million transactions.

Usage::

    python bench/web.py                        # 1,000,000 customers on the bench database
    python bench/web.py --customers 20000      # a quick run (its own database)
    python bench/web.py --explain              # also EXPLAIN ANALYZE every slow query

The first run loads a PostgreSQL database (default
``postgres://postgres@127.0.0.1:5434/bench_web``, ``--database-url`` or ``BENCH_WEB_DATABASE``
to change it): the Django schema (``migrate``), the demo company of ``tiering.demo`` (the
one ``bench/evaluate.py`` caches in ``bench/.data/``) as customers owned by 50 account
managers and their transactions, and two published evaluations of a scorecard rule set
graded by the engine (last quarter's, now closed, and the current one): an evaluation
result per customer with the engine's details and a tier assignment per customer and
quarter. Everything goes in with ``COPY``; a marker table records what was loaded, so
later runs reuse it (``--rebuild`` starts again). ``migrate`` runs every time, so new
migrations (indexes) reach an existing database.

Then every scenario (the customer list with filters, searches, sorts and deep pages, for
a manager and for an account manager who sees only their own customers; the customer
page) is requested ``--requests`` times in process with Django's test ``Client``, through
the whole middleware and template stack, and the median and 95th percentile are printed
next to two baselines measured in the same run: the login page (no query) and a
``SELECT`` of one customer by primary key on an open connection. The number of SQL
queries of each page is counted on one more request. There are no timed assertions; the
exit status is 1 only when a page does not answer 200.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from evaluate import demo_data, engine_command, machine_info  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5434/bench_web"
LOADER_VERSION = "1"  # bump when the loaded data changes shape
MARKER = "bench_web_setup"
ACCOUNT_MANAGERS = 50
PREVIOUS_AS_OF = dt.date(2026, 6, 30)
AS_OF = dt.date(2026, 9, 30)
TARGET_MS = 200.0
CHUNK = 500_000

#: The scorecard of examples/scorecard.yaml as the web app stores it: the engine reads the
#: app's own columns, so the influence attribute is ``influence`` with English values.
RULES = {
    "name": "大客户季度评级",
    "lookback": "12 months",
    "scorecard": [
        {"factor": "revenue", "weight": 40, "scale": "percentile"},
        {"factor": "profit", "weight": 20, "scale": "percentile"},
        {"factor": "growth", "weight": 15, "scale": {"bands": [[0, 50], [0.1, 80], [0.3, 100]]}},
        {"factor": "recency_days", "weight": 10, "scale": "percentile", "invert": True},
        {
            "factor": "attribute.influence",
            "weight": 15,
            "scale": {"map": {"high": 100, "medium": 60, "low": 20}},
        },
    ],
    "tiers": [{"name": "A", "min_score": 75}, {"name": "B", "min_score": 60}, {"name": "C"}],
    "downgrade": {"band": 3},
}

SIZE = {"大型": "large", "中型": "sme", "小型": "sme", "微型": "sme"}
NATURE = {"企业": "enterprise", "个人": "individual", "合作伙伴": "partner"}
NEEDS = {"产品型": "product", "服务型": "service", "综合型": "comprehensive"}
INFLUENCE = {"高": "high", "中": "medium", "低": "low"}
CLOSENESS = {"紧密": "close", "一般": "normal", "疏远": "loose"}
STATUS = {"活跃": "active", "沉默": "dormant", "潜在": "prospect"}
KIND = {"销售": "order", "退货": "return"}
CONTACT_TITLES = ("采购经理", "总经理", "财务主管", "项目经理", "采购专员")
CONTACT_NAMES = tuple(a + b for a in "王李张刘陈杨黄赵周吴" for b in ("伟", "芳", "敏", "静", "强"))


# --------------------------------------------------------------------------------------------
# the database


def database_url(url: str, name: str | None = None) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}")) if name else url


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def marker_wanted(customers: int, seed: int, data: Path) -> dict[str, str]:
    return {
        "customers": str(customers),
        "seed": str(seed),
        "data": data.name,
        "loader": LOADER_VERSION,
    }


def loaded_marker(url: str) -> dict[str, str] | None:
    """What the bench database holds (None when it does not exist or was never loaded)."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            row = conn.execute("SELECT to_regclass(%s)", [MARKER]).fetchone()
            if row[0] is None:
                return None
            return dict(conn.execute(f"SELECT key, value FROM {MARKER}").fetchall())
    except psycopg.OperationalError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = database_name(url)
    with psycopg.connect(database_url(url, "postgres"), autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = database_name(url)
    with psycopg.connect(database_url(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# --------------------------------------------------------------------------------------------
# data: the demo company and its grades


def engine_results(data: Path) -> tuple[Path, Path]:
    """The engine's scorecard grades of the demo company last quarter and now (cached next to
    the data; the current run knows the previous tiers, so it has ``change``)."""
    rules = ROOT / "examples" / "scorecard.yaml"
    io_args = [
        "--customers",
        str(data / "customers.parquet"),
        "--transactions",
        str(data / "transactions.parquet"),
        "--lang",
        "zh",
    ]
    previous, current = data / "web-previous.parquet", data / "web-current.parquet"
    for out, extra in (
        (previous, ["--as-of", PREVIOUS_AS_OF.isoformat()]),
        (current, ["--as-of", AS_OF.isoformat(), "--previous", str(previous)]),
    ):
        if out.exists():
            continue
        print(f"engine: grading as of {extra[1]} ...", flush=True)
        t0 = time.perf_counter()
        tmp = out.with_suffix(".tmp.parquet")
        cmd = [*engine_command(), "evaluate", str(rules), *io_args, *extra, "--out", str(tmp)]
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        tmp.rename(out)
        print(
            f"engine: {time.perf_counter() - t0:.1f}s -> {os.path.relpath(out, ROOT)}", flush=True
        )
    return previous, current


def mapped(column: pa.ChunkedArray | pa.Array, mapping: dict[str, str]) -> pa.Array:
    """Each value replaced through ``mapping`` (values not in it become null)."""
    keys = pa.array(list(mapping))
    index = pc.index_in(column, value_set=keys)
    return pc.take(pa.array(list(mapping.values())), index)


def choose(rng: np.random.Generator, values: tuple[str, ...] | list[str], n: int, p=None):
    return pa.array(np.asarray(values, dtype=object)[rng.choice(len(values), n, p=p)], pa.string())


def customer_rows(source: pa.Table, owner_ids: list[int], rng: np.random.Generator) -> pa.Table:
    """The demo company's customers as ``customers_customer`` rows (ids 1..n)."""
    n = source.num_rows
    # each of the demo's (many) account manager names goes to one of our users; ~1% unowned
    managers = pc.dictionary_encode(source["客户经理"]).combine_chunks().indices.to_numpy()
    owners = np.asarray(owner_ids, dtype=np.int64)[managers % len(owner_ids)]
    owner = pa.array(owners, mask=rng.random(n) < 0.01)
    status = mapped(source["状态"], STATUS)
    blacklisted = pa.array(rng.random(n) < 0.003)
    status = pc.if_else(blacklisted, pa.scalar("blacklisted"), status)
    phones = np.char.add("13", np.char.zfill(rng.integers(0, 10**9, n).astype("U9"), 9))
    contacts = pc.binary_join_element_wise(
        '[{"name": "',
        choose(rng, CONTACT_NAMES, n),
        '", "title": "',
        choose(rng, CONTACT_TITLES, n),
        '", "phone": "',
        pa.array(phones, pa.string()),
        '", "email": ""}]',
        "",
    )
    dimensions = pc.binary_join_element_wise('{"region": "', source["地区"], '"}', "")
    stamp = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)
    return pa.table(
        {
            "id": pa.array(np.arange(1, n + 1)),
            "code": source["客户编号"],
            "name": source["客户名称"],
            "industry": source["行业"],
            "size": mapped(source["规模"], SIZE),
            "nature": mapped(source["性质"], NATURE),
            "business_mode": source["业务模式"],
            "needs_type": mapped(source["需求类型"], NEEDS),
            "complexity": choose(rng, ("simple", "medium", "complex"), n, p=(0.5, 0.35, 0.15)),
            "influence": mapped(source["影响力"], INFLUENCE),
            "closeness": mapped(source["关系"], CLOSENESS),
            "dimensions": dimensions,
            "owner_id": owner,
            "contacts": contacts,
            "credit_rating": source["资信等级"],
            "price_coefficient": choose(
                rng, ("0.900", "0.950", "1.000", "1.050"), n, p=(0.1, 0.2, 0.6, 0.1)
            ),
            "status": status,
            "expected_close": source["预计成交日期"],
            "notes": pa.array([""] * n, pa.string()),
            "created_at": pa.array([stamp] * n, pa.timestamp("us", tz="UTC")),
            "updated_at": pa.array([stamp] * n, pa.timestamp("us", tz="UTC")),
        }
    )


def customer_ids(codes: pa.ChunkedArray, known: pa.Array) -> pa.Array:
    index = pc.index_in(codes, value_set=known)
    if index.null_count:
        raise SystemExit(f"{index.null_count} rows name a customer code that is not loaded")
    return pc.add(index, 1)


def transaction_rows(source: pa.Table, codes: pa.Array) -> pa.Table:
    """The ledger as ``customers_transaction`` rows: amounts positive, returns by kind."""
    return pa.table(
        {
            "id": pa.array(np.arange(1, source.num_rows + 1)),
            "customer_id": customer_ids(source["客户编号"], codes),
            "date": source["日期"],
            "amount": pc.abs(source["金额"]),
            "cost": pc.abs(source["成本"]),
            "kind": mapped(source["类型"], KIND),
            "reference": source["单号"],
        }
    )


#: engine output columns with a field of their own (the rest goes to ``details``), as in
#: tiering_web.evaluations.services
RESULT_FIELDS = (
    "tier",
    "score",
    "reason",
    "next_tier",
    "gap",
    "gap_unit",
    "flags",
    "previous_tier",
    "change",
)


def _no_nan(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_floating(column.type):
        return pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
    return column


def details_json(engine: pa.Table) -> pa.Array:
    """Each row's ``details`` as the web app stores them: every computed value but the
    own fields and the customer's attributes, decimals as strings (DjangoJSONEncoder)."""
    from tiering.demo import CUSTOMER_COLUMNS

    skip = {"customer_id", *RESULT_FIELDS, *CUSTOMER_COLUMNS}
    columns = {}
    for name in engine.column_names:
        if name in skip:
            continue
        column = _no_nan(engine[name])
        if pa.types.is_decimal(column.type):
            column = pc.cast(column, pa.string())
        if name == "影响力_value":
            column = mapped(column, INFLUENCE)
        columns[name.replace("影响力", "influence")] = column
    frame = pa.table(columns).to_pandas()
    lines = frame.to_json(orient="records", lines=True, force_ascii=False).splitlines()
    return pa.array(lines, pa.string())


def result_rows(engine: pa.Table, codes: pa.Array, evaluation_id: int, first_id: int) -> pa.Table:
    n = engine.num_rows

    def text(name: str) -> pa.ChunkedArray:
        if name not in engine.column_names:
            return pa.array([""] * n, pa.string())
        return pc.fill_null(engine[name], "")

    return pa.table(
        {
            "id": pa.array(np.arange(first_id, first_id + n)),
            "evaluation_id": pa.array(np.full(n, evaluation_id)),
            "customer_id": customer_ids(engine["customer_id"], codes),
            "tier": engine["tier"],
            "score": pc.round(_no_nan(engine["score"]), 4),
            "reason": text("reason"),
            "next_tier": text("next_tier"),
            "gap": pc.round(_no_nan(engine["gap"]), 4),
            "gap_unit": text("gap_unit"),
            "flags": text("flags"),
            "previous_tier": text("previous_tier"),
            "change": text("change"),
            "details": details_json(engine),
        }
    )


def assignment_rows(
    engine: pa.Table,
    codes: pa.Array,
    ruleset_id: int,
    evaluation_id: int,
    valid: tuple[dt.date, dt.date | None],
    first_id: int,
) -> pa.Table:
    n = engine.num_rows
    return pa.table(
        {
            "id": pa.array(np.arange(first_id, first_id + n)),
            "customer_id": customer_ids(engine["customer_id"], codes),
            "ruleset_id": pa.array(np.full(n, ruleset_id)),
            "tier": engine["tier"],
            "valid_from": pa.array([valid[0]] * n, pa.date32()),
            "valid_to": pa.array([valid[1]] * n, pa.date32()),
            "evaluation_id": pa.array(np.full(n, evaluation_id)),
        }
    )


# --------------------------------------------------------------------------------------------
# loading


def csv_chunks(table: pa.Table) -> Iterator[bytes]:
    options = pacsv.WriteOptions(include_header=False)
    for start in range(0, table.num_rows, CHUNK):
        buffer = io.BytesIO()
        pacsv.write_csv(table.slice(start, CHUNK), buffer, options)
        yield buffer.getvalue()


def copy_table(conn, db_table: str, rows: pa.Table) -> None:
    """COPY ``rows`` into ``db_table`` with its secondary indexes dropped and rebuilt after
    (the same definitions, read from the catalogue) and foreign key triggers off (the rows
    are consistent by construction)."""
    from psycopg import sql

    t0 = time.perf_counter()
    indexes = conn.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
           FROM pg_index i
           WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
        [db_table],
    ).fetchall()
    for name, _ in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    conn.execute("SET session_replication_role = replica")
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in rows.column_names)
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(db_table), columns
    )
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for chunk in csv_chunks(rows):
            copy.write(chunk)
    conn.execute("SET session_replication_role = DEFAULT")
    copied = time.perf_counter() - t0
    for _, definition in indexes:
        conn.execute(definition)
    conn.execute(
        sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), (SELECT max(id) FROM {}))").format(
            sql.Literal(db_table), sql.Identifier(db_table)
        )
    )
    conn.commit()
    print(
        f"  {db_table}: {rows.num_rows:,} rows copied in {copied:.1f}s,"
        f" {len(indexes)} index(es) rebuilt in {time.perf_counter() - t0 - copied:.1f}s",
        flush=True,
    )


def load(url: str, data: Path, customers: int, seed: int) -> None:
    import psycopg

    from tiering_web.accounts.models import Role, User
    from tiering_web.customers.models import Customer, Transaction
    from tiering_web.evaluations.models import Evaluation, EvaluationResult, TierAssignment
    from tiering_web.rulesets.models import RuleSet, RuleSetVersion

    previous_path, current_path = engine_results(data)
    rng = np.random.default_rng(seed)
    stamp = dt.datetime(2026, 10, 8, 10, 0, tzinfo=dt.UTC)

    manager = User(username="bench_manager", role=Role.MANAGER, first_name="经理")
    managers = [
        User(username=f"am{i:02d}", role=Role.ACCOUNT_MANAGER)
        for i in range(1, ACCOUNT_MANAGERS + 1)
    ]
    for user in (manager, *managers):
        user.set_unusable_password()
    manager.save()
    managers = User.objects.bulk_create(managers)
    ruleset = RuleSet.objects.create(name=RULES["name"], description="bench", is_primary=True)
    version = RuleSetVersion.objects.create(
        ruleset=ruleset,
        number=1,
        definition=RULES,
        author=manager,
        reviewer=manager,
        approver=manager,
        effective_date=PREVIOUS_AS_OF,
        status=RuleSetVersion.Status.APPROVED,
    )
    version.rules()  # the definition must be one the engine accepts
    evaluations = [
        Evaluation.objects.create(
            ruleset_version=version,
            as_of=as_of,
            status=Evaluation.Status.PUBLISHED,
            created_by=manager,
            published_by=manager,
            published_at=stamp,
        )
        for as_of in (PREVIOUS_AS_OF, AS_OF)
    ]

    source = pq.read_table(data / "customers.parquet")
    codes = source["客户编号"].combine_chunks()
    with psycopg.connect(url) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        rows = customer_rows(source, [u.pk for u in managers], rng)
        copy_table(conn, Customer._meta.db_table, rows)
        del rows
        del source
        ledger = pq.read_table(data / "transactions.parquet")
        copy_table(conn, Transaction._meta.db_table, transaction_rows(ledger, codes))
        del ledger
        previous, current = pq.read_table(previous_path), pq.read_table(current_path)
        if previous.num_rows != customers or current.num_rows != customers:
            raise SystemExit("the engine did not grade every customer")
        results = pa.concat_tables(
            [
                result_rows(previous, codes, evaluations[0].pk, 1),
                result_rows(current, codes, evaluations[1].pk, customers + 1),
            ]
        )
        copy_table(conn, EvaluationResult._meta.db_table, results)
        del results
        assignments = pa.concat_tables(
            [
                assignment_rows(
                    previous, codes, ruleset.pk, evaluations[0].pk, (PREVIOUS_AS_OF, AS_OF), 1
                ),
                assignment_rows(
                    current, codes, ruleset.pk, evaluations[1].pk, (AS_OF, None), customers + 1
                ),
            ]
        )
        copy_table(conn, TierAssignment._meta.db_table, assignments)


def write_marker(url: str, marker: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {MARKER} (key text PRIMARY KEY, value text)")
        conn.execute(f"DELETE FROM {MARKER}")
        with conn.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {MARKER} VALUES (%s, %s)", list(marker.items()))


def vacuum_analyze(url: str) -> float:
    import psycopg

    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - t0


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiering_web.settings")
    os.environ.setdefault("TIERING_VAR_DIR", str(BENCH / ".data" / "var"))
    # the app refuses to start without a key; a fresh one for this run's processes
    os.environ.setdefault("TIERING_SECRET_KEY", secrets.token_urlsafe(50))
    import django

    django.setup()


def prepare(args: argparse.Namespace) -> None:
    """Create, migrate and (unless the marker says it is already there) load the database."""
    data = demo_data(args.customers, args.seed, args.cache, regenerate=False)
    wanted = marker_wanted(args.customers, args.seed, data)
    have = None if args.rebuild else loaded_marker(args.database_url)
    if have != wanted:
        print(f"database: (re)creating {database_name(args.database_url)}", flush=True)
        recreate_database(args.database_url)
    else:
        ensure_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"database: migrated in {time.perf_counter() - t0:.1f}s", flush=True)
    if have == wanted:
        print(f"database: reusing {database_name(args.database_url)} ({wanted})", flush=True)
        return
    t0 = time.perf_counter()
    load(args.database_url, data, args.customers, args.seed)
    loaded = time.perf_counter() - t0
    vacuumed = vacuum_analyze(args.database_url)
    write_marker(args.database_url, wanted)
    print(f"setup: loaded in {loaded:.0f}s, VACUUM ANALYZE {vacuumed:.0f}s", flush=True)


# --------------------------------------------------------------------------------------------
# measuring


@dataclass
class Scenario:
    name: str
    user: str | None  # "manager", "account manager" or None (anonymous)
    requests: Callable[[int], tuple[str, dict[str, str], dict[str, str]]]
    times_ms: list[float] = field(default_factory=list)
    queries: int | None = None
    statuses: set[int] = field(default_factory=set)
    captured: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, int(np.ceil(0.95 * len(ordered))) - 1)]


def scenarios(sample_codes: list[str], own_codes: list[str], owner_pk: int) -> list[Scenario]:
    from django.urls import reverse

    listing = reverse("customer_list")
    htmx = {"HTTP_HX_REQUEST": "true"}

    def fixed(params: dict[str, str], headers: dict[str, str] | None = None):
        return lambda i: (listing, params, headers or {})

    def pages(codes: list[str]):
        return lambda i: (reverse("customer_detail", args=[codes[i % len(codes)]]), {}, {})

    out = [
        Scenario("list: page 1", "manager", fixed({})),
        Scenario("list: page 100", "manager", fixed({"page": "100"})),
        Scenario("list: page 200 (the last)", "manager", fixed({"page": "200"})),
        Scenario("filter: tier A", "manager", fixed({"tier": "A"})),
        Scenario("filter: tier C, page 50", "manager", fixed({"tier": "C", "page": "50"})),
        Scenario("filter: industry 医药", "manager", fixed({"industry": "医药"})),
        Scenario("filter: owner", "manager", fixed({"owner": str(owner_pk)})),
        Scenario("filter: status dormant", "manager", fixed({"status": "dormant"})),
        Scenario("filter: status blacklisted", "manager", fixed({"status": "blacklisted"})),
        Scenario(
            "filter: tier B + 物流 + active",
            "manager",
            fixed({"tier": "B", "industry": "物流", "status": "active"}),
        ),
        Scenario("search: code prefix C00012", "manager", fixed({"q": "C00012"})),
        Scenario("search: one code", "manager", fixed({"q": sample_codes[0]})),
        Scenario("search: name 机械 (common)", "manager", fixed({"q": "机械"})),
        Scenario("search: name 奥天运输 (rare)", "manager", fixed({"q": "奥天运输"})),
        Scenario("search: name 华泰 (htmx table)", "manager", fixed({"q": "华泰"}, htmx)),
    ]
    for key in ("code", "name", "tier", "industry", "owner", "status"):
        for sort in (key, f"-{key}"):
            if sort != "code":
                out.append(Scenario(f"sort: {sort}", "manager", fixed({"sort": sort})))
    out += [
        Scenario("account manager: list", "account manager", fixed({})),
        Scenario("account manager: sort -tier", "account manager", fixed({"sort": "-tier"})),
        Scenario("account manager: tier A", "account manager", fixed({"tier": "A"})),
        Scenario("account manager: search 科技", "account manager", fixed({"q": "科技"})),
        Scenario("customer page (manager)", "manager", pages(sample_codes)),
        Scenario("customer page (account manager)", "account manager", pages(own_codes)),
    ]
    return out


def sample_customers(owner_pk: int, count: int, seed: int) -> tuple[list[str], list[str]]:
    """Customers with transactions: a repeatable random sample, and the owner's own."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT DISTINCT c.code FROM customers_transaction t
                 TABLESAMPLE SYSTEM (1) REPEATABLE (%s)
               JOIN customers_customer c ON c.id = t.customer_id""",
            [seed],
        )
        codes = sorted(r[0] for r in cursor.fetchall())
        cursor.execute(
            """SELECT c.code FROM customers_customer c
               WHERE c.owner_id = %s
                 AND EXISTS (SELECT 1 FROM customers_transaction t WHERE t.customer_id = c.id)
               ORDER BY c.code LIMIT 2000""",
            [owner_pk],
        )
        own = [r[0] for r in cursor.fetchall()]
    rng = np.random.default_rng(seed)
    return (
        [str(c) for c in rng.choice(codes, min(count, len(codes)), replace=False)],
        [str(c) for c in rng.choice(own, min(count, len(own)), replace=False)],
    )


def measure(scenario: Scenario, client, n: int, budget: float, explain: bool) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    path, params, headers = scenario.requests(0)
    for i in range(2):  # warm-up: caches, prepared templates, the session
        path, params, headers = scenario.requests(n + i)
        scenario.statuses.add(client.get(path, params, **headers).status_code)
    started = time.perf_counter()
    for i in range(n):
        path, params, headers = scenario.requests(i)
        t0 = time.perf_counter()
        response = client.get(path, params, **headers)
        scenario.times_ms.append((time.perf_counter() - t0) * 1000)
        scenario.statuses.add(response.status_code)
        if time.perf_counter() - started > budget and len(scenario.times_ms) >= 5:
            break
    with CaptureQueriesContext(connection) as captured:
        client.get(path, params, **headers)
    scenario.queries = len(captured.captured_queries)
    if explain:
        scenario.captured = [q["sql"] for q in captured.captured_queries]


def explain_queries(scenario: Scenario, threshold_ms: float) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in scenario.captured:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            plan = [r[0] for r in cursor.fetchall()]
            ms = float(plan[-1].split(":")[1].split()[0])
            if ms >= threshold_ms:
                print(f"\n--- {scenario.name}: {ms:.1f} ms\n{sql}\n" + "\n".join(plan))


def baselines(client, n: int) -> list[Scenario]:
    from django.db import connection
    from django.urls import reverse

    login = Scenario("baseline: login page (no query)", None, lambda i: (reverse("login"), {}, {}))
    for _ in range(2):
        client.get(reverse("login"))
    for _ in range(n):
        t0 = time.perf_counter()
        login.statuses.add(client.get(reverse("login")).status_code)
        login.times_ms.append((time.perf_counter() - t0) * 1000)
    login.queries = 0
    select = Scenario("baseline: SELECT a customer by pk", None, lambda i: ("", {}, {}))
    ids = np.random.default_rng(0).integers(1, 1000, n + 2)
    with connection.cursor() as cursor:
        for i, pk in enumerate(ids):
            t0 = time.perf_counter()
            cursor.execute("SELECT * FROM customers_customer WHERE id = %s", [int(pk)])
            cursor.fetchall()
            if i >= 2:
                select.times_ms.append((time.perf_counter() - t0) * 1000)
    select.queries, select.statuses = 1, {200}
    return [login, select]


def run(args: argparse.Namespace) -> int:
    from django.db import connection
    from django.test import Client
    from rich.console import Console
    from rich.table import Table

    from tiering_web.accounts.models import User
    from tiering_web.customers.models import Customer

    manager = User.objects.get(username="bench_manager")
    sales = User.objects.get(username="am07")
    sample, own = sample_customers(sales.pk, args.requests, args.seed)
    customers = Customer.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE relname = 'customers_transaction'"
        )
        transactions = cursor.fetchone()[0]
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]

    clients = {None: Client(), "manager": Client(), "account manager": Client()}
    clients["manager"].force_login(manager)
    clients["account manager"].force_login(sales)
    base = baselines(clients[None], args.requests)
    todo = scenarios(sample, own, sales.pk)
    if args.only:
        todo = [s for s in todo if args.only.lower() in s.name.lower()]
    for scenario in todo:
        measure(scenario, clients[scenario.user], args.requests, args.budget, args.explain)
        print(
            f"{scenario.name:40} n={len(scenario.times_ms):3} median {scenario.median:8.1f} ms"
            f"  p95 {scenario.p95:8.1f} ms  {scenario.queries} queries",
            flush=True,
        )
        if args.explain:
            explain_queries(scenario, args.explain_ms)

    unit = base[0].median
    info = machine_info()
    console = Console(width=140)
    table = Table(
        title=f"{customers:,} customers, ~{transactions:,} transactions, PostgreSQL {server};"
        f" {info['cores']} cores; median and p95 of up to {args.requests} requests"
    )
    columns = ("scenario", "n", "queries", "median ms", "p95 ms", "p95 / login", "p95 < 200 ms")
    for column in columns:
        table.add_column(column, justify="left" if column == "scenario" else "right")
    failed = False
    for scenario in [*base, *todo]:
        ok = scenario.statuses == {200}
        failed |= not ok
        table.add_row(
            scenario.name + ("" if ok else f" (status {sorted(scenario.statuses)})"),
            str(len(scenario.times_ms)),
            str(scenario.queries),
            f"{scenario.median:.1f}",
            f"{scenario.p95:.1f}",
            f"{scenario.p95 / unit:.0f}x",
            "yes" if scenario.p95 < TARGET_MS else "NO",
        )
    console.print(table)
    meets = sum(s.p95 < TARGET_MS for s in todo)
    console.print(f"{meets} of {len(todo)} scenarios have a p95 under {TARGET_MS:.0f} ms")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "customers": customers,
                    "transactions": transactions,
                    "scenarios": [
                        {
                            "name": s.name,
                            "times_ms": s.times_ms,
                            "median_ms": s.median,
                            "p95_ms": s.p95,
                            "queries": s.queries,
                            "statuses": sorted(s.statuses),
                        }
                        for s in [*base, *todo]
                    ],
                },
                indent=2,
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--database-url", default=os.environ.get("BENCH_WEB_DATABASE", DEFAULT_DATABASE)
    )
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=BENCH / ".data")
    ap.add_argument("--rebuild", action="store_true", help="load the database again")
    ap.add_argument("--setup-only", action="store_true", help="load, do not measure")
    ap.add_argument("--requests", type=int, default=50, help="requests per scenario")
    ap.add_argument(
        "--budget", type=float, default=30.0, help="seconds per scenario (at least 5 requests)"
    )
    ap.add_argument("--only", default=None, help="only the scenarios whose name contains this")
    ap.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slow queries")
    ap.add_argument("--explain-ms", type=float, default=20.0, help="what --explain calls slow")
    ap.add_argument("--json", type=Path, default=None, help="also write the timings here")
    args = ap.parse_args(argv)
    if args.customers != 1_000_000 and "--database-url" not in " ".join(argv or sys.argv):
        args.database_url = database_url(
            args.database_url, f"{database_name(args.database_url)}_c{args.customers}"
        )
    t0 = time.perf_counter()
    prepare(args)
    print(f"setup: {time.perf_counter() - t0:.0f}s in all", flush=True)
    if args.setup_only:
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
