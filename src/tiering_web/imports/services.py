"""Importing customers, transactions and payments received from CSV/Excel files, and
exporting customers.

The flow: :func:`store_upload` (the file read once, its first rows kept) → on the mapping
page :func:`job_columns` → :func:`suggest_mapping` (our field → the file's header) →
:func:`preview_job` and :func:`mapping_issues` → :func:`queue_import` → in the worker
:func:`run_job`: :func:`import_customers`, :func:`import_transactions` or
:func:`import_payments` (checks the whole file, then writes it all or nothing).

This module is the imports app's public face: it re-exports the names the views, the
tasks, other apps and the tests use from the modules that hold them:

* :mod:`~tiering_web.imports.fields`: our fields per kind of file, their headers and values;
* :mod:`~tiering_web.imports.issues`: the issues of a file, :class:`ImportRejected`;
* :mod:`~tiering_web.imports.uploads`: storing an upload (or refusing it), its first rows;
* :mod:`~tiering_web.imports.mapping`: suggesting a mapping, reading the mapped file;
* :mod:`~tiering_web.imports.checks`: checking every row before anything is written;
* :mod:`~tiering_web.imports.importing`: the all-or-nothing imports;
* :mod:`~tiering_web.imports.jobs`: who may import, queueing and running an import job;
* :mod:`~tiering_web.imports.exports`: exporting customers.

Tuning knobs (``STEP``, ``BATCH``) are not re-exported: set them where they are read.
"""

from tiering_web.imports.checks import CHECKING, WRITING, Progress, validate
from tiering_web.imports.exports import (
    CONTACTS_HEADER,
    TIER_HEADER,
    TIER_HEADER_EN,
    csv_chunks,
    export_customers,
    export_table,
    xlsx_file,
)
from tiering_web.imports.fields import (
    CUSTOMERS,
    DATE_FIELDS,
    FIELDS,
    MONEY_FIELDS,
    PAYMENTS,
    REQUIRED,
    TRANSACTIONS,
)
from tiering_web.imports.importing import (
    IMPORTERS,
    import_customers,
    import_payments,
    import_transactions,
)
from tiering_web.imports.issues import ImportRejected, issue_text, issues_as_json
from tiering_web.imports.jobs import can_import, can_see_job, check_import, queue_import, run_job
from tiering_web.imports.mapping import (
    job_columns,
    mapping_issues,
    preview,
    preview_job,
    suggest_mapping,
)
from tiering_web.imports.uploads import (
    MAX_COLUMNS,
    MAX_HEADER_CHARS,
    MAX_UPLOAD_BYTES,
    SAMPLE_ROWS,
    UPLOAD_SUFFIXES,
    UploadRefused,
    display_name,
    store_upload,
    upload_folder,
    upload_path,
)

__all__ = [
    "CHECKING",
    "CONTACTS_HEADER",
    "CUSTOMERS",
    "DATE_FIELDS",
    "FIELDS",
    "IMPORTERS",
    "MAX_COLUMNS",
    "MAX_HEADER_CHARS",
    "MAX_UPLOAD_BYTES",
    "MONEY_FIELDS",
    "PAYMENTS",
    "REQUIRED",
    "SAMPLE_ROWS",
    "TIER_HEADER",
    "TIER_HEADER_EN",
    "TRANSACTIONS",
    "UPLOAD_SUFFIXES",
    "WRITING",
    "ImportRejected",
    "Progress",
    "UploadRefused",
    "can_import",
    "can_see_job",
    "check_import",
    "csv_chunks",
    "display_name",
    "export_customers",
    "export_table",
    "import_customers",
    "import_payments",
    "import_transactions",
    "issue_text",
    "issues_as_json",
    "job_columns",
    "mapping_issues",
    "preview",
    "preview_job",
    "queue_import",
    "run_job",
    "store_upload",
    "suggest_mapping",
    "upload_folder",
    "upload_path",
    "validate",
    "xlsx_file",
]
