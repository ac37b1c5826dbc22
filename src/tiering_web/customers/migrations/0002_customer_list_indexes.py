"""Indexes the customer list needs at a million customers (measured with ``bench/web.py``).

- ``(name, code)``, ``(industry, code)``, ``(status, code)``: a sort by name, industry or
  status (ties by code), and a filter by industry or status shown in code order, walk an
  index and stop after the page instead of sorting every matching customer.
  ``(-industry, code)`` and ``(-status, code)`` do the same for the descending sorts (ties
  still by ascending code), which a backward scan of the first ones cannot: each industry
  or status holds a large share of all customers.
- On PostgreSQL, trigram indexes (``pg_trgm``) on ``UPPER(code)`` and ``UPPER(name)``: the
  search is ``icontains``, which Django writes as ``UPPER(col) LIKE UPPER('%q%')``; a
  trigram index answers it for searches of three characters or more instead of reading
  every customer. They exist on PostgreSQL only (SQLite has no such index), so they are
  plain SQL and not part of the model state.
"""

from django.db import migrations, models

TRIGRAM_INDEXES = {
    "customer_code_trgm_idx": "code",
    "customer_name_trgm_idx": "name",
}


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for index, column in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index} ON customers_customer"
            f" USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index}")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["name", "code"], name="customer_name_code_idx"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["industry", "code"], name="customer_industry_code_idx"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["status", "code"], name="customer_status_code_idx"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["-industry", "code"], name="customer_industry_desc_idx"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["-status", "code"], name="customer_status_desc_idx"),
        ),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
