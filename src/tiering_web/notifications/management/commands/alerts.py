"""``python -m tiering_web alerts``: queue the internal alerts of the primary rule set.

Valuable customers at churn risk and customers above the concentration share (as on the
dashboard, from the latest published evaluation), and overdue revisits of top-tier
customers (the account managers' open tasks due before today). Each alert goes once (per
evaluation, per task) to the customer's account manager by e-mail (else the managers)
and to the active alert webhooks. Run it daily from cron.
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tiering_web.notifications.services import queue_alerts


class Command(BaseCommand):
    help = "Queue internal alerts: churn risk, concentration, overdue top-tier revisits."

    def add_arguments(self, parser):
        parser.add_argument("--today", help="YYYY-MM-DD (default: today in TIME_ZONE)")

    def handle(self, *args, today=None, **options):
        try:
            day = dt.date.fromisoformat(today) if today else timezone.localdate()
        except ValueError:
            raise CommandError(f"--today {today!r}: expected YYYY-MM-DD") from None
        outcome = queue_alerts(day)
        self.stdout.write(
            f"{outcome.queued} alert message(s) queued, {outcome.existing} already queued"
        )
        for who, why in outcome.skipped:
            self.stdout.write(f"  skipped {who}: {why}")
