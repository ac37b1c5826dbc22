"""Uploaded files waiting for their import: kept under a generated name in
``VAR_DIR/uploads``, refused when they are not of an allowed type and size or their
header row cannot be read, each with its first rows stored beside it for the mapping
page."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext

from tiering import data
from tiering.exceptions import InputError
from tiering.output import write_atomically
from tiering_web.imports.fields import _check_kind
from tiering_web.imports.issues import issue_text
from tiering_web.imports.models import ImportJob

#: Upload limits: size, file types, header shape.
MAX_UPLOAD_BYTES = 256 * 2**20
UPLOAD_SUFFIXES = (".csv", ".xlsx")
MAX_COLUMNS = 200
MAX_HEADER_CHARS = 200


class UploadRefused(Exception):
    """The uploaded file cannot be used; the message (in the active language) says why."""


def upload_folder() -> Path:
    folder = Path(settings.VAR_DIR) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload_path(job: ImportJob) -> Path:
    """Where the job's file is stored (its generated name, never the uploader's)."""
    if not job.upload or Path(job.upload).name != job.upload:
        raise FileNotFoundError(job.upload)
    return upload_folder() / job.upload


def display_name(name: str) -> str:
    """The uploader's file name for showing only: its last part, without control
    characters, at most 255 characters."""
    last = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in last if ch.isprintable()).strip().lstrip(".")
    return (cleaned or "upload")[:255]


#: The first rows of an upload kept beside it (``<name>.sample.parquet``) for the mapping
#: page: its headers and preview come from them, so the file is read in full only twice,
#: once when it is uploaded and once when it is imported.
SAMPLE_ROWS = 20


def _sample_path(path: Path) -> Path:
    return path.with_name(path.stem + ".sample.parquet")


def _store_sample(path: Path) -> list[str]:
    """Read the file once: keep its first :data:`SAMPLE_ROWS` rows (as text, with their
    row numbers) beside it and return its headers, in order. Raises
    :class:`~tiering.exceptions.InputError` when the file cannot be read."""
    import pyarrow.parquet as pq

    con = data.connect()
    try:
        src, _ = data.read_table(path, "upload", con)
        try:
            sample = src.db.sql(
                f"SELECT * FROM ({src.with_rows()}) ORDER BY _row LIMIT {SAMPLE_ROWS}"
            ).to_arrow_table()
        finally:
            src.close()
    finally:
        con.disconnect()
    write_atomically(_sample_path(path), lambda tmp: pq.write_table(sample, tmp))
    return [name for name in sample.column_names if name != "_row"]


def _sample(job: ImportJob):
    """The job's stored first rows (made now from the file for a job uploaded before
    samples were kept). Raises FileNotFoundError when the upload is gone."""
    import pyarrow.parquet as pq

    path = upload_path(job)
    if not _sample_path(path).exists():
        if not path.exists():
            raise FileNotFoundError(path)
        _store_sample(path)
    return pq.read_table(_sample_path(path))


def _refuse(path: Path, message: str):
    path.unlink(missing_ok=True)
    _sample_path(path).unlink(missing_ok=True)
    raise UploadRefused(message)


def store_upload(actor, kind: str, uploaded: UploadedFile) -> ImportJob:
    """Keep an uploaded CSV or .xlsx under a generated name in ``VAR_DIR/uploads`` and
    make its pending :class:`ImportJob`, once the file is of an allowed type and size and
    its header row can be read. Raises :class:`UploadRefused` saying what is wrong."""
    _check_kind(kind)
    name = display_name(uploaded.name)
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadRefused(gettext("Only .csv and .xlsx files can be imported."))
    if not uploaded.size:
        raise UploadRefused(gettext("The file is empty."))
    if uploaded.size > MAX_UPLOAD_BYTES:
        raise UploadRefused(
            gettext("The file is larger than %(limit)d MB.") % {"limit": MAX_UPLOAD_BYTES >> 20}
        )
    path = upload_folder() / f"{uuid.uuid4().hex}{suffix}"
    with open(path, "wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    if suffix == ".xlsx" and not head.startswith(b"PK\x03\x04"):
        _refuse(path, gettext("The file is not an Excel .xlsx workbook."))
    if suffix == ".csv" and (b"\x00" in head or head.startswith((b"PK\x03\x04", b"MZ"))):
        _refuse(path, gettext("The file is not a text CSV file."))
    try:
        columns = _store_sample(path)
    except InputError as e:
        reasons = "; ".join(issue_text(i) for i in e.issues)
        _refuse(path, gettext("The file cannot be read: %(reasons)s") % {"reasons": reasons})
    if not columns:
        _refuse(path, gettext("The file has no header row."))
    if len(columns) > MAX_COLUMNS:
        _refuse(
            path,
            gettext("The file has %(count)d columns; at most %(limit)d are allowed.")
            % {"count": len(columns), "limit": MAX_COLUMNS},
        )
    if any(len(c) > MAX_HEADER_CHARS for c in columns):
        _refuse(
            path,
            gettext("A column header is longer than %(limit)d characters.")
            % {"limit": MAX_HEADER_CHARS},
        )
    return ImportJob.objects.create(
        kind=kind,
        file_name=name,
        uploaded_by=actor if actor is not None and actor.pk is not None else None,
        upload=path.name,
        status=ImportJob.Status.PENDING,
    )
