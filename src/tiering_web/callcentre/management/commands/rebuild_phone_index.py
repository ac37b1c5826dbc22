"""``python -m tiering_web rebuild_phone_index``: the phone index from every customer's
contacts, in the foreground (after changing contacts other than through the app)."""

from django.core.management.base import BaseCommand

from tiering_web.callcentre.services import sync_phone_index


class Command(BaseCommand):
    help = "Bring the call centre's phone index up to date with the customers' contacts."

    def handle(self, *args, **options):
        counts = sync_phone_index()
        self.stdout.write(
            f"{counts['customers']} customers read, {counts['added']} numbers added, "
            f"{counts['removed']} removed"
        )
