"""``python -m tiering_web send_notifications``: send the due messages of the outbox now.

The background worker sends them as they are queued; run this from cron (e.g. every five
minutes) so that retries whose back-off has passed, and messages whose worker died, go
out even when nothing new is queued::

    */5 * * * *  cd /srv/tiering && .venv/bin/python -m tiering_web send_notifications

``--enqueue`` only asks the worker to do it (one task row) instead of sending here.
"""

from django.core.management.base import BaseCommand

from tiering_web.notifications import sending


class Command(BaseCommand):
    help = "Send the due messages of the notification outbox (run from cron)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="enqueue the sending task for the worker instead of sending here",
        )

    def handle(self, *args, enqueue=False, **options):
        if enqueue:
            from tiering_web.notifications.tasks import send_due_messages

            result = send_due_messages.enqueue()
            self.stdout.write(f"sending enqueued (task {result.id})")
            return
        outcome = sending.send_due()
        self.stdout.write(
            f"claimed {outcome.claimed}: sent {outcome.sent}, failed {outcome.failed} "
            f"(will retry), dead {outcome.dead}, cancelled {outcome.cancelled}, "
            f"left to another worker {outcome.lost}"
        )
