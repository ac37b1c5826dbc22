"""``python -m tiering_web warn_before_evaluation --days 14``: warn the customers who would
drop a tier at the scheduled evaluations of the primary rule set due within the next
``--days`` days, with what they still need to keep it.

Run it daily from cron; each customer is warned once per schedule and period however
often it runs. It computes the coming evaluation on the current data (the engine, as the
scheduled run will), so it takes as long as an evaluation.
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tiering_web.notifications.services import queue_warnings


class Command(BaseCommand):
    help = "Warn customers about to drop a tier before a scheduled evaluation."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=14, help="look ahead (default: 14)")
        parser.add_argument("--today", help="YYYY-MM-DD (default: today in TIME_ZONE)")

    def handle(self, *args, days=14, today=None, **options):
        if days < 0:
            raise CommandError("--days must be 0 or more")
        try:
            day = dt.date.fromisoformat(today) if today else timezone.localdate()
        except ValueError:
            raise CommandError(f"--today {today!r}: expected YYYY-MM-DD") from None
        runs = queue_warnings(day, days)
        for schedule, outcome in runs:
            self.stdout.write(
                f"schedule #{schedule.pk} ({schedule.ruleset.name}, {schedule.next_run}): "
                f"{outcome.queued} warning(s) queued, {outcome.existing} already queued, "
                f"{len(outcome.skipped)} skipped"
            )
            for who, why in outcome.skipped:
                self.stdout.write(f"  skipped {who}: {why}")
        if not runs:
            self.stdout.write(f"no scheduled evaluation of the primary rule set within {days} days")
