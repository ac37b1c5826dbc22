"""The background worker in tests: every queued task run now, in this process."""

from __future__ import annotations

import io
import signal

from django.core.management import call_command


def run_worker() -> None:
    """Run every queued task, as ``python -m tiering_web db_worker --batch`` does; the
    worker's signal handlers are put back as they were afterwards."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command(
            "db_worker",
            batch=True,
            reload=False,
            startup_delay=False,
            interval=0,
            verbosity=0,
            stdout=io.StringIO(),
        )
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
