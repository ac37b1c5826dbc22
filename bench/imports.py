"""Speed and memory of the web import of a large transactions file, against a plain bulk
insert of the same rows.

Usage::

    python bench/imports.py                          # 1,000,000 rows, 10,000 customers, SQLite
    python bench/imports.py --rows 100000            # a quick run
    python bench/imports.py --database-url postgres://postgres@127.0.0.1:5434/bench_imports

A CSV of ``--rows`` transactions (客户编号, 日期, 金额, 成本, 单号) of ``--customers``
customers is generated once with DuckDB into ``bench/.data/imports/``. Then, each in a
fresh subprocess on a freshly migrated database with the same customers stored:

* **baseline**: DuckDB reads the CSV and the rows go into the transactions table in one
  database transaction by the plainest fast path the database has (``executemany`` of a
  prepared INSERT on SQLite, ``COPY`` on PostgreSQL), without any checking;
* **service**: :func:`tiering_web.imports.services.import_transactions` (reads, checks
  every row, writes all or nothing, reports progress).

Printed: wall seconds of the import itself (set-up excluded), rows per second, peak RSS
of the subprocess (``ru_maxrss`` through ``bench/_measure.py``, set-up included), and the
ratio service / baseline. The ratio is the result; there are no timed assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
MEASURE = BENCH / "_measure.py"
HEADER = ("客户编号", "日期", "金额", "成本", "单号")


def generate(path: Path, rows: int, customers: int) -> Path:
    """The transactions CSV (kept and reused for the same sizes)."""
    if path.exists():
        return path
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    duckdb.sql(
        f"""
        COPY (
          SELECT printf('C%06d', i % {customers}) AS "客户编号",
                 strftime(DATE '2025-01-01' + CAST(i % 540 AS INTEGER), '%Y-%m-%d') AS "日期",
                 printf('%.2f', (i * 7919 % 100000) / 100.0 + 1) AS "金额",
                 printf('%.2f', (i * 7919 % 100000) / 200.0) AS "成本",
                 printf('R%08d', i) AS "单号"
          FROM range({rows}) t(i)
        ) TO '{tmp}' (HEADER, DELIMITER ',', FORMAT csv)
        """
    )
    tmp.rename(path)
    return path


# --------------------------------------------------------------------------- child


def _setup(customers: int):
    """Django on a fresh database holding ``customers`` customers; returns the user."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "sqlite":
        name = Path(settings.DATABASES["default"]["NAME"])
        connection.close()
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(str(name) + suffix).unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    if connection.vendor != "sqlite":
        call_command("flush", interactive=False, verbosity=0)
    from tiering_web.accounts.models import Role, User
    from tiering_web.customers.models import Customer

    user = User.objects.create_user("bench", role=Role.MANAGER)
    Customer.objects.bulk_create(
        [Customer(code=f"C{i:06d}", name=f"客户{i}") for i in range(customers)], batch_size=1000
    )
    return user


def _baseline(csv_path: Path) -> int:
    import duckdb
    from django.db import connection, transaction

    from tiering_web.customers.models import Customer, Transaction

    ids = dict(Customer.objects.values_list("code", "id"))
    table = Transaction._meta.db_table
    columns = ("customer_id", "date", "amount", "cost", "kind", "reference")
    db = duckdb.connect()
    result = db.execute(
        f'SELECT "客户编号", CAST("日期" AS DATE), CAST("金额" AS DECIMAL(18, 2)), '
        f'CAST("成本" AS DECIMAL(18, 2)), "单号" FROM read_csv(\'{csv_path}\', header = true, '
        "all_varchar = true)"
    )
    n = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                while rows := result.fetchmany(10000):
                    for code, date, amount, cost, ref in rows:
                        copy.write_row((ids[code], date, amount, cost, "order", ref))
                    n += len(rows)
        else:
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join(['%s'] * len(columns))})"
            )
            while rows := result.fetchmany(10000):
                cursor.executemany(
                    sql,
                    [
                        (ids[code], date, str(amount), str(cost), "order", ref)
                        for code, date, amount, cost, ref in rows
                    ],
                )
                n += len(rows)
    return n


def _service(csv_path: Path, user) -> tuple[int, int]:
    from tiering_web.imports.services import import_transactions

    calls = []
    job = import_transactions(user, csv_path, None, "bench", progress=lambda *a: calls.append(a))
    return job.created_count, len(calls)


def child(args) -> None:
    user = _setup(args.customers)
    from tiering_web.customers.models import Transaction

    t0 = time.perf_counter()
    progress_calls = 0
    if args.child == "baseline":
        rows = _baseline(args.csv)
    else:
        rows, progress_calls = _service(args.csv, user)
    seconds = time.perf_counter() - t0
    stored = Transaction.objects.count()
    Path(args.out).write_text(
        json.dumps(
            {"seconds": seconds, "rows": rows, "stored": stored, "progress_calls": progress_calls}
        )
    )


# --------------------------------------------------------------------------- parent


def run(kind: str, args, work: Path) -> dict:
    out = work / f"{kind}.json"
    measured = work / f"{kind}.measure.json"
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tiering_web.settings")
    env["TIERING_VAR_DIR"] = str(work / f"var-{kind}")
    env.setdefault("TIERING_SECRET_KEY", secrets.token_urlsafe(50))  # the app needs one
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    cmd = [
        sys.executable,
        str(MEASURE),
        str(measured),
        sys.executable,
        __file__,
        "--child",
        kind,
        "--csv",
        str(args.csv),
        "--customers",
        str(args.customers),
        "--out",
        str(out),
    ]
    subprocess.run(cmd, env=env, check=True, cwd=ROOT)
    result = json.loads(out.read_text())
    measure = json.loads(measured.read_text())
    if measure["returncode"] != 0:
        raise SystemExit(f"{kind} failed with exit code {measure['returncode']}")
    result["maxrss_mib"] = measure["maxrss_kib"] / 1024
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--work", type=Path, default=BENCH / ".data" / "imports")
    parser.add_argument("--child", choices=("baseline", "service"), help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0

    args.work.mkdir(parents=True, exist_ok=True)
    args.csv = generate(
        args.work / f"transactions_{args.rows}_{args.customers}.csv", args.rows, args.customers
    )
    database = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
    print(
        f"{args.rows:,} transaction rows of {args.customers:,} customers "
        f"({args.csv.stat().st_size / 2**20:.0f} MiB CSV) into {database}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    results = {}
    for kind in ("baseline", "service"):
        results[kind] = run(kind, args, args.work)
        shutil.rmtree(args.work / f"var-{kind}", ignore_errors=True)
    print(f"{'':10} {'seconds':>9} {'rows/s':>10} {'peak RSS':>10}  stored")
    for kind, r in results.items():
        print(
            f"{kind:10} {r['seconds']:9.1f} {r['rows'] / r['seconds']:10,.0f} "
            f"{r['maxrss_mib']:8.0f} MiB  {r['stored']:,}"
        )
    base, service = results["baseline"], results["service"]
    print(
        f"service / baseline: {service['seconds'] / base['seconds']:.2f}x the time, "
        f"{service['maxrss_mib'] / base['maxrss_mib']:.2f}x the memory; "
        f"{service['progress_calls']} progress reports"
    )
    ok = base["stored"] == service["stored"] == args.rows
    if not ok:
        print("row counts differ", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
