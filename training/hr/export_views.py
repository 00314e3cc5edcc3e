"""Exports for HR: the filtered officials as CSV or XLSX, and a unit's PDF report. Each is audited."""
from __future__ import annotations

import re
from datetime import datetime

from flask import Response, abort, flash, redirect, request, stream_with_context, url_for
from flask_login import current_user

from training.access import access
from training.extensions import db
from training.hr import bp
from training.hr.dashboard import competency_columns
from training.hr.exports import csv_chunks, export_columns, export_rows, xlsx_bytes
from training.hr.officials_filter import FilterError, OfficialFilters, officials_select, parse_filters, resolve_unit
from training.hr.report_pdf import configured_font_dir, render_unit_report, unit_report_data
from training.services import audit
from training.services.org import scope_root
from training.services.qualification import VIETNAM

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _scope():
    root = scope_root(current_user)
    if root is None and not current_user.has_role("admin"):
        abort(403)  # an HR account with no unit has no scope at all
    return root


class _BackToList(Exception):
    """A filter the export cannot apply: back to the list, with the message and the other filters."""

    def __init__(self, error: FilterError):
        super().__init__(str(error))
        self.error = error


def _selection():
    """The filters and the select; 404 for a unit outside my scope (it does not exist for me)."""
    root = _scope()
    try:
        filters = parse_filters(request.args)
        return filters, officials_select(root, filters)
    except FilterError as error:
        if error.status == 404:
            abort(404)
        raise _BackToList(error) from error


@bp.errorhandler(_BackToList)
def back_to_list(exc: _BackToList):
    flash(str(exc.error), "error")
    kept = {key: value for key, value in request.args.items() if key != exc.error.field}
    return redirect(url_for("hr.officials", **kept))


def _audit(kind: str, filters: OfficialFilters) -> None:
    audit.record(current_user, "hr.export", filters.unit or "officials", format=kind, filters=filters.as_dict())
    db.session.commit()  # the export is logged before a single row leaves


def _filename(stem: str, extension: str) -> str:
    stem = re.sub(r"[^a-z0-9-]+", "-", stem.lower()).strip("-") or "export"
    return f"{stem}-{datetime.now(VIETNAM):%Y%m%d}.{extension}"


@bp.route("/export/officials.csv")
@access("hr", "admin")
def export_officials_csv():
    filters, stmt = _selection()
    competencies = competency_columns()
    columns = export_columns(stmt, competencies)
    _audit("csv", filters)
    chunks = csv_chunks(columns, export_rows(stmt, competencies))
    return Response(stream_with_context(chunks), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{_filename("cong-chuc", "csv")}"'})


@bp.route("/export/officials.xlsx")
@access("hr", "admin")
def export_officials_xlsx():
    filters, stmt = _selection()
    competencies = competency_columns()
    columns = export_columns(stmt, competencies)
    body = xlsx_bytes(columns, export_rows(stmt, competencies), title="Công chức")
    _audit("xlsx", filters)
    return Response(body, mimetype=XLSX_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{_filename("cong-chuc", "xlsx")}"'})


@bp.route("/export/units/<code>/report.pdf")
@access("hr", "admin")
def export_unit_report(code: str):
    root = _scope()
    try:
        unit = resolve_unit(code, root)
    except FilterError:
        abort(404)
    today = datetime.now(VIETNAM).date()
    body = render_unit_report(unit_report_data(unit, today), configured_font_dir())
    audit.record(current_user, "hr.export", unit.code, format="pdf", filters={"unit": unit.code})
    db.session.commit()
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{_filename("bao-cao-" + unit.code, "pdf")}"'})
