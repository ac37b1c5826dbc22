"""Reading customers and transactions from CSV, Parquet and Excel files, and checking them.

Files are read into an in-process DuckDB database (through Ibis) and converted once into
two tables with known types:

- customers: ``customer_id`` (text) plus every other column as the file has it;
- transactions: ``customer_id`` (text), ``date`` (date), ``amount`` and ``cost``
  (``DECIMAL(18, 2)``; cost is 0 where the file has none).

CSV files may be UTF-8, UTF-8 with a BOM or GBK/GB18030 (detected). Excel files are read
by :func:`tiering.excel.read_excel`: the first sheet, or ``file.xlsx#Sheet``. Headers are
matched to ours by the rule file's ``columns:`` mapping, then by common Chinese headers
(客户编号, 日期, 金额, 成本...). Dates may be written 2026-06-30, 2026/6/30, 20260630 or
2026年6月30日; amounts may carry thousands separators and ¥/元.

An optional payments (回款) file is read the same way: ``customer_id``, ``date``,
``amount`` (``DECIMAL(18, 2)``; negative for a refund), with 回款日期/回款金额 recognised.

Every problem is reported as an :class:`~tiering.exceptions.InputError` naming the file
and, per bad row, the row number as a spreadsheet shows it (header = row 1), the column
and the value. Nothing is half-loaded: the tables exist only once both files are valid.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import ibis

from tiering.excel import read_excel
from tiering.exceptions import InputError, RowIssue, TieringError
from tiering.periods import DATE_FORMATS

if TYPE_CHECKING:
    import pyarrow as pa

#: Headers recognised without a mapping when our own name is absent (first match wins).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "客户编号",
        "客户ID",
        "客户id",
        "客户编码",
        "客户代码",
        "客户号",
        "customer id",
        "customer_code",
        "customer",
        "客户",
    ),
    "date": ("日期", "交易日期", "订单日期", "下单日期", "单据日期", "业务日期", "order_date"),
    "amount": ("金额", "交易金额", "订单金额", "销售金额", "销售额", "价税合计", "含税金额"),
    "cost": ("成本", "成本金额", "销售成本"),
}
#: The headers recognised in a payments (回款) file: its own words first, then the usual.
PAYMENT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": SYNONYMS["customer_id"],
    "date": ("回款日期", "收款日期", "到账日期", "付款日期", *SYNONYMS["date"], "payment_date"),
    "amount": ("回款金额", "收款金额", "到账金额", "付款金额", "金额", "payment", "payment_amount"),
}

MONEY = "DECIMAL(18, 2)"
_SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
}


@dataclass
class Inputs:
    """Validated inputs on one Ibis backend."""

    con: ibis.BaseBackend
    customers: ibis.Table
    transactions: ibis.Table
    customers_file: str = "<customers>"
    transactions_file: str = "<transactions>"
    transactions_id_column: str = "customer_id"
    payments: ibis.Table | None = None
    payments_file: str = "<payments>"
    payments_id_column: str = "customer_id"
    #: Cell checks left to the caller (``read_inputs(defer_checks=True)``), or None.
    transaction_checks: CellChecks | None = None
    payment_checks: CellChecks | None = None

    def unknown_customers_error(self, ids: list[str]) -> InputError:
        """The error naming the transaction rows whose customer ids are unknown."""
        return unknown_customers_error(
            self.con, self.transactions_file, ids, self.transactions_id_column
        )

    def unknown_payers_error(self, ids: list[str]) -> InputError:
        """The error naming the payment rows whose customer ids are unknown."""
        return unknown_customers_error(
            self.con, self.payments_file, ids, self.payments_id_column, "tiering_payments"
        )


#: How much memory the embedded DuckDB may hold before it spills to disk, unless
#: ``TIERING_MEMORY_LIMIT`` says otherwise (e.g. ``4GB``). DuckDB's own default, 80% of the
#: machine, lets a million customers take over 2 GB where 1.5 GB costs no time (measured by
#: bench/evaluate.py); more data than fits spills to a private temporary folder.
MEMORY_LIMIT = "1.5GB"


def connect() -> ibis.BaseBackend:
    """A fresh in-memory DuckDB backend (the embedded default): without DuckDB's own
    progress bar (the command line draws its own; a library must not print), its memory
    bounded by :data:`MEMORY_LIMIT` and what does not fit spilled to a temporary folder of
    its own (removed with the connection), not to ``./.tmp`` where the user happens to be."""
    con = ibis.duckdb.connect()
    db = con.con
    db.execute("SET enable_progress_bar = false")
    limit = os.environ.get("TIERING_MEMORY_LIMIT") or MEMORY_LIMIT
    try:
        db.execute(f"SET memory_limit = {_lit(limit)}")
    except duckdb.Error:
        db.close()
        raise TieringError(
            f"TIERING_MEMORY_LIMIT={limit!r} is not an amount of memory: write e.g. 4GB",
            f"TIERING_MEMORY_LIMIT={limit!r} 不是内存大小：应写如 4GB",
        ) from None
    spill = tempfile.mkdtemp(prefix="tiering-duckdb-")
    db.execute(f"SET temp_directory = {_lit(spill)}")
    weakref.finalize(con, shutil.rmtree, spill, True)
    return con


def _issue(row, column, value, en, zh) -> RowIssue:
    return RowIssue(row, column, None if value is None else str(value), en, zh)


def _file_error(file: str, en: str, zh: str) -> InputError:
    return InputError(file, [_issue(None, None, None, en, zh)])


def quote_ident(name: str) -> str:
    """A DuckDB identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --------------------------------------------------------------------------- raw sources


class Source:
    """One input file opened in DuckDB: its columns, and a way to find rows by number."""

    path: Path
    sheet: str | None
    kind: str  # "csv", "parquet", "excel", or "rows" (already read)
    materialize: str  # "VIEW" or "TABLE"
    view: str
    types: dict[str, str]  # column -> DuckDB type
    row_column: str  # SQL for the file's row number
    id_column: str  # the customer id's header, once a ledger is loaded (_finish_ledger)
    _tmp: str | None  # a UTF-8 copy of the file, removed by close()
    _rowexpr: str | None
    _rowsql: str

    def __init__(
        self, con: ibis.BaseBackend, spec: str | Path, label: str, rows: pa.Table | None = None
    ):
        self.con = con
        self.db = con.con
        self.spec = str(spec)
        self.label = label
        if rows is not None:  # already read (all text, with _row): see read_rows
            self.path, self.sheet, self._tmp = Path(self.spec), None, None
            self.kind, self.materialize, self.view = "rows", "TABLE", "src_" + label
            self._register_rows(rows)
            self._describe()
            return
        path_text, _, sheet = (
            self.spec.partition("#")
            if self.spec.lower().split("#")[0].endswith((".xlsx", ".xlsm"))
            else (self.spec, "", "")
        )
        self.path = Path(path_text)
        self.sheet = sheet or None
        self._tmp = None
        if not self.path.exists():
            raise _file_error(self.spec, "file not found", "找不到文件")
        if self.path.is_dir():
            raise _file_error(self.spec, "is a folder, not a file", "是文件夹而不是文件")
        kind = _SUFFIXES.get(self.path.suffix.lower())
        # converted text files are stored once; Parquet stays a view (typed, fast to rescan)
        self.materialize = "VIEW" if kind == "parquet" else "TABLE"
        if self.path.suffix.lower() == ".xls":
            raise _file_error(
                self.spec,
                "old .xls workbooks are not supported: save it as .xlsx",
                "不支持旧版 .xls 工作簿：请另存为 .xlsx",
            )
        if kind is None:
            raise _file_error(
                self.spec,
                "unknown file type: use .csv, .parquet or .xlsx",
                "无法识别的文件类型：请使用 .csv、.parquet 或 .xlsx",
            )
        self.kind = kind
        self.view = "src_" + label
        try:
            getattr(self, "_open_" + self.kind)()
        except InputError:
            raise
        except Exception as e:  # duckdb/pyarrow errors about the file's content
            raise _file_error(
                self.spec, f"cannot be read: {_first_line(e)}", f"无法读取：{_first_line(e)}"
            ) from None
        self._describe()

    def _describe(self) -> None:
        rows = _sql(self.db, f"DESCRIBE {self.view}")
        self.types = {r[0]: r[1] for r in rows if r[0] not in ("_row", "file_row_number")}

    # openers
    def _open_csv(self) -> None:
        path = self.path
        encoding = _detect_encoding(path)
        if encoding not in ("utf-8", "utf-8-sig"):
            fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="tiering-")
            with os.fdopen(fd, "wb") as out, open(path, "rb") as raw:
                reader = codecs.getreader(encoding)(raw, "strict")
                try:
                    for chunk in iter(lambda: reader.read(1 << 20), ""):
                        out.write(chunk.encode("utf-8"))
                except UnicodeDecodeError as e:
                    os.unlink(tmp)
                    raise _file_error(
                        self.spec,
                        f"not valid {encoding} text: {e.reason}",
                        f"不是有效的 {encoding} 文本：{e.reason}",
                    ) from None
            self._tmp = tmp
            path = Path(tmp)
        self._rowexpr = "row_number() OVER () + 1"
        self.row_column = self._rowexpr
        _sql(
            self.db,
            f"CREATE OR REPLACE TEMP VIEW {self.view} AS SELECT * FROM read_csv({_lit(str(path))}, "
            "header = true, all_varchar = true)",
        )

    def _open_parquet(self) -> None:
        _sql(
            self.db,
            f"CREATE OR REPLACE TEMP VIEW {self.view} AS SELECT * FROM read_parquet("
            f"{_lit(str(self.path))}, file_row_number = true)",
        )
        self._rowexpr = None
        self._rowsql = (
            f"SELECT * EXCLUDE (file_row_number), file_row_number + 2 AS _row FROM {self.view}"
        )
        self.row_column = "file_row_number + 2"

    def _open_excel(self) -> None:
        self._register_rows(read_excel(self.path, self.sheet, self.spec))

    def _register_rows(self, table: pa.Table) -> None:
        self.db.register(self.view + "_arrow", table)
        _sql(self.db, f"CREATE OR REPLACE TEMP VIEW {self.view} AS SELECT * FROM {self.view}_arrow")
        self._rowexpr = None
        self._rowsql = f"SELECT * FROM {self.view}_arrow"
        self.row_column = "_row"

    def with_rows(self) -> str:
        """A SQL query of the file with a ``_row`` column (spreadsheet row numbers)."""
        if getattr(self, "_rowexpr", None):
            return f"SELECT *, {self._rowexpr} AS _row FROM {self.view}"
        return self._rowsql

    def close(self) -> None:
        if self._tmp:
            os.unlink(self._tmp)
            self._tmp = None

    # header mapping
    def resolve(
        self, ours: str, mapping: dict[str, str], synonyms: dict[str, tuple[str, ...]] = SYNONYMS
    ) -> str | None:
        """The file's header for our column ``ours``, or None."""
        theirs = mapping.get(ours)
        if theirs and theirs in self.types:
            return theirs
        if ours in self.types:
            return ours
        lowered = {c.lower(): c for c in self.types}
        for candidate in synonyms.get(ours, ()):
            if candidate in self.types:
                return candidate
            if candidate.lower() in lowered:
                return lowered[candidate.lower()]
        return None

    def require(
        self, ours: str, mapping: dict[str, str], synonyms: dict[str, tuple[str, ...]] = SYNONYMS
    ) -> str:
        found = self.resolve(ours, mapping, synonyms)
        if found is None:
            wanted = mapping.get(ours, ours)
            have = ", ".join(self.types)
            raise InputError(
                self.spec,
                [
                    RowIssue(
                        None,
                        wanted,
                        None,
                        f"missing column {wanted!r} (for {ours}); the file has: {have}. "
                        f"Map it in the rule file, e.g. columns: {{{ours}: <your header>}}",
                        f"缺少列 {wanted!r}（对应 {ours}）；文件中的列：{have}。"
                        f"可在规则文件中映射，如 columns: {{{ours}: 你的列名}}",
                    )
                ],
            )
        return found

    # bad rows
    def bad_rows(self, condition: str, column: str, en: str, zh: str, limit: int = 10, total=None):
        """Issues for the first rows where ``condition`` (SQL over the raw file) holds, and
        how many rows it holds for (counted here unless the caller's checks counted it)."""
        if total is None:
            total = _sql(self.db, f"SELECT count(*) FROM {self.view} WHERE {condition}")[0][0]
        rows = _sql(
            self.db,
            f"SELECT _row, CAST({quote_ident(column)} AS VARCHAR) FROM ({self.with_rows()}) "
            f"WHERE {condition} ORDER BY _row LIMIT {limit}",
        )
        return [_issue(r, column, v, en, zh) for r, v in rows], total


@contextlib.contextmanager
def reading(src: Source):
    """Report the reader's own errors (a malformed CSV line, a damaged Parquet page...) met
    while ``src`` is read as errors of the file."""
    try:
        yield
    except duckdb.Error as e:
        raise _file_error(
            src.spec, f"cannot be read: {_first_line(e)}", f"无法读取：{_first_line(e)}"
        ) from None


@contextlib.contextmanager
def _unreadable(src: Source):
    """As :func:`reading`, and remove any temporary copy of the file."""
    try:
        with reading(src):
            yield
    finally:
        src.close()


def _sql(db, query: str) -> list[tuple]:
    """Run one statement on the raw DuckDB connection and fetch its whole result (DuckDB 2
    refuses further work while a result is unfinished)."""
    return db.execute(query).fetchall()


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _detect_encoding(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(4 << 20)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    return "utf-8"  # let the reader report the bad bytes


# --------------------------------------------------------------------------- conversions


def _text(col: str) -> str:
    return f"NULLIF(trim(CAST({quote_ident(col)} AS VARCHAR)), '')"


def _id_sql(src: Source, col: str) -> str:
    """A customer id as text: trimmed when it comes from a text file (CSV, Excel exports
    carry stray spaces), kept as stored in Parquet (trimming ten million ids costs more
    than the rest of reading them; a stray space then shows in the unknown-id error)."""
    if src.kind == "parquet":
        return f"NULLIF(CAST({quote_ident(col)} AS VARCHAR), '')"
    return _text(col)


def date_sql(col: str, duck_type: str) -> str:
    """DuckDB SQL reading column ``col`` (of ``duck_type``) as a date, NULL when it is not
    one of the formats people write (:data:`tiering.periods.DATE_FORMATS`)."""
    t = duck_type.upper()
    if t == "DATE":
        return quote_ident(col)
    if t.startswith("TIMESTAMP"):
        return f"CAST({quote_ident(col)} AS DATE)"
    formats = "[" + ", ".join(_lit(f) for f in DATE_FORMATS) + "]"
    return f"CAST(try_strptime({_text(col)}, {formats}) AS DATE)"


def _is_number(duck_type: str) -> bool:
    return duck_type.upper().startswith(
        (
            "DECIMAL",
            "DOUBLE",
            "FLOAT",
            "REAL",
            "INT",
            "BIGINT",
            "SMALLINT",
            "TINYINT",
            "HUGEINT",
            "UBIGINT",
            "UINTEGER",
            "USMALLINT",
            "UTINYINT",
        )
    )


def money_sql(col: str, duck_type: str) -> str:
    """DuckDB SQL reading column ``col`` as DECIMAL(18, 2), NULL when it is not an amount
    as people write it (thousands separators and ¥/元 only where they belong)."""
    if _is_number(duck_type):
        return f"TRY_CAST({quote_ident(col)} AS {MONEY})"
    # an amount as people write it: -1,234.50 / ¥1,234.5 / 1234元; separators only where
    # they belong (12元5 or 1.234,50 are errors, never silently 125 or 1.23)
    text = _text(col)
    raw = f"regexp_replace({text}, '\\s', '', 'g')"
    shape = "^[-+]?[¥￥]?[-+]?([0-9]+|[0-9]{1,3}(,[0-9]{3})+)(\\.[0-9]+)?元?$"
    cleaned = f"regexp_replace({raw}, '[,¥￥元]', '', 'g')"
    # most amounts are plain numbers (1234.50): one cheap match and a cast; such a text has
    # no space, separator or sign of money, so the full rule below would give the same
    plain = f"regexp_full_match({text}, '[-+]?[0-9]+(\\.[0-9]+)?')"
    return (
        f"CASE WHEN {plain} THEN TRY_CAST({text} AS {MONEY}) "
        f"WHEN regexp_full_match({raw}, '{shape}') THEN TRY_CAST({cleaned} AS {MONEY}) END"
    )


# --------------------------------------------------------------------------- loading


def read_inputs(
    customers: str | Path,
    transactions: str | Path,
    payments: str | Path | None = None,
    *,
    columns: Iterable[tuple[str, str]] = (),
    con: ibis.BaseBackend | None = None,
    progress: Callable[[str], None] | None = None,
    date_columns: Iterable[str] = (),
    check_unknown: bool = True,
    defer_checks: bool = False,
) -> Inputs:
    """Read, map and check the customers and transactions files.

    Parameters
    ----------
    customers, transactions
        Paths to CSV, Parquet or Excel files (``book.xlsx#Sheet`` picks a sheet).
    payments
        Optionally, a payments (回款) file: ``customer_id``, ``date``, ``amount`` (headers
        such as 客户编号, 回款日期, 回款金额 are recognised), checked like the transactions.
    columns
        The rule file's ``columns:`` mapping as ``(our_name, file_header)`` pairs.
    con
        A DuckDB Ibis backend to load into; a new in-memory one by default.
    progress
        Called with a short label as each stage starts.
    date_columns
        Customer columns to read as dates (e.g. an expected close date), checked like the
        transactions' dates.
    check_unknown
        Check that every transaction's (and payment's) customer is in the customers file.
        :func:`evaluate` passes False and makes the same check on the ids it groups anyway.
    defer_checks
        With ``check_unknown=False``: leave the cell checks of a transactions or payments
        file that DuckDB reads in place (Parquet, not copied) to the caller, in
        ``Inputs.transaction_checks`` / ``Inputs.payment_checks`` (:class:`CellChecks`),
        so that the file is scanned once: :func:`evaluate` counts the empty cells while
        grouping. Text files (CSV, Excel) are converted into a table and always checked
        here.

    Returns
    -------
    Inputs
        The tables, converted and checked.

    Raises
    ------
    InputError
        Naming the file and the bad rows: a missing column, an unparseable date or
        amount, an empty or duplicate customer id, or transactions of unknown customers.
    """
    con = con or connect()
    mapping = dict(columns)
    step = progress or (lambda label: None)

    step("customers")
    src_c = Source(con, customers, "customers")
    with _unreadable(src_c):
        cust_table = _load_customers(src_c, mapping, list(date_columns))
    step("transactions")
    src_t = Source(con, transactions, "transactions")
    with _unreadable(src_t):
        tx_checks = _load_transactions(src_t, mapping, cust_table, check_unknown, defer_checks)
    # the loaded table keeps each row's number (_row) for error messages; callers get the
    # four columns
    transactions_table = con.table("tiering_transactions").drop("_row")
    inputs = Inputs(
        con, con.table(cust_table), transactions_table, src_c.spec, src_t.spec, src_t.id_column
    )
    inputs.transaction_checks = tx_checks
    if payments is not None:
        step("payments")
        src_p = Source(con, payments, "payments")
        with _unreadable(src_p):
            inputs.payment_checks = _load_payments(
                src_p, mapping, cust_table, check_unknown, defer_checks
            )
        inputs.payments = con.table("tiering_payments").drop("_row")
        inputs.payments_file, inputs.payments_id_column = src_p.spec, src_p.id_column
    return inputs


def _load_customers(src: Source, mapping: dict[str, str], date_columns: list[str]) -> str:
    id_col = src.require("customer_id", mapping)
    renames = {theirs: ours for ours, theirs in mapping.items() if theirs in src.types}
    renames[id_col] = "customer_id"
    others = []
    dates = {}
    for col in src.types:
        if col == id_col:
            continue
        new = renames.get(col, col)
        if new == "customer_id":
            continue
        if new in date_columns:
            dates[new] = col
            others.append(f"{date_sql(col, src.types[col])} AS {quote_ident(new)}")
        else:
            others.append(f"{quote_ident(col)} AS {quote_ident(new)}")
    db = src.db
    _sql(
        db,
        f"CREATE OR REPLACE TEMP {src.materialize} tiering_customers AS SELECT "
        + ", ".join([f"{_id_sql(src, id_col)} AS customer_id", *others])
        + f" FROM {src.view}",
    )
    # one pass over the loaded ids for both checks; the file is read again only to name the
    # rows of an error
    rows, with_id, distinct = _sql(
        db,
        "SELECT count(*), count(customer_id), count(DISTINCT customer_id) FROM tiering_customers",
    )[0]
    if rows > with_id:
        issues, total = src.bad_rows(
            f"{_id_sql(src, id_col)} IS NULL",
            id_col,
            "empty customer id",
            "客户编号为空",
            total=rows - with_id,
        )
        raise InputError(src.spec, issues, total)
    if distinct < with_id:
        dups = _sql(
            db, "SELECT customer_id FROM tiering_customers GROUP BY 1 HAVING count(*) > 1 LIMIT 10"
        )
        ids = ", ".join(_lit(d[0]) for d in dups)
        issues, total = src.bad_rows(
            f"{_id_sql(src, id_col)} IN ({ids})", id_col, "duplicate customer id", "客户编号重复"
        )
        raise InputError(src.spec, issues, total)
    for col in dates.values():
        parsed = date_sql(col, src.types[col])
        issues, total = src.bad_rows(
            f"{_text(col)} IS NOT NULL AND ({parsed}) IS NULL",
            col,
            "not a date (write e.g. 2026-06-30)",
            "不是日期（应写如 2026-06-30）",
        )
        if total:
            raise InputError(src.spec, issues, total)
    if rows == 0:
        raise _file_error(src.spec, "has no customers", "没有客户记录")
    return "tiering_customers"


@dataclass
class CellChecks:
    """The cell checks of one loaded file: for each loaded column (``customer_id``,
    ``date``, ``amount``, ``cost``), the condition on the file's own rows that makes it
    empty, the file's header and the message. :func:`read_inputs` runs them at once, or,
    with ``defer_checks``, leaves them to a caller that counts the empty cells in a pass it
    makes anyway (:func:`tiering.evaluate` counts them while grouping the transactions)."""

    src: Source
    checks: list[tuple[str, str, str, str, str]]

    @property
    def columns(self) -> list[str]:
        """The loaded columns whose empty cells are errors."""
        return [c[0] for c in self.checks]

    def error(self, counts: dict[str, int]) -> InputError | None:
        """The error naming the bad rows, given how many cells of each column are empty;
        None when there are none."""
        issues: list[RowIssue] = []
        total = 0
        for column, condition, header, en, zh in self.checks:
            if counts.get(column):
                found, n = self.src.bad_rows(condition, header, en, zh, total=counts[column])
                issues += found
                total += n
        if not total:
            return None
        issues.sort(key=lambda i: i.row or 0)
        return InputError(self.src.spec, issues, total)

    def run(self, table: str) -> None:
        """Count the empty cells of the loaded ``table`` in one pass and raise the error."""
        counts = ", ".join(f"count(*) FILTER ({quote_ident(c)} IS NULL)" for c in self.columns)
        found = _sql(self.src.db, f"SELECT {counts} FROM {table}")[0]
        error = self.error(dict(zip(self.columns, found, strict=True)))
        if error is not None:
            raise error


_NOT_A_DATE = ("not a date (write e.g. 2026-06-30)", "不是日期（应写如 2026-06-30）")
_NOT_AN_AMOUNT = ("not an amount (write e.g. 1234.50)", "不是金额（应写如 1234.50）")


def _ledger_checks(src: Source, cols: dict[str, str], exprs: dict[str, str]) -> CellChecks:
    """The checks of a transactions or payments file: ``cols`` maps our columns to the
    file's headers, ``exprs`` to the SQL that converts them."""
    messages = {
        "customer_id": ("empty customer id", "客户编号为空"),
        "date": _NOT_A_DATE,
        "amount": _NOT_AN_AMOUNT,
        "cost": _NOT_AN_AMOUNT,
    }
    return CellChecks(
        src,
        [(ours, f"({exprs[ours]}) IS NULL", cols[ours], *messages[ours]) for ours in cols],
    )


def _finish_ledger(
    src: Source, table: str, checks: CellChecks, customers: str, check_unknown: bool, defer: bool
) -> CellChecks | None:
    """Run (or hand back, when deferred and the table is a view over the file) a loaded
    ledger's cell checks, then the check of unknown customers."""
    deferred = defer and src.materialize == "VIEW" and not check_unknown
    if not deferred:
        # a loaded copy (CSV, Excel) is counted at once: one pass over memory
        checks.run(table)
    if check_unknown:
        unknown = _sql(
            src.db,
            f"SELECT DISTINCT customer_id FROM {table} "
            f"ANTI JOIN {customers} USING (customer_id) LIMIT {InputError.MAX_SHOWN}",
        )
        if unknown:
            raise unknown_customers_error(
                src.con, src.spec, [u[0] for u in unknown], checks.checks[0][2], table
            )
    src.id_column = checks.checks[0][2]
    return checks if deferred else None


def _load_transactions(
    src: Source,
    mapping: dict[str, str],
    customers: str,
    check_unknown: bool = True,
    defer: bool = False,
) -> CellChecks | None:
    cols = {ours: src.require(ours, mapping) for ours in ("customer_id", "date", "amount")}
    cost_col = src.resolve("cost", mapping)
    exprs = {
        "customer_id": _id_sql(src, cols["customer_id"]),
        "date": date_sql(cols["date"], src.types[cols["date"]]),
        "amount": money_sql(cols["amount"], src.types[cols["amount"]]),
    }
    cost_expr = f"CAST(0 AS {MONEY})"
    if cost_col:
        # an empty cost is 0; numbers are never formatted as text just to test for empty
        numeric = _is_number(src.types[cost_col])
        cost_raw = f"{quote_ident(cost_col)}" if numeric else _text(cost_col)
        cost_expr = (
            f"CASE WHEN {cost_raw} IS NULL THEN CAST(0 AS {MONEY}) "
            f"ELSE {money_sql(cost_col, src.types[cost_col])} END"
        )
        cols["cost"], exprs["cost"] = cost_col, cost_expr
    _sql(
        src.db,
        f"CREATE OR REPLACE TEMP {src.materialize} tiering_transactions AS SELECT "
        f"{exprs['customer_id']} AS customer_id, {exprs['date']} AS date, "
        f"{exprs['amount']} AS amount, {cost_expr} AS cost, {src.row_column} AS _row "
        f"FROM {src.view}",
    )
    checks = _ledger_checks(src, cols, exprs)
    return _finish_ledger(src, "tiering_transactions", checks, customers, check_unknown, defer)


@dataclass
class PaymentsInput:
    """A payments file read alone (when the other inputs are tables), checked."""

    con: ibis.BaseBackend
    table: ibis.Table
    file: str
    id_column: str

    def unknown_customers_error(self, ids: list[str]) -> InputError:
        """The error naming the payment rows whose customer ids are unknown."""
        return unknown_customers_error(self.con, self.file, ids, self.id_column, "tiering_payments")


def read_payments(
    payments: str | Path, *, columns: Iterable[tuple[str, str]] = (), con=None
) -> PaymentsInput:
    """Read, map and check a payments file on its own (its customer ids are checked by
    the caller, e.g. :func:`tiering.evaluate`, against customers it holds as tables)."""
    con = con or connect()
    src = Source(con, payments, "payments")
    with _unreadable(src):
        _load_payments(src, dict(columns), "", check_unknown=False)
    return PaymentsInput(con, con.table("tiering_payments").drop("_row"), src.spec, src.id_column)


def _load_payments(
    src: Source,
    mapping: dict[str, str],
    customers: str,
    check_unknown: bool = True,
    defer: bool = False,
) -> CellChecks | None:
    """The payments file as ``tiering_payments`` (customer_id, date, amount, _row), every
    bad cell reported with its row; a negative amount is a refund."""
    cols = {
        ours: src.require(ours, mapping, PAYMENT_SYNONYMS)
        for ours in ("customer_id", "date", "amount")
    }
    exprs = {
        "customer_id": _id_sql(src, cols["customer_id"]),
        "date": date_sql(cols["date"], src.types[cols["date"]]),
        "amount": money_sql(cols["amount"], src.types[cols["amount"]]),
    }
    _sql(
        src.db,
        f"CREATE OR REPLACE TEMP {src.materialize} tiering_payments AS SELECT "
        f"{exprs['customer_id']} AS customer_id, {exprs['date']} AS date, "
        f"{exprs['amount']} AS amount, {src.row_column} AS _row FROM {src.view}",
    )
    checks = _ledger_checks(src, cols, exprs)
    return _finish_ledger(src, "tiering_payments", checks, customers, check_unknown, defer)


def unknown_customers_error(
    con: ibis.BaseBackend,
    file: str,
    ids: list[str],
    column: str = "customer_id",
    table: str = "tiering_transactions",
) -> InputError:
    """The error for transactions whose customer ids are not in the customers file, naming
    the rows of the first ``ids`` found (from the ``_row`` kept in the loaded table)."""
    listed = ", ".join(_lit(i) for i in ids)
    total, rows = (
        _sql(con.con, f"SELECT count(*) FROM {table} WHERE customer_id IN ({listed})")[0][0],
        _sql(
            con.con,
            f"SELECT _row, customer_id FROM {table} WHERE customer_id IN ({listed}) "
            f"ORDER BY _row LIMIT {InputError.MAX_SHOWN}",
        ),
    )
    issues = [
        _issue(r, column, v, "customer id not in the customers file", "客户文件中没有该客户编号")
        for r, v in rows
    ]
    return InputError(file, issues, total)


def read_table(spec: str | Path, label: str = "table", con: ibis.BaseBackend | None = None):
    """Any supported file as ``(Source, ibis.Table)`` of its raw columns (for small side files
    such as a previous output or overrides)."""
    con = con or connect()
    src = Source(con, spec, label)
    return src, con.table(src.view)


def read_rows(rows: pa.Table, spec: str, label: str = "table", con: ibis.BaseBackend | None = None):
    """Rows already read from a file, as :func:`read_table` gives that file: ``rows`` are
    its columns as text and ``_row`` (the file's row numbers, as :func:`read_excel` gives
    them), ``spec`` names the file in errors. E.g. the first rows of an upload, kept so
    that previewing it does not read the whole file again."""
    con = con or connect()
    src = Source(con, spec, label, rows=rows)
    return src, con.table(src.view)
