"""``tiering-web serve``: the web server and the background worker together, for a demo
or a single-machine installation (a production deployment runs a WSGI server and
``tiering-web db_worker`` as two services instead)."""

import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the app (default 127.0.0.1:8000) with a background worker beside it."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--no-worker", action="store_true", help="do not start the background worker"
        )

    def handle(self, *args, addrport: str, no_worker: bool, **options):
        worker = None
        if not no_worker:
            worker = subprocess.Popen([sys.executable, "-m", "tiering_web", "db_worker"])
            self.stdout.write(f"background worker started (pid {worker.pid})")
        try:
            call_command("runserver", addrport, use_reloader=False)
        finally:
            if worker is not None:
                worker.terminate()
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
