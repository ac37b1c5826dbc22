"""A reference names at most one transaction (and one payment) of its customer.

Entries stored before with a reference another entry of the same customer already has (the
API's upsert failed on them, the import updated only the oldest) keep their data: the oldest
keeps the reference, each later one gets ``<reference> (duplicate #<id>)``, so that they
stay findable and can be corrected."""

from django.db import migrations, models
from django.db.models import Count


def _mark_duplicates(apps, schema_editor):
    for name in ("Transaction", "Payment"):
        model = apps.get_model("customers", name)
        repeated = (
            model.objects.exclude(reference="")
            .values("customer_id", "reference")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
        for group in repeated.iterator():
            entries = model.objects.filter(
                customer_id=group["customer_id"], reference=group["reference"]
            ).order_by("id")
            for entry in list(entries)[1:]:
                suffix = f" (duplicate #{entry.pk})"
                entry.reference = entry.reference[: 100 - len(suffix)] + suffix
                entry.save(update_fields=["reference"])


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_two_character_search"),
    ]

    operations = [
        migrations.RunPython(_mark_duplicates, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("reference", ""), _negated=True),
                fields=("customer", "reference"),
                name="payment_one_per_reference",
            ),
        ),
        migrations.AddConstraint(
            model_name="transaction",
            constraint=models.UniqueConstraint(
                condition=models.Q(("reference", ""), _negated=True),
                fields=("customer", "reference"),
                name="transaction_one_per_reference",
            ),
        ),
    ]
