"""``tiering-web serve`` as a real process on a loopback port: gunicorn answers (Django's
development server only with ``--dev``), it restarts the background worker when the
worker dies, and leaves no process behind on SIGTERM."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from .conftest import database_url

#: How long each step may take before the test gives up (seconds).
PATIENCE = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(what: str, check, serve: subprocess.Popen, log):
    """``check()``'s first truthy value within PATIENCE seconds, failing with the
    command's output if it never comes or ``serve`` exits."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if value := check():
            return value
        assert serve.poll() is None, f"serve exited: {log.read_text()}"
        time.sleep(0.1)
    pytest.fail(f"no {what} within {PATIENCE} s: {log.read_text()}")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def server_header(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.headers.get("Server", "")


def workers(serve: subprocess.Popen) -> list[psutil.Process]:
    """The running db_worker children of ``serve``."""
    found = []
    for child in psutil.Process(serve.pid).children(recursive=True):
        try:
            if "db_worker" in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_restarts_a_dead_worker_and_stops_everything_on_a_signal(
    django_db_setup, tmp_path, stop
):
    """Given `tiering-web serve` on a free loopback port with its worker, when the worker
    is killed with SIGKILL, then a new worker appears (the restart logged) and the site
    still answers; when serve gets SIGTERM (or SIGINT, as from Ctrl-C), then it exits
    cleanly and neither worker nor any other child of it is left running."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "TIERING_LOG_FILE": str(tmp_path / "tiering.log"),
    }
    with log.open("wb") as out:
        serve = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tiering_web",
                "serve",
                "--workers",
                "2",
                f"127.0.0.1:{port}",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so that a failed test can end the whole group
        )
    try:
        login = f"http://127.0.0.1:{port}/login/"
        wait_for("answer", lambda: answers(login), serve, log)
        health = f"http://127.0.0.1:{port}/healthz"
        assert server_header(health).startswith("gunicorn")
        head = urllib.request.Request(health, method="HEAD")  # as load balancers ask
        with urllib.request.urlopen(head, timeout=5) as response:
            assert response.status == 200
        [first] = wait_for("worker", lambda: workers(serve), serve, log)

        first.send_signal(signal.SIGKILL)
        [second] = wait_for(
            "new worker", lambda: [w for w in workers(serve) if w.pid != first.pid], serve, log
        )
        assert answers(login)
        text = log.read_text()
        assert f"background worker (pid {first.pid}) exited with code -9" in text
        assert f"background worker started (pid {second.pid})" in text
        children = psutil.Process(serve.pid).children(recursive=True)
        assert second in children

        serve.send_signal(stop)
        assert serve.wait(PATIENCE) == 0, log.read_text()
        _, alive = psutil.wait_procs(children, timeout=PATIENCE)
        assert alive == [], log.read_text()
        assert f"background worker (pid {second.pid}) stopped" in log.read_text()
        assert not answers(login)
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()


def test_serve_dev_runs_djangos_development_server(django_db_setup, tmp_path):
    """Given `serve --dev --no-worker`, then Django's development server answers (its
    Server header is WSGIServer's) and SIGTERM stops it cleanly."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "DATABASE_URL": database_url(), "TIERING_LOG_FILE": ""}
    with log.open("wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "-m", "tiering_web", "serve", "--dev", "--no-worker", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        health = f"http://127.0.0.1:{port}/healthz"
        wait_for("answer", lambda: answers(health), serve, log)
        assert server_header(health).startswith("WSGIServer")
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(PATIENCE) == 0, log.read_text()
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
