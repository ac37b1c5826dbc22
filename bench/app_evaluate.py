"""Evaluate -> publish through the web app's services against the engine alone.

Usage::

    python bench/app_evaluate.py                                  # PostgreSQL, 1,000,000 customers
    python bench/app_evaluate.py --customers 20000                # quick (its own database)
    python bench/app_evaluate.py --database sqlite --customers 100000
    python bench/app_evaluate.py --label before                   # keep the results as "before"
    python bench/app_evaluate.py --compare before                 # same tiers as "before"?

The database is the one ``bench/web.py`` loads (its loader is imported, not copied): the demo
company with two published quarters of a scorecard rule set (``bench_app`` by default, so the
page benchmark's database is never touched; ``--database-url`` to change it). For
``--database sqlite`` the same rows are written into a SQLite file under ``bench/.data/``
(``executemany``, cached with a marker table).

Then, each in a fresh process under ``bench/_measure.py`` (wall time and peak RSS):

* **engine, tiering evaluate**: the ``tiering evaluate`` command on the demo company's parquet
  files (the same customers and transactions; the current quarter's grades as ``--previous``)
  as of 2026-12-31, in Chinese: the engine at its fastest, the reference for the ratio;
* **engine, on the app tables**: ``tiering.evaluate(...).to_pyarrow()`` in process on the
  app's tables as the app reads them (``engine_inputs(read_out=True)``: copied out of
  PostgreSQL or read from SQLite, graded in DuckDB; with the code before this benchmark,
  graded inside PostgreSQL), the open tiers as ``previous``, one language;
* **app**: ``run_evaluation`` (a draft with every result stored) and ``publish_evaluation``
  (the draft's tiers become the open tiers) as the web app runs them, with ``--overrides``
  overrides set first. Then, in another process, its results (code, tier, score, reason,
  details...) are written to ``bench/.data/app_<database>_c<N>_<label>.parquet`` and the
  publication is undone (``storage.withdraw_tiers``: the tiers it opened deleted, those it
  closed reopened, the grace counts given back; then its results deleted), so every run
  starts from the same state.

It prints seconds per step, the ratio app / engine and the peak RSS of each process (the
database server's own memory is not included). No timed assertions; the exit status is 1 when
``--compare`` finds a customer whose tier differs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import web  # noqa: E402  (bench/web.py: the loader of the demo company)
from evaluate import demo_data, engine_command, machine_info  # noqa: E402

AS_OF = dt.date(2026, 12, 31)
MEASURE = BENCH / "_measure.py"
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5434/bench_app"
SQLITE_LOADER = "1"
OVERRIDE_REASON = "bench/app_evaluate.py"


# --------------------------------------------------------------------------------------------
# the databases


def sqlite_path(args: argparse.Namespace) -> Path:
    return args.cache / f"app_c{args.customers}_s{args.seed}.sqlite3"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def prepare_sqlite(args: argparse.Namespace) -> Path:
    """The demo company in a SQLite file, the same rows as ``web.load`` copies into
    PostgreSQL (built once; a marker table says what it holds)."""
    import sqlite3

    data = demo_data(args.customers, args.seed, args.cache, regenerate=False)
    path = sqlite_path(args)
    wanted = {**web.marker_wanted(args.customers, args.seed, data), "sqlite": SQLITE_LOADER}
    if path.exists() and not args.rebuild:
        with sqlite3.connect(path) as conn:
            try:
                have = dict(conn.execute(f"SELECT key, value FROM {web.MARKER}").fetchall())
            except sqlite3.OperationalError:
                have = None
        if have == wanted:
            print(f"database: reusing {os.path.relpath(path, ROOT)}", flush=True)
            return path
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, __file__, "--phase", "load-sqlite", *phase_args(args, sqlite_url(path))],
        check=True,
        cwd=ROOT,
    )
    with sqlite3.connect(path) as conn:
        conn.execute(f"CREATE TABLE {web.MARKER} (key text PRIMARY KEY, value text)")
        conn.executemany(f"INSERT INTO {web.MARKER} VALUES (?, ?)", list(wanted.items()))
    print(f"database: {os.path.relpath(path, ROOT)} loaded in {time.perf_counter() - t0:.0f}s")
    return path


def _sqlite_values(table):
    """Rows of an Arrow table as tuples SQLite and Django agree on (dates and times as text)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for name in table.column_names:
        column = table[name]
        if pa.types.is_timestamp(column.type):
            column = pc.strftime(column, "%Y-%m-%d %H:%M:%S")
        elif pa.types.is_date(column.type):
            column = pc.strftime(column, "%Y-%m-%d")
        elif pa.types.is_decimal(column.type):
            column = pc.cast(column, pa.float64())
        columns.append(column.to_pylist())
    return zip(*columns, strict=True)


def load_sqlite(args: argparse.Namespace) -> None:
    """``web.load`` for SQLite: the same users, rule set, evaluations and rows, inserted
    with ``executemany`` (runs in a process whose Django points at the new file)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from django.core.management import call_command
    from django.db import connection, transaction

    from tiering_web.accounts.models import Role, User
    from tiering_web.customers.models import Customer, Transaction
    from tiering_web.evaluations.models import Evaluation, EvaluationResult, TierAssignment
    from tiering_web.rulesets.models import RuleSet, RuleSetVersion

    call_command("migrate", verbosity=0)
    data = demo_data(args.customers, args.seed, args.cache, regenerate=False)
    previous_path, current_path = web.engine_results(data)
    rng = np.random.default_rng(args.seed)
    stamp = dt.datetime(2026, 10, 8, 10, 0, tzinfo=dt.UTC)
    manager = User(username="bench_manager", role=Role.MANAGER, first_name="经理")
    managers = [
        User(username=f"am{i:02d}", role=Role.ACCOUNT_MANAGER)
        for i in range(1, web.ACCOUNT_MANAGERS + 1)
    ]
    for user in (manager, *managers):
        user.set_unusable_password()
    manager.save()
    managers = User.objects.bulk_create(managers)
    ruleset = RuleSet.objects.create(name=web.RULES["name"], description="bench", is_primary=True)
    version = RuleSetVersion.objects.create(
        ruleset=ruleset,
        number=1,
        definition=web.RULES,
        author=manager,
        reviewer=manager,
        approver=manager,
        effective_date=web.PREVIOUS_AS_OF,
        status=RuleSetVersion.Status.APPROVED,
    )
    evaluations = [
        Evaluation.objects.create(
            ruleset_version=version,
            as_of=as_of,
            status=Evaluation.Status.PUBLISHED,
            created_by=manager,
            published_by=manager,
            published_at=stamp,
        )
        for as_of in (web.PREVIOUS_AS_OF, web.AS_OF)
    ]

    def insert(model, rows) -> None:
        t0 = time.perf_counter()
        table = model._meta.db_table
        names = ", ".join(f'"{c}"' for c in rows.column_names)
        marks = ", ".join("?" for _ in rows.column_names)
        with transaction.atomic(), connection.cursor() as cursor:
            for start in range(0, rows.num_rows, web.CHUNK):
                cursor.executemany(
                    f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
                    list(_sqlite_values(rows.slice(start, web.CHUNK))),
                )
        print(f"  {table}: {rows.num_rows:,} rows in {time.perf_counter() - t0:.1f}s", flush=True)

    source = pq.read_table(data / "customers.parquet")
    codes = source["客户编号"].combine_chunks()
    insert(Customer, web.customer_rows(source, [u.pk for u in managers], rng))
    del source
    insert(Transaction, web.transaction_rows(pq.read_table(data / "transactions.parquet"), codes))
    previous, current = pq.read_table(previous_path), pq.read_table(current_path)
    n = args.customers
    insert(
        EvaluationResult,
        pa.concat_tables(
            [
                web.result_rows(previous, codes, evaluations[0].pk, 1),
                web.result_rows(current, codes, evaluations[1].pk, n + 1),
            ]
        ),
    )
    insert(
        TierAssignment,
        pa.concat_tables(
            [
                web.assignment_rows(
                    previous,
                    codes,
                    ruleset.pk,
                    evaluations[0].pk,
                    (web.PREVIOUS_AS_OF, web.AS_OF),
                    1,
                ),
                web.assignment_rows(
                    current, codes, ruleset.pk, evaluations[1].pk, (web.AS_OF, None), n + 1
                ),
            ]
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def prepare(args: argparse.Namespace) -> str:
    """The database URL of a loaded database for ``args``."""
    if args.database == "sqlite":
        return sqlite_url(prepare_sqlite(args))
    web.prepare(
        argparse.Namespace(
            customers=args.customers,
            seed=args.seed,
            cache=args.cache,
            rebuild=args.rebuild,
            database_url=args.database_url,
        )
    )
    return args.database_url


# --------------------------------------------------------------------------------------------
# the measured phases (each in its own process)


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiering_web.settings")
    os.environ.setdefault("TIERING_VAR_DIR", str(BENCH / ".data" / "var"))
    # the app refuses to start without a key; a fresh one for this run's processes
    os.environ.setdefault("TIERING_SECRET_KEY", secrets.token_urlsafe(50))
    # the generated company is graded as of AS_OF whatever the day the benchmark runs
    os.environ.setdefault("TIERING_AS_OF_HORIZON_DAYS", str(max(0, (AS_OF - dt.date.today()).days)))
    import django

    django.setup()


def bench_objects():
    from tiering_web.accounts.models import User
    from tiering_web.rulesets.models import RuleSetVersion

    manager = User.objects.get(username="bench_manager")
    version = RuleSetVersion.objects.get(ruleset__name=web.RULES["name"], number=1)
    return manager, version


def reset(version) -> None:
    """Undo what an earlier app run left: its evaluation, results, tiers and overrides (in
    SQL: the ORM's delete would load a million rows into Python first)."""
    from django.db import connection, transaction

    from tiering_web.evaluations import storage
    from tiering_web.evaluations.models import (
        Evaluation,
        EvaluationResult,
        Override,
        TierAssignment,
    )

    ruleset = version.ruleset
    ids = list(
        Evaluation.objects.filter(ruleset_version=version, as_of=AS_OF).values_list("id", flat=True)
    )
    with transaction.atomic(), connection.cursor() as cursor:
        published = Evaluation.objects.filter(pk__in=ids, status=Evaluation.Status.PUBLISHED)
        for evaluation in published.select_related("ruleset_version__ruleset"):
            # the app's own undo: the tiers it opened deleted, those it closed reopened,
            # the grace counts it carried over given back (the earlier code's publications,
            # which closed every tier, are undone by it as well)
            storage.withdraw_tiers(evaluation, Evaluation.in_force(ruleset, exclude=evaluation))
        for model in (TierAssignment, EvaluationResult):
            for pk in ids:
                cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE evaluation_id = %s", [pk])
        Evaluation.objects.filter(pk__in=ids).delete()
        Override.objects.filter(ruleset=ruleset, reason=OVERRIDE_REASON).delete()
    if connection.vendor == "postgresql":
        # the deleted and reopened rows leave dead tuples and half-empty index pages behind:
        # without rewriting the tables every run would find bigger tables and indexes than
        # the one before (82 s to publish instead of 54 after a few runs; a plain VACUUM
        # frees the tuples but not the index bloat), not the freshly loaded state
        with connection.cursor() as cursor:
            for model in (TierAssignment, EvaluationResult, Override):
                cursor.execute(f"VACUUM (FULL, ANALYZE) {model._meta.db_table}")


def set_overrides(manager, version, count: int) -> None:
    """``count`` overrides (every k-th customer to the top tier, until next year)."""
    from tiering_web.customers.models import Customer
    from tiering_web.evaluations.models import Override

    total = Customer.objects.count()
    step = max(total // max(count, 1), 1)
    ids = list(Customer.objects.order_by("id").values_list("id", flat=True)[::step][:count])
    Override.objects.bulk_create(
        Override(
            customer_id=pk,
            ruleset=version.ruleset,
            tier="A",
            reason=OVERRIDE_REASON,
            expires=dt.date(2027, 12, 31),
            created_by=manager,
        )
        for pk in ids
    )


def export_results(evaluation, out: Path) -> None:
    """The evaluation's stored results, by customer code, as a parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from django.db import connection

    columns = (
        "code",
        "tier",
        "score",
        "reason",
        "next_tier",
        "gap",
        "gap_unit",
        "flags",
        "previous_tier",
        "change",
        "details",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.code, r.tier, CAST(r.score AS text), r.reason, r.next_tier,"
            " CAST(r.gap AS text), r.gap_unit, r.flags, r.previous_tier, r.change,"
            " CAST(r.details AS text)"
            " FROM evaluations_evaluationresult r"
            " JOIN customers_customer c ON c.id = r.customer_id"
            " WHERE r.evaluation_id = %s",
            [evaluation.pk],
        )
        rows = cursor.fetchall()
    table = pa.table({name: [r[i] for r in rows] for i, name in enumerate(columns)})
    pq.write_table(table, out)


def phase_app(args: argparse.Namespace) -> dict:
    from tiering_web.audit.models import AuditEntry
    from tiering_web.evaluations.services import publish_evaluation, run_evaluation

    manager, version = bench_objects()
    reset(version)
    if args.overrides:
        set_overrides(manager, version, args.overrides)
    t0 = time.perf_counter()
    evaluation = run_evaluation(manager, version, AS_OF, lang="zh")
    ran = time.perf_counter() - t0
    t0 = time.perf_counter()
    publish_evaluation(manager, evaluation, "bench")
    published = time.perf_counter() - t0
    entry = AuditEntry.objects.filter(action="evaluation.publish").latest("id")
    moved = {k: entry.details.get(k) for k in ("closed", "opened", "kept", "grace")}
    return {"run": ran, "publish": published, "own_peak_mib": _own_peak_mib(), "moved": moved}


def _own_peak_mib() -> float | None:
    """This process's memory high-water mark (``VmHWM``), as it sees it itself."""
    from _measure import high_water_kib  # bench/_measure.py, the launcher's own reading

    kib = high_water_kib()
    return None if kib is None else kib / 1024


def phase_export(args: argparse.Namespace) -> dict:
    """Write the app run's results to ``--out`` and undo the run (a process of its own, so
    that reading a million results back does not count in the app's peak memory)."""
    from django.db import connection

    from tiering_web.evaluations.models import Evaluation, EvaluationResult, TierAssignment

    _, version = bench_objects()
    evaluation = Evaluation.objects.get(ruleset_version=version, as_of=AS_OF)
    with connection.cursor() as cursor:
        for table in (TierAssignment, EvaluationResult):  # fresh statistics for the join
            cursor.execute(f"ANALYZE {table._meta.db_table}")
        # every open tier of the rule set, whichever publication opened it, against the
        # run's result for the customer
        cursor.execute(
            "SELECT count(*), count(r.id) FROM evaluations_tierassignment a"
            " LEFT JOIN evaluations_evaluationresult r"
            " ON r.evaluation_id = %s AND r.customer_id = a.customer_id"
            " AND r.tier = a.tier"
            " WHERE a.ruleset_id = %s AND a.valid_to IS NULL",
            [evaluation.pk, version.ruleset_id],
        )
        opened, agreeing = cursor.fetchone()
    export_results(evaluation, args.out)
    reset(version)
    return {"opened": opened, "agreeing": agreeing}


def phase_engine(args: argparse.Namespace) -> dict:
    import pyarrow as pa
    from django.db import connection

    import tiering
    from tiering_web.evaluations.adapters import engine_inputs

    _, version = bench_objects()
    reset(version)
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.code, a.tier FROM evaluations_tierassignment a"
            " JOIN customers_customer c ON c.id = a.customer_id"
            " WHERE a.ruleset_id = %s AND a.valid_to IS NULL",
            [version.ruleset_id],
        )
        rows = cursor.fetchall()
    previous = pa.table({"customer_id": [r[0] for r in rows], "tier": [r[1] for r in rows]})
    del rows
    try:  # as the app reads them now: copied out of PostgreSQL, graded in DuckDB
        opened = engine_inputs(want_payments=False, read_out=True)
    except TypeError:  # the code before: in the database on PostgreSQL
        opened = engine_inputs(want_payments=False)
    with opened as inputs:
        result = tiering.evaluate(
            version.rules(),
            inputs.customers,
            inputs.transactions,
            as_of=AS_OF,
            previous=previous,
            lang="zh",
            attributes=False,
        ).to_pyarrow()
    return {"engine": time.perf_counter() - t0, "rows": result.num_rows}


def phase_args(args: argparse.Namespace, url: str) -> list[str]:
    return [
        "--database",
        args.database,
        "--database-url",
        url,
        "--customers",
        str(args.customers),
        "--seed",
        str(args.seed),
        "--cache",
        str(args.cache),
        "--overrides",
        str(args.overrides),
    ]


def measured_cli(args: argparse.Namespace) -> dict:
    """:func:`measured_cli_run` with ``--previous``; without it when that fails (the
    figure then says so)."""
    try:
        return measured_cli_run(args, previous=True)
    except SystemExit as failed:
        print(f"{failed}; again without --previous", flush=True)
        return {**measured_cli_run(args, previous=False), "without_previous": True}


def measured_cli_run(args: argparse.Namespace, *, previous: bool) -> dict:
    """``tiering evaluate`` on the demo company's parquet files (the same customers and
    transactions, the current quarter's grades as ``--previous``), as bench/evaluate.py
    runs it: the engine at its fastest, whatever the app does."""
    data = demo_data(args.customers, args.seed, args.cache, regenerate=False)
    _, current = web.engine_results(data)
    with tempfile.TemporaryDirectory() as tmp:
        usage = Path(tmp) / "usage.json"
        cmd = [
            sys.executable,
            str(MEASURE),
            str(usage),
            *engine_command(),
            "evaluate",
            str(ROOT / "examples" / "scorecard.yaml"),
            "--customers",
            str(data / "customers.parquet"),
            "--transactions",
            str(data / "transactions.parquet"),
            "--as-of",
            AS_OF.isoformat(),
            *(["--previous", str(current)] if previous else []),
            "--lang",
            "zh",
            "--out",
            str(Path(tmp) / "out.parquet"),
        ]
        subprocess.run(
            cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        used = json.loads(usage.read_text())
        if used["returncode"] != 0:
            raise SystemExit(f"tiering evaluate failed (exit {used['returncode']})")
        return {"engine": used["seconds"], "maxrss_mib": used["maxrss_kib"] / 1024}


def measured(args: argparse.Namespace, url: str, phase: str, *extra: str) -> dict:
    """Run one phase in a fresh process under bench/_measure.py; its timings and peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        timings, usage = Path(tmp) / "phase.json", Path(tmp) / "usage.json"
        cmd = [
            sys.executable,
            str(MEASURE),
            str(usage),
            sys.executable,
            __file__,
            "--phase",
            phase,
            "--phase-result",
            str(timings),
            *phase_args(args, url),
            *extra,
        ]
        subprocess.run(cmd, check=True, cwd=ROOT)
        used = json.loads(usage.read_text())
        if used["returncode"] != 0:
            raise SystemExit(f"the {phase} phase failed (exit {used['returncode']})")
        return {**json.loads(timings.read_text()), "maxrss_mib": used["maxrss_kib"] / 1024}


def compare(current: Path, reference: Path) -> int:
    """Print how the stored results differ from an earlier run's; 1 when a tier does."""
    import pyarrow.parquet as pq

    now = {r["code"]: r for r in pq.read_table(current).to_pylist()}
    then = {r["code"]: r for r in pq.read_table(reference).to_pylist()}
    print(f"compare: {current.name} against {reference.name}")
    if set(now) != set(then):
        print(f"  customers differ: {len(set(now) ^ set(then))} not in both")
        return 1
    differing: dict[str, list[str]] = {}
    for code, row in now.items():
        old = then[code]
        for key, value in row.items():
            same = value == old[key]
            if not same and key == "details":
                same = json.loads(value) == json.loads(old[key])
            elif not same and key in ("score", "gap") and None not in (value, old[key]):
                same = float(value) == float(old[key])
            if not same:
                differing.setdefault(key, []).append(code)
    print(f"  {len(now):,} customers; tiers identical: {'tier' not in differing}")
    for key, codes in differing.items():
        example = codes[0]
        print(f"  {key}: {len(codes):,} differ, e.g. {example}: {then[example][key]!r}")
        print(f"  {' ' * len(key)}  now {now[example][key]!r}")
    return 1 if "tier" in differing else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument(
        "--database-url", default=os.environ.get("BENCH_APP_DATABASE", DEFAULT_DATABASE)
    )
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=BENCH / ".data")
    ap.add_argument("--rebuild", action="store_true", help="load the database again")
    ap.add_argument("--overrides", type=int, default=1000, help="overrides set before the run")
    ap.add_argument("--label", default="after", help="name of this run's results file")
    ap.add_argument("--compare", default=None, help="label of an earlier run to compare with")
    ap.add_argument("--skip-engine", action="store_true", help="time the app only")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    # internal: one phase in this process
    ap.add_argument(
        "--phase", choices=("app", "engine", "export", "load-sqlite"), help=argparse.SUPPRESS
    )
    ap.add_argument("--phase-result", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.cache = args.cache.resolve()

    if args.phase:
        setup_django(args.database_url)
        if args.phase == "load-sqlite":
            load_sqlite(args)
            return 0
        phases = {"app": phase_app, "engine": phase_engine, "export": phase_export}
        result = phases[args.phase](args)
        args.phase_result.write_text(json.dumps(result))
        return 0

    explicit = "--database-url" in " ".join(argv if argv is not None else sys.argv)
    if args.database == "postgresql" and args.customers != 1_000_000 and not explicit:
        args.database_url = web.database_url(
            args.database_url, f"{web.database_name(args.database_url)}_c{args.customers}"
        )
    url = prepare(args)
    out = args.cache / f"app_{args.database}_c{args.customers}_{args.label}.parquet"
    figures = {}
    if not args.skip_engine:
        figures["cli"] = measured_cli(args)
        print(f"engine, tiering evaluate: {figures['cli']['engine']:.1f}s", flush=True)
        figures["engine"] = measured(args, url, "engine")
        print(f"engine, in process: {figures['engine']['engine']:.1f}s", flush=True)
    figures["app"] = measured(args, url, "app")
    # the export's own peak (reading a million results back into Python) is not the app's
    exported = measured(args, url, "export", "--out", str(out))
    exported.pop("maxrss_mib")
    app = {**figures["app"], **exported}
    print(f"app: run {app['run']:.1f}s, publish {app['publish']:.1f}s", flush=True)

    info = machine_info()
    print(
        f"\n{args.customers:,} customers on {args.database}, {args.overrides} overrides;"
        f" {info['cores']} cores, {info['memory']}"
    )
    print(f"{'step':28} {'seconds':>9} {'peak RSS':>10}")
    print(f"{'app: run_evaluation (draft)':28} {app['run']:9.1f} {app['maxrss_mib']:8.0f} MiB")
    if app.get("own_peak_mib") is not None:
        print(f"{'  (its own VmHWM)':28} {'':9} {app['own_peak_mib']:8.0f} MiB")
    print(f"{'app: publish_evaluation':28} {app['publish']:9.1f}")
    if app.get("moved"):
        moved = ", ".join(f"{k} {v:,}" for k, v in app["moved"].items() if v is not None)
        print(f"{'  (tier assignments)':28} {moved}")
    total = app["run"] + app["publish"]
    print(f"{'app: run + publish':28} {total:9.1f}")
    if "engine" in figures:
        cli, engine = figures["cli"], figures["engine"]
        label = "engine: tiering evaluate" + (" (*)" if cli.get("without_previous") else "")
        for name, run in ((label, cli), ("engine: on the app tables", engine)):
            print(f"{name:28} {run['engine']:9.1f} {run['maxrss_mib']:8.0f} MiB")
        print(f"{'ratio app / tiering evaluate':28} {total / cli['engine']:9.2f}")
        print(f"{'ratio app / engine in app db':28} {total / engine['engine']:9.2f}")
    print(
        f"published: {app['opened']:,} open tiers, {app['agreeing']:,} equal to the results;"
        f" results in {os.path.relpath(out, ROOT)}"
    )
    status = 0
    if args.compare:
        status = compare(
            out, out.with_name(out.name.replace(f"_{args.label}.", f"_{args.compare}."))
        )
    if args.json:
        args.json.write_text(json.dumps({"machine": info, **figures}, indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main())
