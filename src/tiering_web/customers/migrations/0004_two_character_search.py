"""Two more indexes the customer list needs at a million customers (``bench/web.py``).

- ``(industry, status, id)``: filters combining industry and status (often with a tier)
  read the matching ids from the index alone.
- On PostgreSQL, a GIN index over the two-character pieces of ``UPPER(name)``: trigram
  indexes cannot answer a search of two characters, and Chinese company names are
  searched by two-character words (华泰, 机械, 科技). ``tiering_bigrams(text)`` returns the
  distinct two-character substrings of a text; the search asks for names whose pieces
  contain the query (``@>``, answered by the index), then checks ``LIKE`` as before. Plain
  SQL, PostgreSQL only (SQLite has no such index and needs none at its sizes).
"""

from django.db import migrations, models

BIGRAMS_FUNCTION = """
CREATE OR REPLACE FUNCTION tiering_bigrams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(value, i, 2)), '{}')
    FROM generate_series(1, length(value) - 1) AS i
$$
"""


def create_bigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(BIGRAMS_FUNCTION)
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS customer_name_bigram_idx ON customers_customer"
        " USING gin (tiering_bigrams(UPPER(name::text)))"
    )


def drop_bigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS customer_name_bigram_idx")
    schema_editor.execute("DROP FUNCTION IF EXISTS tiering_bigrams(text)")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_owner_id_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["industry", "status", "id"], name="customer_ind_status_idx"),
        ),
        migrations.RunPython(create_bigram_index, drop_bigram_index),
    ]
