"""``tiering-web serve``: the web server and the background worker together, what the demo
and a single-machine installation run (a larger deployment runs ``serve --no-worker`` and
``tiering-web db_worker`` as two services).

The web server is gunicorn, a production WSGI server: ``--workers`` processes (default
``TIERING_WEB_WORKERS``, else two per core), each with ``--threads`` threads (default 4;
a thread waits on the database, not on another request), no request timeout of its own
(a synchronous evaluation of a million customers takes a minute), its access log off and
its errors in the app's log. ``--dev`` runs Django's development server instead
(``runserver`` without its reloader). The worker
(``tiering-web db_worker``) is a child process that this command supervises: when it dies
it is started again after a pause that doubles, from 1 to 30 seconds, while it keeps dying
within a minute of starting, each exit and restart logged. SIGTERM or SIGINT (Ctrl-C) stop
the web server (gunicorn finishes the requests in progress) and then the worker (SIGTERM,
which lets it finish its task; SIGKILL after 15 seconds), so no process is left behind;
if the web server stops by itself (a port already taken), the worker is stopped too and
``serve`` exits with the server's status. The worker logs to its own file beside the
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


def default_workers() -> int:
    """``TIERING_WEB_WORKERS``, else two web server processes per core."""
    configured = os.environ.get("TIERING_WEB_WORKERS", "").strip()
    return int(configured) if configured else 2 * (os.cpu_count() or 1)


def gunicorn_command(addrport: str, workers: int, threads: int) -> list[str]:
    """gunicorn serving the app on ``addrport`` (``host:port`` or a port)."""
    bind = addrport if ":" in addrport else f"127.0.0.1:{addrport}"
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "tiering_web.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--timeout",
        "0",  # no request timeout: a synchronous evaluation may take minutes
        "--graceful-timeout",
        str(int(STOP_TIMEOUT)),
        "--error-logfile",
        "-",
        "--log-level",
        "warning",
        "--no-control-socket",
    ]


class Command(BaseCommand):
    help = "Serve the app (default 127.0.0.1:8000) with a background worker beside it."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--no-worker", action="store_true", help="do not start the background worker"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="web server processes (default TIERING_WEB_WORKERS, else 2 per core)",
        )
        parser.add_argument("--threads", type=int, default=4, help="threads per web server process")
        parser.add_argument(
            "--dev",
            action="store_true",
            help="Django's development server instead of gunicorn (one process)",
        )

    def handle(self, *args, addrport: str, no_worker: bool, dev: bool, **options):
        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        supervisor = None
        web = None
        status = 0
        try:
            if not no_worker:
                supervisor = WorkerSupervisor(
                    [sys.executable, "-m", "tiering_web", "db_worker"], worker_env()
                )
                supervisor.start()
            if dev:
                call_command("runserver", addrport, use_reloader=False)
            else:
                workers = options["workers"] or default_workers()
                web = subprocess.Popen(gunicorn_command(addrport, workers, options["threads"]))
                logger.info(
                    "web server (gunicorn, pid %d) on %s: %d processes × %d threads",
                    web.pid,
                    addrport,
                    workers,
                    options["threads"],
                )
                status = web.wait()
                logger.warning("web server (pid %d) exited with code %s", web.pid, status)
        except KeyboardInterrupt:
            pass  # a signal: stop the web server, then the worker
        finally:
            # a second signal must not cut the worker's stopping short (and orphan it)
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            try:
                if web is not None and web.poll() is None:
                    web.terminate()  # gunicorn: finish the requests in progress
                    try:
                        web.wait(timeout=STOP_TIMEOUT + 5)
                    except subprocess.TimeoutExpired:
                        web.kill()
                        web.wait()
                if supervisor is not None:
                    supervisor.stop()
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
        if status:
            raise SystemExit(status)
