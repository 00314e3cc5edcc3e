"""HR exports: the filtered officials (CSV, XLSX), the gaps by position (CSV, XLSX) and a unit's
PDF report. Each is audited once it has been produced, with how it ended.

The view checks the request (scope, filters) and hands plain values to `training.hr.exports`; the
CSV is then streamed by a generator that runs after the view has returned, with a session of its
own. Its audit entry is written at the end of the stream, in its own short transaction: "done" with
the row count, "failed" when producing it raised (the client's download then breaks off rather than
ending as a complete-looking file) or "interrupted" when the client went away.
"""
from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from flask import Response, abort, current_app, flash, redirect, request, send_file, stream_with_context, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from training.access import access
from training.extensions import db
from training.hr import bp
from training.hr.exports import (OfficialsExport, competency_list, csv_chunks, export_columns, export_rows,
                                 gaps_columns, gaps_rows, officials_statement, write_xlsx)
from training.hr.officials_filter import FilterError, parse_filters, resolve_unit, small_int
from training.hr.overview import as_day
from training.hr.overview import children
from training.hr.report_pdf import TABLE_ROWS_INLINE, configured_font_dir, render_unit_report, unit_report_data
from training.hr.views import _scope_or_403
from training.models import User
from training.services import audit
from training.services.qualification import VIETNAM
from training.vntext import nfc

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# An XLSX or PDF is built in a temporary file that stays in memory up to this size, then spills to disk.
SPOOL_BYTES = 8 * 1024 * 1024


class _BackToList(Exception):
    """A filter the export cannot apply: back to the list, with the message and the other filters."""

    def __init__(self, error: FilterError):
        super().__init__(str(error))
        self.error = error


@bp.errorhandler(_BackToList)
def back_to_list(exc: _BackToList):
    flash(str(exc.error), "error")
    kept = {key: value for key, value in request.args.items() if key != exc.error.field}
    return redirect(url_for("hr.officials", **kept))


def _locale() -> str:
    return str(get_locale() or "vi")


def _officials_export() -> OfficialsExport:
    """The export the query string asks for, checked now (404 for a unit outside my scope) so that
    nothing can fail on a bad filter once streaming has begun."""
    root = _scope_or_403()
    try:
        export = OfficialsExport(root_id=root.id if root is not None else None, filters=parse_filters(request.args),
                                 on=as_day(None), locale=_locale())
        officials_statement(export)
    except FilterError as error:
        if error.status == 404:
            abort(404)
        raise _BackToList(error) from error
    return export


def _filename(stem: str, extension: str) -> str:
    stem = re.sub(r"[^a-z0-9-]+", "-", stem.lower()).strip("-") or "export"
    return f"{stem}-{datetime.now(VIETNAM):%Y%m%d}.{extension}"


class _Counted:
    """Rows passed through, counted (the audit entry says how many left)."""

    def __init__(self, rows: Iterable):
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator:
        for row in self.rows:
            self.count += 1
            yield row


def _log_export(actor_id: int, target: str, details: dict) -> None:
    """The audit entry of one export, in a transaction of its own: whatever the export read is
    rolled back first (it wrote nothing)."""
    db.session.rollback()
    audit.record(db.session.get(User, actor_id), "hr.export", target, **details)
    db.session.commit()


def _log_unfinished(actor_id: int, target: str, details: dict) -> None:
    """Audit an export that did not finish; a failure to do so is logged, never raised over the
    error that stopped the export."""
    try:
        _log_export(actor_id, target, details)
    except Exception:
        db.session.rollback()
        current_app.logger.exception("could not audit the %s export", details.get("status"))


def _audited_stream(chunks: Iterable[bytes], rows: _Counted, actor_id: int, target: str,
                    details: dict) -> Iterator[bytes]:
    try:
        yield from chunks
    except GeneratorExit:
        _log_unfinished(actor_id, target, {**details, "status": "interrupted", "rows": rows.count})
        raise
    except Exception:
        _log_unfinished(actor_id, target, {**details, "status": "failed", "rows": rows.count})
        raise
    # An export that cannot be audited raises here: the download breaks off instead of completing.
    _log_export(actor_id, target, {**details, "status": "done", "rows": rows.count})


def _produced_file(produce: Callable[[object], int], *, actor_id: int, target: str, details: dict,
                   mimetype: str, filename: str, as_attachment: bool = True) -> Response:
    """Build a file with `produce(out) -> rows`, audit it once it exists (or its failure), send it."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    try:
        rows = produce(out)
    except Exception:
        out.close()
        _log_unfinished(actor_id, target, {**details, "status": "failed"})
        raise
    _log_export(actor_id, target, {**details, "status": "done", "rows": rows})
    size = out.tell()
    out.seek(0)
    if size <= SPOOL_BYTES:
        body = out.read()  # still in memory: send it as it is and let the file go now
        out.close()
        response = send_file(io.BytesIO(body), mimetype=mimetype, as_attachment=as_attachment,
                             download_name=filename)
    else:
        response = send_file(out, mimetype=mimetype, as_attachment=as_attachment, download_name=filename)
        response.content_length = size
    response.headers["Cache-Control"] = "no-store"  # personal data: no copy in shared caches
    return response


# --------------------------------------------------------------------------- officials
@bp.route("/export/officials.csv")
@access("hr", "admin")
def export_officials_csv():
    export = _officials_export()
    # --- issue 18 (jobs, owned by the jobs work): a large export is made by a job with a progress page
    from training.export_jobs import officials_export_job_if_large

    job = officials_export_job_if_large(export, "csv", _filename("cong-chuc-" + export.filters.unit, "csv"),
                                        current_user)
    if job is not None:
        return redirect(url_for("jobs.detail", job_id=job.id))
    # --- end issue 18
    competencies = competency_list(export.locale)
    columns = export_columns(export, competencies, fit=False)  # CSV has no widths: no query needed
    rows = _Counted(export_rows(export, competencies))
    body = _audited_stream(csv_chunks(columns, rows), rows, current_user.id, export.filters.unit or "officials",
                           export.audit_details("csv"))
    return Response(stream_with_context(body), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{_filename("cong-chuc-" + export.filters.unit, "csv")}"',
        "Cache-Control": "no-store"})


@bp.route("/export/officials.xlsx")
@access("hr", "admin")
def export_officials_xlsx():
    export = _officials_export()
    # --- issue 18 (jobs, owned by the jobs work): a large export is made by a job with a progress page
    from training.export_jobs import officials_export_job_if_large

    job = officials_export_job_if_large(export, "xlsx", _filename("cong-chuc-" + export.filters.unit, "xlsx"),
                                        current_user)
    if job is not None:
        return redirect(url_for("jobs.detail", job_id=job.id))
    # --- end issue 18
    competencies = competency_list(export.locale)

    def produce(out) -> int:
        rows = _Counted(export_rows(export, competencies))
        write_xlsx(export_columns(export, competencies), rows, _("Công chức"), out)
        return rows.count

    return _produced_file(produce, actor_id=current_user.id, target=export.filters.unit or "officials",
                          details=export.audit_details("xlsx"), mimetype=XLSX_TYPE,
                          filename=_filename("cong-chuc-" + export.filters.unit, "xlsx"))


# --------------------------------------------------------------------------- gaps by position
def _gaps_request():
    """(root id, unit code, position id) of the gaps page's query string; 404 outside my scope."""
    root = _scope_or_403()
    code = nfc(request.args.get("unit", "")).upper()[:40]
    unit = root
    if code:
        try:
            unit = resolve_unit(code, root)
        except FilterError:
            abort(404)
    position_id = small_int(request.args.get("position", "")) or None
    return (unit.id if unit is not None else None), code, position_id


def _gaps_export(kind: str):
    unit_id, code, position_id = _gaps_request()
    competencies = competency_list(_locale())
    on = as_day(None)
    details = {"format": kind, "report": "gaps", "filters": {k: v for k, v in
                                                            (("unit", code), ("position", position_id)) if v}}
    columns = gaps_columns(competencies)
    stem = "thieu-hut-" + code
    if kind == "csv":
        rows = _Counted(gaps_rows(unit_id, competencies, on, position_id))
        body = _audited_stream(csv_chunks(columns, rows), rows, current_user.id, code or "gaps", details)
        return Response(stream_with_context(body), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{_filename(stem, "csv")}"', "Cache-Control": "no-store"})

    def produce(out) -> int:
        rows = _Counted(gaps_rows(unit_id, competencies, on, position_id))
        write_xlsx(columns, rows, _("Thiếu hụt năng lực"), out)
        return rows.count

    return _produced_file(produce, actor_id=current_user.id, target=code or "gaps", details=details,
                          mimetype=XLSX_TYPE, filename=_filename(stem, "xlsx"))


@bp.route("/export/gaps.csv")
@access("hr", "admin")
def export_gaps_csv():
    return _gaps_export("csv")


@bp.route("/export/gaps.xlsx")
@access("hr", "admin")
def export_gaps_xlsx():
    return _gaps_export("xlsx")


# --------------------------------------------------------------------------- PDF report
@bp.route("/export/report.pdf", defaults={"code": None})
@bp.route("/export/units/<code>/report.pdf")
@access("hr", "admin")
def export_unit_report(code: str | None):
    """A unit's report, ready to be signed (without a code: the report of my whole scope)."""
    root = _scope_or_403()
    unit = root
    if code is not None:
        try:
            unit = resolve_unit(nfc(code).upper(), root)
        except FilterError:
            abort(404)
    today = as_day(None)
    target = unit.code if unit is not None else "all"
    preparer = current_user.full_name
    font_dir = configured_font_dir()
    if children(unit)[1] > TABLE_ROWS_INLINE:
        # A province's report runs to hundreds of pages: a job draws it, its page shows how far it got.
        from training.export_jobs import start_export

        job = start_export("training.hr.report_pdf.unit_report_job", user=current_user,
                           title=_("Báo cáo năng lực số — %(name)s (PDF)",
                                   name=unit.name if unit else _("Tất cả đơn vị")),
                           params={"unit_id": unit.id if unit is not None else None, "on": today.isoformat(),
                                   "preparer": preparer, "locale": _locale(),
                                   "filename": _filename("bao-cao-" + target, "pdf")})
        return redirect(url_for("jobs.detail", job_id=job.id))

    def produce(out) -> int:
        data = unit_report_data(unit, today, prepared_by=preparer, locale=_locale())
        render_unit_report(data, font_dir, out)
        return data.listed

    return _produced_file(produce, actor_id=current_user.id, target=target,
                          details={"format": "pdf", "filters": {"unit": target}}, mimetype="application/pdf",
                          filename=_filename("bao-cao-" + target, "pdf"), as_attachment=False)
