"""Exports as jobs: a file too large to make within a request is made by a job, whose page shows its
progress and then a download link (training.jobs_views). The machinery is generic; the HR exports
of officials (CSV, XLSX) use it above EXPORT_JOB_MIN_ROWS rows.

A view asks `start_export(...)` for a job and redirects to its page; the job's handler produces the
file through `produce_download(job, ...)`, which stores it in the database in chunks (any app server
then serves the download, and memory stays flat).
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _

from training.extensions import db
from training.models import Job, User
from training.services import audit

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
SPOOL_BYTES = 8 * 1024 * 1024
READ_BYTES = 1024 * 1024


def start_export(kind: str, *, user: User, title: str, params: dict, total: int | None = None) -> Job:
    """Create, commit and start the export job `kind` (a handler's dotted path) for `user`; the caller
    redirects to url_for("jobs.detail", job_id=job.id)."""
    from training.jobs import create_job, start

    job = create_job(kind, user=user, title=title, params=params, total=total)
    db.session.commit()
    return start(job)


def export_is_large(rows: int) -> bool:
    return rows >= int(current_app.config.get("EXPORT_JOB_MIN_ROWS", 5000))


class CountedRows:
    """Rows passed through, counted, with the job's progress reported as they go."""

    def __init__(self, rows: Iterable, progress):
        self.rows = rows
        self.progress = progress
        self.count = 0

    def __iter__(self) -> Iterator:
        for row in self.rows:
            self.count += 1
            self.progress.update(self.count)
            yield row


def produce_download(job: Job, *, filename: str, mimetype: str, chunks: Iterable[bytes] | None = None,
                     write: Callable[[object], None] | None = None) -> int:
    """Store the job's file from `chunks`, or from `write(out)` for writers that need a file object
    (openpyxl); in a temporary file spilled to disk past 8 MB, then into the database. Returns the size."""
    from training.jobs import set_download

    if chunks is not None:
        return set_download(job, chunks, filename, mimetype)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as out:
        write(out)
        out.seek(0)
        return set_download(job, iter(lambda: out.read(READ_BYTES), b""), filename, mimetype)


def _moment(text: str):
    """A date or a datetime back from its ISO form (the export states its moment either way)."""
    return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)


# --------------------------------------------------------------------------- HR: officials
OFFICIALS_EXPORT_JOB = "training.export_jobs.officials_export_job"


def officials_export_job_if_large(export, fmt: str, filename: str, user: User) -> Job | None:
    """For the HR officials export (`export`: training.hr.exports.OfficialsExport): a job when the
    selection has EXPORT_JOB_MIN_ROWS officials or more, else None (the view streams it as before)."""
    from training.hr.exports import count_officials

    rows = count_officials(export)
    if not export_is_large(rows):
        return None
    params = {"root_id": export.root_id, "filters": {k: str(v) for k, v in export.filters.as_dict().items()},
              "on": export.on.isoformat(), "locale": export.locale, "format": fmt, "filename": filename}
    return start_export(OFFICIALS_EXPORT_JOB, user=user, params=params, total=rows,
                        title=_("Xuất danh sách %(n)d công chức (%(fmt)s)", n=rows, fmt=fmt.upper()))


def officials_export_job(job: Job) -> dict:
    """Job: the HR officials export (CSV or XLSX) as a download; audited like the streamed one."""
    from training.hr.exports import (OfficialsExport, competency_list, csv_chunks, export_columns, export_rows,
                                     write_xlsx)
    from training.hr.officials_filter import parse_filters
    from training.jobs import Progress

    params = job.params
    export = OfficialsExport(root_id=params.get("root_id"), filters=parse_filters(params.get("filters") or {}),
                             on=_moment(params["on"]), locale=params.get("locale") or "vi")
    competencies = competency_list(export.locale)
    progress = Progress(job, total=job.total, aside=True)
    rows = CountedRows(export_rows(export, competencies), progress)
    fmt = params.get("format")
    if fmt == "xlsx":
        columns = export_columns(export, competencies)
        size = produce_download(job, filename=params["filename"], mimetype=XLSX_TYPE,
                                write=lambda out: write_xlsx(columns, rows, _("Công chức"), out))
    else:
        columns = export_columns(export, competencies, fit=False)
        size = produce_download(job, filename=params["filename"], mimetype=CSV_TYPE,
                                chunks=csv_chunks(columns, rows))
    actor = db.session.get(User, job.user_id) if job.user_id else None
    audit.record(actor, "hr.export", export.filters.unit or "officials",
                 **{**export.audit_details(fmt), "status": "done", "rows": rows.count, "job_id": job.id})
    return {"summary": _("Đã xuất %(n)d công chức.", n=rows.count), "rows": rows.count, "size": size}
