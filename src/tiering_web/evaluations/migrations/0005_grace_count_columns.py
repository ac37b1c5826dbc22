"""The grace count in columns of its own (results and tier assignments), filled from the
results' ``details`` for the rows already there."""

from django.db import migrations, models

_FROM_DETAILS = {
    "postgresql": "CAST(CAST(details ->> 'grace_count' AS numeric) AS integer)",
    "sqlite": "CAST(json_extract(details, '$.grace_count') AS INTEGER)",
}


def fill(apps, schema_editor):
    """Copy each result's ``details["grace_count"]`` into its column, then each open tier
    assignment's from the result that assigned it (the only ones the next evaluation
    reads)."""
    connection = schema_editor.connection
    value = _FROM_DETAILS.get(connection.vendor)
    if value is None:  # another database: the counts start again from 0
        return
    results = apps.get_model("evaluations", "EvaluationResult")._meta.db_table
    assignments = apps.get_model("evaluations", "TierAssignment")._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {results} SET grace_count = {value} WHERE COALESCE({value}, 0) > 0")
        cursor.execute(
            f"""UPDATE {assignments} SET grace_count = COALESCE((
                    SELECT r.grace_count FROM {results} r
                    WHERE r.evaluation_id = {assignments}.evaluation_id
                      AND r.customer_id = {assignments}.customer_id), 0)
                WHERE valid_to IS NULL AND EXISTS (
                    SELECT 1 FROM {results} r
                    WHERE r.evaluation_id = {assignments}.evaluation_id
                      AND r.customer_id = {assignments}.customer_id
                      AND r.grace_count > 0)"""
        )


class Migration(migrations.Migration):
    dependencies = [
        ("evaluations", "0004_fewer_indexes_on_bulk_tables"),
    ]

    operations = [
        migrations.AddField(
            model_name="evaluationresult",
            name="grace_count",
            field=models.PositiveIntegerField(db_default=0, default=0, verbose_name="grace count"),
        ),
        migrations.AddField(
            model_name="tierassignment",
            name="grace_count",
            field=models.PositiveIntegerField(db_default=0, default=0, verbose_name="grace count"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
