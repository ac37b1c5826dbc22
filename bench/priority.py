"""The call-centre priority lookup (``GET /api/priority?phone=…``) under a steady 500
requests per second, served by a real multi-process, multi-threaded WSGI server on loopback
and loaded from a second process.

Usage::

    python bench/priority.py                          # 100,000 customers on PostgreSQL
    python bench/priority.py --customers 20000 --duration 10
    python bench/priority.py --database-url sqlite:///bench/.data/priority.sqlite3
    python bench/priority.py --conn-max-age 0         # a new database connection per request

**Data** (first run, kept afterwards; ``--rebuild`` starts again): the database
(default ``postgres://postgres@127.0.0.1:5434/bench_priority``) is migrated and gets N
customers, each with one or two contact numbers written the ways contact sheets write them
(mobiles with spaces or +86, landlines with their area code and an extension), 1% of them
blacklisted; a primary rule set with three tiers A/B/C, their approved call-centre terms,
a published evaluation whose tier assignments give 10% A, 30% B and 60% C; then the phone
index is built with :func:`tiering_web.callcentre.services.sync_phone_index` and timed.

**Server**: ``tiering-web serve --no-worker`` on 127.0.0.1, the production server the
app ships (gunicorn, ``--workers`` processes, default 4, × ``--threads`` threads, default
4), with the project's settings and middleware unchanged; ``CONN_MAX_AGE`` from
``--conn-max-age`` (default 60 s: persistent database connections, as a production
deployment sets them). Its output goes to ``bench/.data/priority-server.log``.

**Load**: a separate process sends requests on a fixed open-loop schedule (request *i* is
due at ``start + i / rate`` whatever happened to the earlier ones) from ``--connections``
threads, each with its own keep-alive ``http.client`` connection. Latency is measured from
the moment a request was *due* to the end of its response, so a server (or client) that
falls behind shows it in the latency instead of silently sending less. 10% of the phones
asked are unknown numbers; the others are customers' numbers in another writing than
their contact sheet's. Each endpoint is warmed up for 2 s, then measured for
``--duration`` seconds:

* ``baseline``: ``/healthz``, the app's liveness check answering ``{"ok": true}``
  through the same server and middleware (what any request costs here);
* ``GET /api/priority``: the project's route (django-ninja, with the call centre's cached
  bearer-token check).

It prints achieved rate, median, p95, p99 and max latency, errors, and each p99 as a ratio
to the baseline's. No timed assertions: the exit status is 1 only when a request failed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5434/bench_priority"
LOADER_VERSION = "1"
TARGET_P99_MS = 20.0
TIERS = ("A", "B", "C")
TERMS = [
    {"tier": "A", "queue_priority": 1, "answer_seconds": 20, "answer_share": "0.900"},
    {
        "tier": "B",
        "queue_priority": 3,
        "answer_seconds": 30,
        "answer_share": "0.850",
        "callback_hours": 24,
    },
    {"tier": "C", "queue_priority": 5, "answer_seconds": 60, "answer_share": "0.800"},
]
RULES = {
    "name": "按营收分级",
    "lookback": "12 months",
    "thresholds": {"metric": "revenue"},
    "tiers": [{"name": "A", "min": 100000}, {"name": "B", "min": 20000}, {"name": "C"}],
}


# -------------------------------------------------------------------------------- database


def _with_name(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def ensure_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_with_name(url, "postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(url: str, conn_max_age: int | None = None) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiering_web.settings")
    os.environ.setdefault("TIERING_VAR_DIR", str(BENCH / ".data" / "var-priority"))
    # the app refuses to start without a key; a fresh one for this run's processes
    os.environ.setdefault("TIERING_SECRET_KEY", secrets.token_urlsafe(50))
    import django
    from django.conf import settings

    if conn_max_age is not None:
        settings.DATABASES["default"]["CONN_MAX_AGE"] = conn_max_age
    django.setup()


def phone_of(i: int) -> tuple[str, str]:
    """Customer i's number as its contact sheet writes it, and as a caller ID gives it."""
    if i % 4 == 3:  # a landline with area code and extension
        local = f"{6000_0000 + i:08d}"
        return f"(021) {local[:4]}-{local[4:]} 转 {i % 900 + 100}", f"+8621{local}"
    mobile = f"13{i % 7 + 3}{i:08d}"
    written = (
        f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}"
        if i % 2
        else f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
    )
    return written, mobile if i % 2 else f"0086{mobile}"


def load(customers: int) -> dict[str, float]:
    """Fill the database (see the module docstring); returns timings."""
    import datetime as dt
    from decimal import Decimal

    from django.db import connection
    from django.db import transaction as db_transaction

    from tiering_web.accounts.models import Role, User
    from tiering_web.callcentre.services import sync_phone_index
    from tiering_web.customers.models import Customer, Status
    from tiering_web.evaluations.models import Evaluation, TierAssignment
    from tiering_web.policies.services import do_approve_policy_version, do_save_policy_version
    from tiering_web.rulesets.services import (
        do_approve_ruleset_version,
        do_create_ruleset,
        do_review_ruleset_version,
        do_save_ruleset_version,
        do_set_primary,
    )

    timings = {}
    started = time.perf_counter()
    admin = User.objects.create_user("bench-admin", role=Role.ADMINISTRATOR)
    User.objects.create_user("ivr", role=Role.ANALYST)
    # four eyes: the bench's rules and policies are reviewed and approved by two others
    reviewer = User.objects.create_user("bench-reviewer", role=Role.ANALYST)
    approver = User.objects.create_user("bench-approver", role=Role.ADMINISTRATOR)
    ruleset = do_create_ruleset(admin, RULES["name"], "bench")
    version = do_save_ruleset_version(admin, ruleset, RULES, "bench")
    do_review_ruleset_version(reviewer, version, "bench")
    version = do_approve_ruleset_version(
        approver, version, "bench", effective_date=dt.date(2020, 1, 1)
    )
    do_set_primary(admin, ruleset, "bench")
    terms = [{k: Decimal(v) if k == "answer_share" else v for k, v in row.items()} for row in TERMS]
    policies = do_save_policy_version(admin, ruleset, dt.date(2020, 1, 1), terms, "bench")
    do_approve_policy_version(approver, policies, "bench")
    evaluation = Evaluation.objects.create(
        ruleset_version=version, as_of=dt.date(2026, 9, 30), status=Evaluation.Status.PUBLISHED
    )
    step = 5000
    for start in range(0, customers, step):
        rows = []
        for i in range(start, min(start + step, customers)):
            contacts = [{"name": f"联系人{i}", "phone": phone_of(i)[0]}]
            if i % 5 == 0:
                contacts.append({"name": "前台", "phone": f"0755-{8000_0000 + i:08d}"})
            status = Status.BLACKLISTED if i % 100 == 7 else Status.ACTIVE
            rows.append(
                Customer(code=f"K{i:07d}", name=f"客户{i}", contacts=contacts, status=status)
            )
        with db_transaction.atomic():
            made = Customer.objects.bulk_create(rows, batch_size=1000)
            if not made or made[0].pk is None:  # SQLite before RETURNING: read the ids
                codes = [c.code for c in rows]
                made = list(Customer.objects.filter(code__in=codes).order_by("code"))
            TierAssignment.objects.bulk_create(
                [
                    TierAssignment(
                        customer_id=c.pk,
                        ruleset=ruleset,
                        tier="A"
                        if int(c.code[1:]) % 10 == 0
                        else "B"
                        if int(c.code[1:]) % 10 < 4
                        else "C",
                        valid_from=dt.date(2026, 9, 30),
                        evaluation=evaluation,
                    )
                    for c in made
                ],
                batch_size=1000,
            )
    timings["customers_s"] = time.perf_counter() - started
    started = time.perf_counter()
    counts = sync_phone_index()
    timings["phone_index_s"] = time.perf_counter() - started
    timings["phone_numbers"] = counts["added"]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return timings


def prepare(args) -> dict:
    """Migrate, and load unless already loaded with the same shape."""
    ensure_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection

    if args.rebuild and args.database_url.startswith("postgres"):
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    elif args.rebuild:
        path = Path(urlsplit(args.database_url).path)
        connection.close()
        path.unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_priority_setup (key text, value text)")
        cursor.execute("SELECT key, value FROM bench_priority_setup")
        marker = dict(cursor.fetchall())
    wanted = {"customers": str(args.customers), "loader": LOADER_VERSION}
    timings = {}
    if marker != wanted:
        if marker:
            sys.exit("the bench database holds other data: run with --rebuild")
        timings = load(args.customers)
        with connection.cursor() as cursor:
            for key, value in wanted.items():
                cursor.execute("INSERT INTO bench_priority_setup VALUES (%s, %s)", [key, value])
    from tiering_web.accounts.models import ApiToken, User
    from tiering_web.accounts.services import issue_token

    ivr = User.objects.get(username="ivr")
    ApiToken.objects.filter(user=ivr).delete()
    token = issue_token(ivr, ivr, "bench")
    return {"token": token, "timings": timings}


# -------------------------------------------------------------------------------- server


def start_server(args, port: int, log) -> subprocess.Popen:
    """``tiering-web serve`` (gunicorn, as production runs it) on ``port``, without the
    background worker, once it answers ``/healthz``."""
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "TIERING_CONN_MAX_AGE": str(args.conn_max_age),
        "TIERING_LOG_LEVEL": "WARNING",
        "TIERING_LOG_FILE": "",
    }
    env.setdefault("TIERING_VAR_DIR", str(BENCH / ".data" / "var-priority"))
    env.setdefault("TIERING_SECRET_KEY", secrets.token_urlsafe(50))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tiering_web",
            "serve",
            "--no-worker",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            f"127.0.0.1:{port}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


# -------------------------------------------------------------------------------- load


def phones_to_ask(customers: int, n: int, seed: int) -> list[str]:
    """``n`` caller IDs: each a random customer's number (as a switch gives it), one in ten
    nobody's; every request asks a fresh draw, so no answer comes from a warm cache."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        if rng.random() < 0.1:
            out.append(f"1990{rng.randrange(10**7):07d}")  # nobody's
        else:
            out.append(phone_of(rng.randrange(customers))[1])
    return out


def generate(args) -> None:
    """Send ``rate`` requests per second for ``duration`` seconds; print JSON results."""
    phones = phones_to_ask(args.customers, max(1, int(args.rate * args.duration)), args.seed)
    total = int(args.rate * args.duration)
    due_start = time.perf_counter() + 0.2
    counter = iter(range(total))
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    statuses: dict[int, int] = {}
    ended: list[float] = []

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
        headers = {"Authorization": f"Bearer {args.token}", "Connection": "keep-alive"}
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            due = due_start + i / args.rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            url = args.path
            if "priority" in url:
                url += "?phone=" + quote(phones[i % len(phones)])
            try:
                conn.request("GET", url, headers=headers)
                response = conn.getresponse()
                body = response.read()
                done = time.perf_counter()
                if response.status != 200:
                    errors.append(f"{response.status} {body[:100]!r}")
                statuses[response.status] = statuses.get(response.status, 0) + 1
            except (OSError, http.client.HTTPException) as exc:
                done = time.perf_counter()
                errors.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
            latencies.append((done - due) * 1000)
            ended.append(done)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(args.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = max(ended) - due_start if ended else 0.0
    latencies.sort()

    def pct(p):
        return (
            latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] if latencies else None
        )

    print(
        json.dumps(
            {
                "requests": len(latencies),
                "rate": len(latencies) / elapsed if elapsed else 0.0,
                "median": statistics.median(latencies) if latencies else None,
                "p95": pct(95),
                "p99": pct(99),
                "max": latencies[-1] if latencies else None,
                "errors": len(errors),
                "first_errors": errors[:3],
                "statuses": statuses,
                "load_cpu_s": time.process_time(),
            }
        )
    )


# -------------------------------------------------------------------------------- driver


def machine() -> str:
    cores = os.cpu_count()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.processor()
    return f"{model}, {cores} cores, Python {platform.python_version()}"


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by the processes ``pids``."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args) -> int:
    me = [sys.executable, str(Path(__file__).resolve())]
    common = ["--database-url", args.database_url, "--customers", str(args.customers)]
    prepared = subprocess.run(
        [*me, "prepare", *common, *(["--rebuild"] if args.rebuild else [])],
        check=True,
        capture_output=True,
        text=True,
    )
    info = json.loads(prepared.stdout.strip().splitlines()[-1])
    print(f"machine: {machine()}")
    print(f"database: {args.database_url} ({args.customers:,} customers)")
    if info["timings"]:
        t = info["timings"]
        print(
            f"loaded in {t['customers_s']:.1f} s; phone index of {t['phone_numbers']:,} numbers "
            f"built in {t['phone_index_s']:.1f} s"
        )
    port = free_port()
    log = (BENCH / ".data" / "priority-server.log").open("wb")
    server = start_server(args, port, log)
    try:
        import psutil

        workers = [server.pid] + [
            p.pid for p in psutil.Process(server.pid).children(recursive=True)
        ]
        print(
            f"server: tiering-web serve (gunicorn), {args.workers} processes × "
            f"{args.threads} threads, CONN_MAX_AGE="
            f"{args.conn_max_age}; load: {args.rate}/s open loop from {args.connections} "
            f"keep-alive connections, {args.duration} s per endpoint"
        )
        endpoints = [
            ("baseline (/healthz)", "/healthz"),
            ("GET /api/priority", "/api/priority"),
        ]
        if args.only:
            endpoints = [e for e in endpoints if args.only in e[0]]
        results = {}
        failed = False
        for name, path in endpoints:
            for duration in (2, args.duration):  # warm-up, then the measurement
                load_cmd = [
                    *me,
                    "load",
                    *common,
                    "--port",
                    str(port),
                    "--path",
                    path,
                    "--token",
                    info["token"],
                    "--rate",
                    str(args.rate),
                    "--duration",
                    str(duration),
                    "--connections",
                    str(args.connections),
                ]
                before = cpu_seconds(workers)
                out = subprocess.run(load_cmd, check=True, capture_output=True, text=True)
                server_cpu = cpu_seconds(workers) - before
            results[name] = json.loads(out.stdout.strip().splitlines()[-1])
            results[name]["server_cpu_ms"] = 1000 * server_cpu / results[name]["requests"]
            results[name]["load_cpu_ms"] = (
                1000 * results[name]["load_cpu_s"] / results[name]["requests"]
            )
            failed |= results[name]["errors"] > 0
        base = results.get("baseline (/healthz)")
        print()
        print(
            f"{'endpoint':28} {'rate/s':>7} {'median':>8} {'p95':>8} {'p99':>8} {'max':>8} "
            f"{'errors':>7} {'p99/base':>9} {'server CPU':>11} {'load CPU':>9}"
        )
        for name, r in results.items():
            ratio = f"{r['p99'] / base['p99']:.2f}" if base and base["p99"] else "—"
            print(
                f"{name:28} {r['rate']:7.1f} {r['median']:7.2f}ms {r['p95']:7.2f}ms "
                f"{r['p99']:7.2f}ms {r['max']:7.1f}ms {r['errors']:7d} {ratio:>9} "
                f"{r['server_cpu_ms']:8.3f} ms {r['load_cpu_ms']:6.3f} ms"
            )
            if r["errors"]:
                print(f"    first errors: {r['first_errors']}")
        print(
            "(CPU: milliseconds of CPU per request in the server's worker processes and in "
            "the load generator)"
        )
        print(f"load average after the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        lookup = results.get("GET /api/priority")
        if lookup:
            verdict = "met" if lookup["p99"] < TARGET_P99_MS else "NOT met"
            print(f"\ntarget p99 < {TARGET_P99_MS:.0f} ms at {args.rate}/s: {verdict}")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        return 1 if failed else 0
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", nargs="?", default="run", choices=["run", "prepare", "load"])
    ap.add_argument(
        "--database-url", default=os.environ.get("BENCH_PRIORITY_DATABASE", DEFAULT_DATABASE)
    )
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--rebuild", action="store_true", help="load the database again")
    ap.add_argument("--rate", type=float, default=500.0, help="requests per second")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per endpoint")
    ap.add_argument("--connections", type=int, default=16, help="load threads/connections")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn processes")
    ap.add_argument("--threads", type=int, default=4, help="threads per gunicorn process")
    ap.add_argument("--conn-max-age", type=int, default=60)
    ap.add_argument("--only", default=None, help="only the endpoints whose name contains this")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=1)
    # internal
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--path", default="/healthz")
    ap.add_argument("--token", default="")
    args = ap.parse_args(argv)
    if args.command == "prepare":
        print(json.dumps(prepare(args)))
        return 0
    if args.command == "load":
        generate(args)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
