"""A large question-bank import, applied by a job after its preview (quizzes.manage_views)."""
from __future__ import annotations

from flask_babel import gettext as _

from quizzes.transfer import ImportRefused, apply_import, parse_file
from training.extensions import db
from training.models import Competency, User

IMPORT_JOB = "quizzes.import_job.import_job"
ERRORS_SHOWN = 200


class _Reporting(list):
    """The parsed questions, reporting how far the writer has come as it goes through them."""

    def __init__(self, items, progress):
        super().__init__(items)
        self.progress = progress

    def __iter__(self):
        for done, item in enumerate(super().__iter__(), start=1):
            self.progress.update(done)
            yield item


def import_job(job) -> dict:
    """Job: parse the stored file again and write it to the bank, all or nothing (the job's "done" is
    committed with the questions, so a job run twice imports once)."""
    from training.jobs import JobError, Progress, read_input

    params = job.params
    progress = Progress(job, aside=True)
    progress.update(0, step=_("Đang đọc tệp…"), force=True)
    data = read_input(job)
    competency = db.session.get(Competency, params["competency_id"]) if params.get("competency_id") else None
    actor = db.session.get(User, job.user_id) if job.user_id else None
    try:
        result = parse_file(data, params.get("format", ""), [])
        progress.update(0, total=len(result.questions), step=_("Đang ghi câu hỏi vào ngân hàng…"), force=True)
        result.questions = _Reporting(result.questions, progress)
        summary = apply_import(result, actor=actor, base_path=list(params.get("category") or []),
                               competency=competency, source=params.get("filename", ""))
    except ImportRefused as exc:
        db.session.rollback()
        raise JobError(_("Tệp bị từ chối, không có câu hỏi nào được nhập: %(r)s",
                         r="; ".join(str(issue) for issue in exc.issues[:5]))) from exc
    message = _("Đã nhập %(n)d câu hỏi chấm điểm vào: %(where)s.", n=summary.imported,
                where="; ".join(summary.categories))
    notes = []
    if summary.non_graded:
        notes.append(_("Thêm %(n)d mục không chấm điểm (tự luận, mô tả, cloze).", n=summary.non_graded))
    if summary.warnings:
        notes.append(_("Có %(n)d lưu ý khi nhập; xem lại các câu hỏi vừa nhập.", n=len(summary.warnings)))
    job.total = len(result.questions)
    return {"summary": message, "notes": notes, "imported": summary.imported,
            "errors": [{"line": w.line, "message": w.message} for w in summary.warnings[:ERRORS_SHOWN]],
            "errors_total": len(summary.warnings),
            "link": {"endpoint": "quizzes.bank_index", "values": {}, "label": _("Mở ngân hàng câu hỏi")}}
