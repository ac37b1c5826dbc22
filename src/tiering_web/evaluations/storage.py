"""Evaluation results in and out of the database in whole columns, never row by row.

An evaluation stores one :class:`~.models.EvaluationResult` per customer, a million at
real scale, and publishing turns them into :class:`~.models.TierAssignment` periods.
Going through Python objects (a dict per row, a model instance per row, the ORM's bulk
insert) cost more than the grading itself, so:

- :func:`result_rows` turns the engine's Arrow table into the stored columns in one DuckDB
  query: the own fields (``tier``, ``score``...) with the same values as before (decimals
  at 4 places, empty text for nulls) and ``details``, every other column as one JSON
  object per row, built column-wise: non-finite floats as null, decimals as strings
  (as :class:`~django.core.serializers.json.DjangoJSONEncoder` writes them), dates as ISO
  text, and ``reasons`` with the explanation in Chinese and English;
- :func:`insert_results` writes them with ``COPY`` on PostgreSQL (psycopg's
  ``cursor.copy``) and one prepared ``executemany`` on SQLite, on Django's connection, so
  inside the caller's transaction;
- :func:`publish_tiers`, :func:`withdraw_tiers` and :func:`change_counts` publish (and
  undo a publication) with ``UPDATE``, ``INSERT ... SELECT`` and ``GROUP BY`` in the
  database, writing only the customers whose tier changes.
"""

from __future__ import annotations

import datetime as dt
import io

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.db import connection
from django.utils import timezone

from tiering.reports.labels import lang_key
from tiering_web.evaluations.models import EvaluationResult, TierAssignment

#: Engine output columns stored in their own fields; every other column goes to
#: ``EvaluationResult.details``.
FIELDS = (
    "tier",
    "score",
    "reason",
    "next_tier",
    "gap",
    "gap_unit",
    "flags",
    "previous_tier",
    "change",
)
#: Decimal fields: (precision, scale) of the model's DecimalField.
_DECIMALS = {"score": (12, 4), "gap": (24, 4)}
#: The explanations in each language (``evaluate(languages=...)``): ``details["reasons"]``
#: holds the reasons; the missing phrase is stored in the run's language only, as before.
WORDED = ("reason_zh", "reason_en", "missing_zh", "missing_en")
_CSV_ROWS = 100_000


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _json_value(name: str, dtype: pa.DataType) -> str:
    column = _quoted(name)
    if pa.types.is_floating(dtype):
        return f"CASE WHEN isfinite({column}) THEN {column} END"
    if pa.types.is_decimal(dtype):
        return f"CAST({column} AS VARCHAR)"
    return column


def result_rows(table: pa.Table, lang: str, evaluation_id: int) -> pa.Table:
    """The engine's results (``customer_id`` the customer's primary key as text, plus
    ``reason_zh``/``reason_en``) as the columns of ``evaluations_evaluationresult``, in
    customer order (written so, the indexes keyed by customer and the foreign-key checks
    walk their pages in order; pages sort the results themselves)."""
    names = set(table.column_names)
    fields = []
    for name in FIELDS:
        if name in _DECIMALS:
            digits, places = _DECIMALS[name]
            value = "NULL"
            if name in names:
                value = _json_value(name, table.schema.field(name).type)
                value = name if value.startswith("CAST") else value  # a decimal already
            value = f"CAST({value} AS DECIMAL({digits}, {places}))"
        elif name == "tier":
            value = "CAST(tier AS VARCHAR)"
        else:
            value = f"COALESCE(CAST({name} AS VARCHAR), '')" if name in names else "''"
        fields.append(f"{value} AS {name}")
    details = [
        f"{_quoted(name)} := {_json_value(name, table.schema.field(name).type)}"
        for name in table.column_names
        if name not in FIELDS and name not in WORDED and name != "customer_id"
    ]
    # also in details (where exports and pages read it), and in a column of its own for
    # publishing to copy into the tier assignments
    grace = "COALESCE(CAST(grace_count AS INTEGER), 0)" if "grace_count" in names else "0"
    fields.append(f"{grace} AS grace_count")
    first = lang_key(lang)
    languages = (first, "en" if first == "zh" else "zh")
    reasons = ", ".join(
        f"{key} := {f'reason_{key}' if f'reason_{key}' in names else 'CAST(NULL AS VARCHAR)'}"
        for key in languages
    )
    details.append(f"reasons := struct_pack({reasons})")
    query = f"""
        SELECT CAST({int(evaluation_id)} AS BIGINT) AS evaluation_id,
               CAST(customer_id AS BIGINT) AS customer_id,
               {", ".join(fields)},
               CAST(to_json(struct_pack({", ".join(details)})) AS VARCHAR) AS details
        FROM results
        ORDER BY 2"""
    con = duckdb.connect()
    try:
        con.register("results", table)
        return con.sql(query).to_arrow_table()
    finally:
        con.close()


def tier_counts(rows: pa.Table) -> dict[str, int]:
    """How many results per tier (in order of first appearance)."""
    counts = pc.value_counts(rows["tier"])
    return {v["values"].as_py(): v["counts"].as_py() for v in counts}


def insert_results(rows: pa.Table) -> None:
    """Insert :func:`result_rows` into ``evaluations_evaluationresult`` on Django's own
    connection (so in the caller's transaction): ``COPY`` on PostgreSQL, one prepared
    ``executemany`` on SQLite."""
    table = EvaluationResult._meta.db_table
    columns = ", ".join(_quoted(c) for c in rows.column_names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            copy_sql = f"COPY {_quoted(table)} ({columns}) FROM STDIN (FORMAT csv)"
            options = pacsv.WriteOptions(include_header=False)
            with cursor.cursor.copy(copy_sql) as copy:
                for start in range(0, rows.num_rows, _CSV_ROWS):
                    buffer = io.BytesIO()
                    pacsv.write_csv(rows.slice(start, _CSV_ROWS), buffer, options)
                    copy.write(buffer.getvalue())
            return
        marks = ", ".join("%s" for _ in rows.column_names)
        statement = f"INSERT INTO {_quoted(table)} ({columns}) VALUES ({marks})"
        for batch in rows.to_batches(max_chunksize=_CSV_ROWS):
            values = [column.to_pylist() for column in batch.columns]
            cursor.executemany(statement, list(zip(*values, strict=True)))


def publish_tiers(evaluation) -> dict[str, int]:
    """Make ``evaluation``'s results the open tiers of its rule set, in the database, as
    periods (a tier assignment lasts as long as the tier):

    - close, as of the evaluation's date and marked ``closed_by`` it, every open assignment
      whose customer the evaluation puts in another tier or does not grade;
    - carry the grace count over to the open assignments that stay (an ``UPDATE`` only
      where it changed; without a grace period in the rules, only where it is not 0);
    - open an assignment for every result without one (tier changed, or a new customer),
      in customer order: the indexes keyed by customer and the foreign-key checks then
      walk their pages in order instead of at random (half the time at a million rows).

    Where most customers keep their tier (the usual quarter), a publication writes only
    the few that move, not a million closed and a million opened rows. Returns the counts:
    ``closed``, ``opened``, ``kept`` (open assignments left open) and ``grace`` (of them,
    how many had their grace count changed)."""
    assignments = _quoted(TierAssignment._meta.db_table)
    results = _quoted(EvaluationResult._meta.db_table)
    ruleset, as_of, pk = evaluation.ruleset.pk, evaluation.as_of, evaluation.pk
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {assignments} SET valid_to = %s, closed_by_id = %s
                WHERE ruleset_id = %s AND valid_to IS NULL
                  AND NOT EXISTS (
                      SELECT 1 FROM {results} r
                      WHERE r.evaluation_id = %s AND r.customer_id = {assignments}.customer_id
                        AND r.tier = {assignments}.tier)""",
            [as_of, pk, ruleset, pk],
        )
        closed = cursor.rowcount
        grace = _carry_grace(cursor, evaluation)
        cursor.execute(
            f"""INSERT INTO {assignments}
                    (customer_id, ruleset_id, tier, valid_from, valid_to, evaluation_id,
                     grace_count)
                SELECT r.customer_id, %s, r.tier, %s, NULL, r.evaluation_id, r.grace_count
                FROM {results} r
                WHERE r.evaluation_id = %s
                  AND NOT EXISTS (
                      SELECT 1 FROM {assignments} a
                      WHERE a.ruleset_id = %s AND a.valid_to IS NULL
                        AND a.customer_id = r.customer_id)
                ORDER BY r.customer_id""",
            [ruleset, as_of, pk, ruleset],
        )
        opened = cursor.rowcount
        cursor.execute(
            f"SELECT COUNT(*) FROM {assignments} WHERE ruleset_id = %s AND valid_to IS NULL",
            [ruleset],
        )
        kept = cursor.fetchone()[0] - opened
    counts = {"closed": closed, "opened": opened, "kept": kept, "grace": grace}
    # a customer deactivated after the evaluation ran keeps no tier
    if ended := end_tiers_of_deactivated(ruleset):
        counts["deactivated"] = ended
    return counts


def _carry_grace(cursor, evaluation, ruleset: int | None = None) -> int:
    """Give the open assignments of ``ruleset`` (the evaluation's own by default) the
    grace counts of ``evaluation``'s results, only where they differ; returns how many.
    Without a grace period in its rules every result's count is 0: then only the open
    assignments whose count is not 0 are reset, without a join to a million results."""
    assignments = _quoted(TierAssignment._meta.db_table)
    ruleset = evaluation.ruleset.pk if ruleset is None else ruleset
    if evaluation.ruleset_version.rules().downgrade.grace:
        results = _quoted(EvaluationResult._meta.db_table)
        cursor.execute(
            f"""UPDATE {assignments} SET grace_count = r.grace_count
                FROM {results} r
                WHERE r.evaluation_id = %s AND r.customer_id = {assignments}.customer_id
                  AND {assignments}.ruleset_id = %s AND {assignments}.valid_to IS NULL
                  AND {assignments}.grace_count <> r.grace_count""",
            [evaluation.pk, ruleset],
        )
    else:
        cursor.execute(
            f"""UPDATE {assignments} SET grace_count = 0
                WHERE ruleset_id = %s AND valid_to IS NULL AND grace_count <> 0""",
            [ruleset],
        )
    return cursor.rowcount


def withdraw_tiers(evaluation, previous) -> dict[str, int]:
    """Undo :func:`publish_tiers` of ``evaluation`` (the latest publication of its rule
    set): delete the assignments it opened, reopen those it closed and give the ones it
    kept the grace counts of ``previous`` (the publication before it, or None). Returns
    ``deleted``, ``reopened`` and ``grace`` counts.

    Assignments closed before ``closed_by`` was recorded (2026-12) are recognised by
    their end date: open on the evaluation's date, closed on it, by no other publication
    and not by a deactivation. A reopened tier of a customer deactivated since ends again
    (:func:`end_tiers_of_deactivated`): reactivating the customer brings it back."""
    assignments = _quoted(TierAssignment._meta.db_table)
    ruleset, pk = evaluation.ruleset.pk, evaluation.pk
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {assignments} WHERE ruleset_id = %s AND evaluation_id = %s",
            [ruleset, pk],
        )
        deleted = cursor.rowcount
        cursor.execute(
            f"""UPDATE {assignments} SET valid_to = NULL, closed_by_id = NULL
                WHERE ruleset_id = %s
                  AND (closed_by_id = %s
                       OR (closed_by_id IS NULL AND NOT ended_by_deactivation
                           AND valid_to = %s AND valid_from < %s))""",
            [ruleset, pk, evaluation.as_of, evaluation.as_of],
        )
        reopened = cursor.rowcount
        grace = _carry_grace(cursor, previous, ruleset) if previous is not None else 0
    counts = {"deleted": deleted, "reopened": reopened, "grace": grace}
    if ended := end_tiers_of_deactivated(ruleset):
        counts["deactivated"] = ended
    return counts


def _end(assignments: list[TierAssignment], day_of) -> int:
    """Close ``assignments`` as ended by a deactivation, each on ``day_of(assignment)``
    (never before it began: a publication may be dated ahead of today)."""
    for a in assignments:
        a.valid_to = max(a.valid_from, day_of(a))
        a.closed_by = None
        a.ended_by_deactivation = True
    TierAssignment.objects.bulk_update(
        assignments, ["valid_to", "closed_by", "ended_by_deactivation"], batch_size=1000
    )
    return len(assignments)


def end_tiers(customer, on: dt.date) -> int:
    """End ``customer``'s open tiers (one per rule set) on ``on``, marked
    ``ended_by_deactivation``; returns how many."""
    open_ = list(TierAssignment.objects.filter(customer=customer, valid_to__isnull=True))
    return _end(open_, lambda a: on)


def end_tiers_of_deactivated(ruleset: int) -> int:
    """End the open tiers of ``ruleset`` held by deactivated customers, each on the day
    its customer was deactivated: a publication of results computed before the
    deactivation, or a withdrawal reopening an earlier tier, gives none back. Reads the
    few deactivated customers only (a partial index), not the million others."""
    open_ = list(
        TierAssignment.objects.filter(
            ruleset_id=ruleset, valid_to__isnull=True, customer__deactivated_at__isnull=False
        ).select_related("customer")
    )
    return _end(open_, lambda a: timezone.localdate(a.customer.deactivated_at))


def restore_tiers(customer, on: dt.date) -> int:
    """Give a reactivated ``customer`` back, from ``on``, the tier of each rule set that
    its deactivation ended: a new period with the same tier, evaluation and grace count
    (withdrawing that evaluation removes it like the period it copies). A rule set whose
    latest assignment of the customer was not ended by a deactivation gives nothing.
    Returns how many."""
    latest: dict[int, TierAssignment] = {}
    for a in TierAssignment.objects.filter(customer=customer).order_by("valid_from", "id"):
        latest[a.ruleset_id] = a
    restored = [
        TierAssignment(
            customer=customer,
            ruleset_id=a.ruleset_id,
            tier=a.tier,
            valid_from=max(on, a.valid_from),
            evaluation_id=a.evaluation_id,
            grace_count=a.grace_count,
        )
        for a in latest.values()
        if a.valid_to is not None and a.ended_by_deactivation
    ]
    TierAssignment.objects.bulk_create(restored)
    return len(restored)


def change_counts(evaluation) -> dict[str, int]:
    """How many of ``evaluation``'s results went up, down, stayed... (``new`` when the
    result has no change: the customer had no previous tier)."""
    results = _quoted(EvaluationResult._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT COALESCE(NULLIF(change, ''), 'new') AS kind, COUNT(*)
                FROM {results} WHERE evaluation_id = %s
                GROUP BY kind ORDER BY MIN(id)""",
            [evaluation.pk],
        )
        return dict(cursor.fetchall())
