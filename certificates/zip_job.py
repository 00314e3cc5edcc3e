"""A unit's certificates as one ZIP, made by a job when there are many (certificates.manage_views)."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from certificates.models import Certificate
from certificates.zipstream import stream_zip
from training.extensions import db
from training.models import User
from training.services import audit

ZIP_JOB = "certificates.zip_job.zip_job"


def zip_job(job) -> dict:
    """Job: the PDFs of `job.params["ids"]` in one ZIP, stored as the job's download, one PDF in memory at
    a time. Run again, it makes the same file again."""
    from training.jobs import Progress, set_download

    ids = [int(i) for i in job.params.get("ids", [])]
    progress = Progress(job, total=len(ids), aside=True)

    def files():
        for done, certificate_id in enumerate(ids, start=1):
            row = db.session.execute(sa.select(Certificate.pdf, Certificate.serial)
                                     .where(Certificate.id == certificate_id)).one_or_none()
            if row is not None:
                yield f"{row.serial}.pdf", row.pdf
            progress.update(done)

    name = job.params.get("filename") or "chung-nhan.zip"
    size = set_download(job, stream_zip(files()), name, "application/zip")
    actor = db.session.get(User, job.user_id) if job.user_id else None
    audit.record(actor, "certificate.export_zip", name, certificates=len(ids),
                 status_filter=job.params.get("status") or "valid", job_id=job.id)
    return {"summary": _("Đã đóng gói %(n)d giấy chứng nhận vào tệp %(name)s.", n=len(ids), name=name),
            "size": size}
