"""``python -m tiering_web generate_tasks``: make the revisit tasks that fall due.

Run it once a day, e.g. from cron::

    30 2 * * *  cd /srv/tiering && .venv/bin/python -m tiering_web generate_tasks

Each active revisit plan gives every customer of its tier a task on the plan's cadence
(see :func:`tiering_web.accountwork.services.generate_tasks`). Running it twice the same
day makes nothing new.
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tiering_web.accountwork.services import generate_tasks


class Command(BaseCommand):
    help = "Make the revisit tasks due on each plan's cadence (run daily from cron)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--today", help="the date to run for (YYYY-MM-DD; default: today in TIME_ZONE)"
        )

    def handle(self, *args, today=None, **options):
        if today:
            try:
                day = dt.date.fromisoformat(today)
            except ValueError:
                raise CommandError(f"--today {today!r}: expected YYYY-MM-DD") from None
        else:
            day = timezone.localdate()
        result = generate_tasks(day)
        self.stdout.write(
            f"{day}: {result.created} task(s) created, {result.reopened} reopened, "
            f"{result.cancelled} cancelled"
        )
