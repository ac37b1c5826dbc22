"""The background worker in tests: every queued task run now, in this process, or a real
worker process (``python -m tiering_web db_worker``) on the test database."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys

from django.core.management import call_command

from .conftest import database_url


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


def start_worker(**env: str) -> subprocess.Popen:
    """A real worker process on the test database (``--batch``: it ends when no task is
    left), with ``env`` added to its environment; its stderr is piped."""
    command = [sys.executable, "-m", "tiering_web", "db_worker", "--batch", "--no-startup-delay"]
    command += ["--interval", "0", "--no-reload", "--verbosity", "0"]
    return subprocess.Popen(
        command,
        env={**os.environ, "DATABASE_URL": database_url(), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_mid_send(started, **env: str) -> int:
    """Start a real worker (``env`` added), wait until a receiver sets ``started`` (a
    :class:`threading.Event`: a send has begun and is held open), kill the worker with
    SIGKILL and return its exit status (``-SIGKILL``)."""
    worker = start_worker(**env)
    try:
        assert started.wait(60), worker.stderr.read().decode() if worker.poll() else "no send"
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(30)
        worker.stderr.close()
    return worker.returncode


def delivered_after_the_lease(message) -> None:
    """Check a message that a killed worker had claimed: it stays claimed (one attempt)
    while the lease holds, the first run after the lease delivers it, and no later run
    sends it again."""
    import datetime as dt

    from django.utils import timezone

    from tiering_web.notifications import sending
    from tiering_web.notifications.models import Message

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.SENDING, 1)
    assert sending.send_due().claimed == 0  # the lease still holds
    outcome = sending.send_due(now=timezone.now() + sending.LEASE + dt.timedelta(seconds=1))
    message.refresh_from_db()
    assert outcome.sent == 1 and message.status == Message.Status.SENT
    assert sending.send_due(now=timezone.now() + dt.timedelta(days=1)).claimed == 0
