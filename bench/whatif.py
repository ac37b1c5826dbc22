"""The rule-set what-if in the background at a million customers: its total time, and the
latency of the pages a manager keeps using while it runs.

Usage::

    python bench/whatif.py                      # 1,000,000 customers on bench/web.py's database
    python bench/whatif.py --customers 20000    # a quick run (its own database)

The database is bench/web.py's (loaded by its loader on the first run, reused while its
marker table says it holds the same data): the demo company's customers and transactions
and a primary scorecard rule set with an approved version. Then, in this process with
Django's test ``Client`` logged in as the bench manager:

1. the login page (no query) as the baseline, and the rule-set editor page, while nothing
   else runs;
2. the editor's what-if form posted as the browser posts it (htmx), with tier A's bound
   lowered by five points: the request only queues the run;
3. the worker (``python -m tiering_web db_worker --batch`` through ``bench/_measure.py``,
   so its wall time and peak RSS are its own) started in a separate process, and while it
   computes, the editor page and the status poll requested in turn every ``--interval``
   seconds, each timed, the poll's stage noted;
4. the result read back through the poll (``--requests`` times) once the run is done.

It prints the what-if's total time (request to result seen by the client), the worker's
time and when each stage was first seen, and the median and 95th percentile of each page
beside the login page. There are no timed assertions; the exit status is 1 only when the
what-if does not end ``done`` or a page does not answer 200.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import web  # noqa: E402  (bench/web.py: its database, loader and settings)
from evaluate import machine_info  # noqa: E402

HTMX = {"HTTP_HX_REQUEST": "true"}
#: How much tier A's bound is lowered by in the what-if (score points).
LOWER_BY = 5


@dataclass
class Timings:
    name: str
    times_ms: list[float] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)

    def add(self, started: float, status: int) -> None:
        self.times_ms.append((time.perf_counter() - started) * 1000)
        self.statuses.add(status)

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms) if self.times_ms else float("nan")

    @property
    def p95(self) -> float:
        if len(self.times_ms) < 2:
            return self.median
        return statistics.quantiles(self.times_ms, n=20, method="inclusive")[18]


def editor_post(ruleset) -> dict[str, str]:
    """What the editor's form posts for the rule set's latest version, untouched (as a
    browser sends the page it was given: every field, checkboxes only when ticked)."""
    from django import forms

    from tiering_web.rulesets.forms import RuleEditor
    from tiering_web.rulesets.views import _base_initial

    editor = RuleEditor(initial=_base_initial(ruleset, None))
    data: dict[str, str] = {}
    parts = [editor.common, editor.method_form, editor.tiers.management_form, *editor.tiers]
    if editor.method == "scorecard":
        parts += [editor.factors.management_form, *editor.factors]
    for form in parts:
        for name, form_field in form.fields.items():
            bound = form[name]
            value = bound.value()
            if isinstance(form_field, forms.BooleanField):
                if value:
                    data[bound.html_name] = "on"
                continue
            data[bound.html_name] = "" if value is None else str(value)
    return data


def timed_get(client, url: str, timings: Timings, **extra):
    started = time.perf_counter()
    response = client.get(url, **extra)
    timings.add(started, response.status_code)
    return response


def idle(client, url: str, name: str, n: int, **extra) -> Timings:
    timings = Timings(name)
    for _ in range(2):
        client.get(url, **extra)
    for _ in range(n):
        timed_get(client, url, timings, **extra)
    return timings


def worker_command(result: Path) -> list[str]:
    return [
        sys.executable,
        str(BENCH / "_measure.py"),
        str(result),
        sys.executable,
        "-m",
        "tiering_web",
        "db_worker",
        "--batch",
        "--no-startup-delay",
        "--interval",
        "0",
        "--verbosity",
        "0",
    ]


def run(args: argparse.Namespace) -> int:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from rich.console import Console
    from rich.table import Table

    from tiering_web.accounts.models import User
    from tiering_web.customers.models import Customer
    from tiering_web.rulesets.models import RuleSet, WhatIfRun

    manager = User.objects.get(username="bench_manager")
    ruleset = RuleSet.objects.get(is_primary=True)
    customers = Customer.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE relname = 'customers_transaction'"
        )
        transactions = cursor.fetchone()[0]
    client = Client()
    client.force_login(manager)
    edit_url = reverse("ruleset_edit", args=[ruleset.pk])
    whatif_url = reverse("ruleset_whatif", args=[ruleset.pk])

    # what the page posts: the latest version with tier A's bound lowered
    data = editor_post(ruleset)
    data["tiers-0-bound"] = str(float(data["tiers-0-bound"]) - LOWER_BY).removesuffix(".0")
    data["whatif_as_of"] = web.AS_OF.isoformat()

    login = idle(Client(), reverse("login"), "login page (no query), idle", args.requests)
    editor_idle = idle(client, edit_url, "rule-set editor, idle", args.requests)

    # queue the what-if through the page, as the browser does
    queue = Timings("what-if request (queues it)")
    # a fresh run each time: a finished one is never reused, a pending one would be
    WhatIfRun.objects.filter(ruleset=ruleset, status__in=["queued", "running"]).update(
        status="failed", error_en="abandoned by bench/whatif.py"
    )
    t_asked = time.perf_counter()
    response = client.post(whatif_url, data, **HTMX)
    queue.add(t_asked, response.status_code)
    # (the page's context is not captured outside tests: read the run from the database)
    run_obj = WhatIfRun.objects.filter(ruleset=ruleset, requested_by=manager).first()
    if response.status_code != 200 or run_obj is None or not run_obj.is_pending:
        print(f"the what-if was not queued (status {response.status_code})", file=sys.stderr)
        print(response.content.decode()[:2000], file=sys.stderr)
        return 1
    poll_url = reverse("ruleset_whatif_run", args=[ruleset.pk, run_obj.pk])
    print(
        f"what-if #{run_obj.pk} queued in {queue.times_ms[0]:.0f} ms; starting the worker",
        flush=True,
    )

    measured = Path(tempfile.mktemp(prefix="whatif-worker-", suffix=".json"))
    worker = subprocess.Popen(worker_command(measured), env=os.environ.copy())
    editor_during = Timings("rule-set editor, while the what-if runs")
    poll_during = Timings("status poll, while the what-if runs")
    seen: dict[str, float] = {}
    done_at = None
    while True:
        timed_get(client, edit_url, editor_during)
        time.sleep(args.interval / 2)
        timed_get(client, poll_url, poll_during, **HTMX)
        status, stage = WhatIfRun.objects.filter(pk=run_obj.pk).values_list("status", "stage")[0]
        key = status if status in ("queued", "done", "failed") else stage
        seen.setdefault(key, time.perf_counter() - t_asked)
        if status in ("done", "failed"):
            done_at = time.perf_counter()
            break
        if worker.poll() is not None and worker.returncode != 0:
            break
        time.sleep(args.interval / 2)
    worker.wait()
    after = idle(client, poll_url, "status poll of this what-if, done", args.requests, **HTMX)

    run_obj.refresh_from_db()
    worker_stats = json.loads(measured.read_text()) if measured.exists() else {}
    total = (done_at - t_asked) if done_at else float("nan")
    compute = (
        (run_obj.finished_at - run_obj.started_at).total_seconds()
        if run_obj.finished_at and run_obj.started_at
        else float("nan")
    )

    info = machine_info()
    console = Console(width=140)
    console.print(
        f"{customers:,} customers, ~{transactions:,} transactions; {info['cores']} cores;"
        f" what-if #{run_obj.pk}: {run_obj.status}"
        + (f" ({run_obj.error_en})" if run_obj.error_en else "")
    )
    process_s = worker_stats.get("seconds", float("nan"))
    rss_mib = worker_stats.get("maxrss_kib", 0) / 1024
    console.print(
        f"total (request → result seen by the page): {total:.1f} s; in the worker (started →"
        f" finished): {compute:.1f} s; worker process {process_s:.1f} s, peak RSS {rss_mib:.0f} MiB"
    )
    console.print(
        "stages first seen by the poll (s after the request): "
        + ", ".join(f"{stage} {at:.1f}" for stage, at in seen.items())
    )
    if run_obj.status == "done":
        c = (run_obj.result or {}).get("comparison") or {}
        console.print(
            f"result: {c.get('changed', 0):,} of {c.get('customers', 0):,} customers would change"
            f" tier (up {c.get('up', 0):,}, down {c.get('down', 0):,});"
            f" stored result {len(json.dumps(run_obj.result)):,} bytes"
        )
    table = Table(title="page latency from the client (Django test Client, in process)")
    for column in ("page", "n", "median ms", "p95 ms", "p95 / login median"):
        table.add_column(column, justify="left" if column == "page" else "right")
    unit = login.median
    pages = [login, editor_idle, queue, editor_during, poll_during, after]
    failed = run_obj.status != "done"
    for timings in pages:
        ok = timings.statuses == {200}
        failed |= not ok
        table.add_row(
            timings.name + ("" if ok else f" (status {sorted(timings.statuses)})"),
            str(len(timings.times_ms)),
            f"{timings.median:.1f}",
            f"{timings.p95:.1f}",
            f"{timings.p95 / unit:.0f}x",
        )
    console.print(table)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "customers": customers,
                    "transactions": transactions,
                    "status": run_obj.status,
                    "total_s": total,
                    "worker_compute_s": compute,
                    "worker": worker_stats,
                    "stages_seen_s": seen,
                    "pages": [
                        {
                            "name": t.name,
                            "times_ms": t.times_ms,
                            "median_ms": t.median,
                            "p95_ms": t.p95,
                        }
                        for t in pages
                    ],
                },
                indent=2,
            ),
            encoding="utf-8",
        )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--database-url", default=os.environ.get("BENCH_WEB_DATABASE", web.DEFAULT_DATABASE)
    )
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=BENCH / ".data")
    ap.add_argument("--rebuild", action="store_true", help="load the database again")
    ap.add_argument("--requests", type=int, default=30, help="requests per idle page")
    ap.add_argument(
        "--interval", type=float, default=0.5, help="seconds between the client's requests"
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the timings here")
    args = ap.parse_args(argv)
    if args.customers != 1_000_000 and "--database-url" not in " ".join(argv or sys.argv):
        args.database_url = web.database_url(
            args.database_url, f"{web.database_name(args.database_url)}_c{args.customers}"
        )
    t0 = time.perf_counter()
    web.prepare(args)
    print(f"setup: {time.perf_counter() - t0:.0f}s in all", flush=True)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
