"""``python -m tiering_web run_schedules``: queue the evaluations of the due schedules.

Run it once a day, e.g. from cron::

    15 2 * * *  cd /srv/tiering && .venv/bin/python -m tiering_web run_schedules

or from a systemd timer (``OnCalendar=*-*-* 02:15``). It only queues: the background
worker, ``python -m tiering_web db_worker`` (a long-running service), computes each
evaluation, and publishes it at once when the schedule says so. Running it twice the same
day queues nothing new.
"""

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tiering_web.evaluations.schedules import run_due_schedules


class Command(BaseCommand):
    help = "Queue an evaluation for every schedule that is due (run daily from cron)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--today",
            help="the date to run for (YYYY-MM-DD; default: today in TIME_ZONE)",
        )
        parser.add_argument(
            "--lang",
            default=settings.LANGUAGE_CODE,
            help="language of the reasons in the results (default: %(default)s)",
        )

    def handle(self, *args, today=None, lang=None, **options):
        if today:
            try:
                day = dt.date.fromisoformat(today)
            except ValueError:
                raise CommandError(f"--today {today!r}: expected YYYY-MM-DD") from None
        else:
            day = timezone.localdate()
        runs = run_due_schedules(day, lang or settings.LANGUAGE_CODE)
        for run in runs:
            name = f"schedule #{run.schedule.pk} ({run.schedule.ruleset.name})"
            if run.evaluation is None:
                self.stderr.write(
                    f"{name}: not run: {run.problem}; it stays due (as of {run.as_of})"
                )
                continue
            skipped = (
                f", {run.skipped_periods} missed period(s) skipped" if run.skipped_periods else ""
            )
            self.stdout.write(
                f"{name}: evaluation #{run.evaluation.pk} as of {run.as_of} "
                f"({run.evaluation.status}){skipped}; next run {run.schedule.next_run}"
            )
        if not runs and options["verbosity"] > 1:
            self.stdout.write(f"no schedule due on {day}")
