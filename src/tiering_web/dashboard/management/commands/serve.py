"""``tiering-web serve``: the web server and the background worker together, for a demo
or a single-machine installation (a production deployment runs a WSGI server and
``tiering-web db_worker`` as two services instead).

The web server is Django's own (``runserver`` without its reloader); the worker
(``tiering-web db_worker``) is a child process that this command supervises: when it dies
it is started again after a pause that doubles, from 1 to 30 seconds, while it keeps dying
within a minute of starting, each exit and restart logged. SIGTERM or SIGINT (Ctrl-C) stop
the web server and then the worker (SIGTERM, which lets it finish its task; SIGKILL after
15 seconds), so no worker is left behind. The worker logs to its own file beside the
server's (``tiering-worker.log`` next to ``TIERING_LOG_FILE``), so that two processes
never rotate one file.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

logger = logging.getLogger(__name__)

#: The pauses before restarting a worker that died, and how long it must have run for
#: its death to count as a new failure rather than one more of a crash loop (seconds).
FIRST_PAUSE, LONGEST_PAUSE, HEALTHY_AFTER = 1.0, 30.0, 60.0
#: How long a stopping worker may take to finish its task before it is killed (seconds).
STOP_TIMEOUT = 15.0


class WorkerSupervisor:
    """Keeps one ``db_worker`` process running from :meth:`start` until :meth:`stop`."""

    def __init__(self, command: list[str], env: dict[str, str]):
        self.command, self.env = command, env
        self.process: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def start(self) -> None:
        with self._lock:
            self.process = self._spawn()
        self._thread.start()

    def _spawn(self) -> subprocess.Popen:
        process = subprocess.Popen(self.command, env=self.env)
        logger.info("background worker started (pid %d)", process.pid)
        return process

    def _watch(self) -> None:
        pause = None
        while True:
            process, started = self.process, time.monotonic()
            code = process.wait()
            if self._stopping.is_set():
                return
            lived = time.monotonic() - started
            if pause is None or lived >= HEALTHY_AFTER:
                pause = FIRST_PAUSE
            else:
                pause = min(pause * 2, LONGEST_PAUSE)
            logger.warning(
                "background worker (pid %d) exited with code %s after %.0f s; "
                "restarting it in %.0f s",
                process.pid,
                code,
                lived,
                pause,
            )
            if self._stopping.wait(pause):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self.process = self._spawn()

    def stop(self) -> None:
        """Stop supervising, then the worker: SIGTERM, and SIGKILL if it is not gone in
        ``STOP_TIMEOUT`` seconds."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            logger.warning("background worker (pid %d) did not stop; killing it", process.pid)
            process.kill()
            process.wait()
        logger.info("background worker (pid %d) stopped", process.pid)


def _stop(signum, frame):
    """SIGTERM and SIGINT end the server as Ctrl-C does (runserver turns that into a clean
    exit), also where SIGINT was ignored when the command started (a background job)."""
    raise KeyboardInterrupt


def worker_env() -> dict[str, str]:
    """The worker's environment: this one, with a log file of its own."""
    env = dict(os.environ)
    if settings.LOG_FILE:
        log_file = Path(settings.LOG_FILE)
        env["TIERING_LOG_FILE"] = str(log_file.with_name(f"{log_file.stem}-worker.log"))
    return env


class Command(BaseCommand):
    help = "Serve the app (default 127.0.0.1:8000) with a background worker beside it."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--no-worker", action="store_true", help="do not start the background worker"
        )

    def handle(self, *args, addrport: str, no_worker: bool, **options):
        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        supervisor = None
        try:
            if not no_worker:
                supervisor = WorkerSupervisor(
                    [sys.executable, "-m", "tiering_web", "db_worker"], worker_env()
                )
                supervisor.start()
            call_command("runserver", addrport, use_reloader=False)
        except KeyboardInterrupt:
            pass  # a signal before runserver was up
        finally:
            # a second signal must not cut the worker's stopping short (and orphan it)
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            try:
                if supervisor is not None:
                    supervisor.stop()
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
