"""Long jobs as rows: who started what, how far it got, and how it ended (training.jobs runs them).

The row is the job's shared state: any app server shows its progress page and any worker machine
runs it, so nothing about a job lives in one process's memory. Files a job reads (an uploaded
roster) or makes (a ZIP, an export) are kept in `job_files` in chunks of at most 1 MiB, so a worker
on another machine can read them and a download never needs the whole file in memory.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from training.extensions import db
from training.models.types import UTCDateTime, utcnow

JOB_STATES = ("queued", "running", "done", "failed")


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (
        sa.Index("ix_jobs_user_created", "user_id", "created_at"),
        sa.Index("ix_jobs_state_updated", "state", "updated_at"),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),
        sa.CheckConstraint("progress >= 0", name="progress"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(60))  # the dotted path of its handler function
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    # Who started it (None: the system, e.g. a pass that earns a certificate, or a deleted account).
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # A bulk run (`certificates issue`) is a parent whose children do the work in small batches.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(sa.String(20), default="queued")
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # plain values: ids, codes, filters
    progress: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None] = mapped_column()
    step: Mapped[str] = mapped_column(sa.String(300), default="")  # what it is doing now, for the page
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    queue: Mapped[str] = mapped_column(sa.String(60), default="default")
    rq_id: Mapped[str | None] = mapped_column(sa.String(64))
    download_name: Mapped[str | None] = mapped_column(sa.String(200))
    download_type: Mapped[str | None] = mapped_column(sa.String(120))
    download_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    @property
    def percent(self) -> int | None:
        if not self.total:
            return 100 if self.state == "done" else None
        return max(0, min(100, int(self.progress * 100 / self.total)))

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.state}>"


class JobFile(db.Model):
    """One chunk of a job's input or output file."""

    __tablename__ = "job_files"

    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(10), primary_key=True)  # "input" or "output"
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
