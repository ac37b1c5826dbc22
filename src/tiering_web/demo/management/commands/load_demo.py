"""``tiering-web load_demo``: load the demo company into an empty database and print the
staff accounts; with the demo already loaded, print the accounts again."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tiering_web.customers.models import Customer
from tiering_web.demo.services import accounts_file, load_demo, saved_accounts


class Command(BaseCommand):
    help = "Load the demo company (customers, transactions, rule sets, published grades)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--from",
            dest="source",
            type=Path,
            help="a folder written by `tiering demo-data` (else a new demo is generated)",
        )

    def handle(self, *args, customers: int, seed: int, source: Path | None, **options):
        if Customer.objects.exists():
            accounts = saved_accounts()
            if not accounts:
                raise CommandError(
                    "the database already holds customers that are not the demo's: nothing loaded"
                )
            self.stdout.write("The demo company is already loaded.")
        else:
            try:
                accounts = load_demo(customers, seed, progress=self.stdout.write, source=source)
            except FileNotFoundError as e:
                raise CommandError(str(e)) from None
        self.stdout.write("")
        self.stdout.write(f"Demo accounts (also in {accounts_file()}):")
        for a in accounts:
            note = f"  ({a.note})" if a.note else ""
            self.stdout.write(f"  {a.role:<16} {a.username:<10} {a.password}{note}")
