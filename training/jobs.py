"""Long jobs: on RQ workers over Redis when REDIS_URL is set, inline otherwise (the embedded default).

This module is the one place that decides between the queue and running now.

A job is a row (training.models.Job) whose `kind` is the dotted path of its handler, a plain function
`handler(job) -> dict` that reads its plain parameters (ids, codes) from `job.params`, commits its own
work as it goes when it is resumable (certificates: one official at a time), or leaves one final
commit to `run` when it is all or nothing (a roster import: its rows and the job's "done" are committed
together, so a re-run after a crash finds either nothing or the whole import and "done").
RQ is given only `training.jobs.run(job_id)`, importable by name; `run` builds its own app context.

Nothing is done twice and nothing is lost:
- the row is written in the same transaction as whatever asked for it (a pass, an import) and put on
  the queue after that commit; a row whose queue entry went missing (Redis down at that moment or
  flushed) is put back by `recover`, which every worker runs at start and then every minute;
- every handler is idempotent in the database (unique constraints, claimed rows), so a job that runs
  twice (a retry, a worker killed mid-job and its job taken over) does its work once;
- a job whose worker died is found by RQ's started-job registry (the worker's heartbeat stops) and
  run again; an error is retried with backoff (JOB_RETRY_INTERVALS), then the row says "failed" with
  its error and an admin can retry it from /jobs/failed.

Workers (`flask --app training worker`) build the app and preload the heavy libraries (ReportLab,
pyHanko) and the signing identity once, then run every job in that warm process (or, with --fork,
in a work horse forked from it that inherits them warm).
"""
from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext as _

from training.extensions import db
from training.models import Job, JobFile, User

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "default"
# Certificates for a whole city wait here, behind anything a person is waiting for.
BULK_QUEUE = "bulk"
CHUNK_BYTES = 1024 * 1024
# Handlers are looked up by name only inside the project's own packages.
HANDLER_PACKAGES = ("training.", "courses.", "quizzes.", "certificates.")
_REDIS: dict[str, object] = {}
_WORKER_APP = None  # set once in a worker process (the parent, inherited by every work horse)


class JobError(Exception):
    """A job that cannot succeed, with a message for the person who started it: not retried."""


# --------------------------------------------------------------------------- queue or inline
def queue_enabled(config=None) -> bool:
    """True when REDIS_URL is set: jobs go to RQ workers; otherwise they run in the calling process."""
    config = config if config is not None else current_app.config
    return bool(config.get("REDIS_URL"))


def redis_connection(url: str | None = None):
    """One Redis client (connection pool) per process and URL."""
    from redis import Redis

    url = url or current_app.config["REDIS_URL"]
    if url not in _REDIS:
        _REDIS[url] = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30)
    return _REDIS[url]


def queue_name(name: str | None = None, config=None) -> str:
    """The RQ name of queue `name`: JOB_QUEUE_PREFIX lets two sites (or test runs) share one Redis."""
    config = config if config is not None else current_app.config
    return (config.get("JOB_QUEUE_PREFIX") or "") + (name or DEFAULT_QUEUE)


def queue(name: str | None = None):
    """The RQ queue `name` (default: DEFAULT_QUEUE) on the configured Redis."""
    from rq import Queue

    return Queue(queue_name(name), connection=redis_connection())


def queue_names(config=None) -> list[str]:
    """Every queue a default worker serves, in priority order (RQ names)."""
    return [queue_name(name, config) for name in (DEFAULT_QUEUE, BULK_QUEUE)]


def _function(path: str):
    if not path.startswith(HANDLER_PACKAGES):
        raise ValueError(f"not a job handler of this project: {path}")
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def create_job(kind: str, *, user: User | None = None, title: str = "", params: dict | None = None,
               total: int | None = None, parent: Job | None = None, queue_name: str = DEFAULT_QUEUE,
               input_data: bytes | None = None) -> Job:
    """A new job row (state "queued"), with its input file if any. Flushes; the caller commits, then
    calls `start` (or `start_after_commit`) to run it."""
    _function(kind)  # a typo in a kind fails here, in the request, not later on a worker
    now = _now()
    job = Job(kind=kind, title=title[:300], user_id=user.id if user is not None else None,
              parent_id=parent.id if parent is not None else None, state="queued", params=params or {},
              progress=0, total=total, step="", error="", attempts=0, queue=queue_name, created_at=now,
              updated_at=now)
    db.session.add(job)
    db.session.flush()
    if input_data is not None:
        write_file(job, "input", [input_data])
    return job


def start(job: Job) -> Job:
    """Run a committed job: put it on its queue when REDIS_URL is set, else run it now, here.

    Inline, a failure is recorded on the row (the page shows it) rather than raised.
    """
    if queue_enabled():
        _enqueue(job.id, job.queue)
        return job
    job_id = job.id
    try:
        run(job_id)
    except Exception:  # recorded on the row by run(); the caller shows the job page
        log.exception("job %s failed inline", job_id)
    db.session.expire_all()
    return db.session.get(Job, job_id)


def start_after_commit(job: Job) -> None:
    """Queue `job` once the current transaction commits (on the queue only; inline jobs are started by
    the caller after its commit). If the enqueue fails, `recover` queues the row later."""
    if not queue_enabled():
        return
    job_id, queue_name, app = job.id, job.queue, current_app._get_current_object()

    def enqueue(_session):
        try:
            with app.app_context():
                _enqueue(job_id, queue_name)
        except Exception:  # Redis unreachable: the row stays "queued" and recover() picks it up
            log.exception("could not queue job %s; it will be recovered", job_id)

    sa.event.listen(db.session(), "after_commit", enqueue, once=True)


def enqueue(path: str, *args, queue_name: str | None = None, **kwargs):
    """A plain call on the queue, without a job row (nobody watches its progress): `path(*args,
    **kwargs)` on a worker when REDIS_URL is set, with retries; otherwise now, here. Returns the RQ job,
    or the function's result when it ran inline. The function must be idempotent and commit its work."""
    _function(path)
    if not queue_enabled():
        return _function(path)(*args, **kwargs)
    return queue(queue_name).enqueue_call("training.jobs.run_job", args=(path, tuple(args), kwargs),
                                          timeout=int(current_app.config.get("JOB_TIMEOUT_S") or 3600),
                                          retry=_retry(), failure_ttl=7 * 24 * 3600)


def run_job(path: str, args: tuple = (), kwargs: dict | None = None):
    """RQ's entry point for `enqueue`: the call in an app context of its own, committed after."""
    with _job_context():
        try:
            result = _function(path)(*args, **(kwargs or {}))
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            raise


def after_commit(callback) -> None:
    """Call `callback()` (in this app's context) once the current transaction commits; for work that
    touches no database (queueing in Redis)."""
    app = current_app._get_current_object()

    def call(_session):
        with app.app_context():
            callback()

    sa.event.listen(db.session(), "after_commit", call, once=True)


def _rq_id(job_id: int) -> str:
    """The job's id on RQ: with the site's prefix, since RQ's job keys are global in the Redis database."""
    return queue_name(f"ccs-job-{job_id}")


def _retry():
    from rq import Retry

    intervals = list(current_app.config.get("JOB_RETRY_INTERVALS") or [])
    if not intervals:
        return None
    return Retry(max=len(intervals), interval=intervals)


def _enqueue(job_id: int, queue_name: str) -> None:
    from rq import Callback
    from rq.registry import FailedJobRegistry

    jobs_queue = queue(queue_name)
    rq_id = _rq_id(job_id)
    FailedJobRegistry(queue=jobs_queue).remove(rq_id)  # a retried job leaves the failed list
    jobs_queue.enqueue_call("training.jobs.run", args=(job_id,), job_id=rq_id,
                            timeout=int(current_app.config.get("JOB_TIMEOUT_S") or 3600),
                            result_ttl=3600, failure_ttl=7 * 24 * 3600, retry=_retry(),
                            on_failure=Callback("training.jobs.on_rq_failure"),
                            description=f"job {job_id}")


# --------------------------------------------------------------------------- running
def _now() -> datetime:
    return datetime.now(timezone.utc)


def _worker_app():
    """The app of this worker process, made once (a plain `rq worker` gets one on its first job)."""
    global _WORKER_APP
    if _WORKER_APP is None:
        from training import create_app

        _WORKER_APP = create_app()
    return _WORKER_APP


def _job_context():
    """Inline: the caller's app context. On a worker: a fresh context (and database session) per job."""
    from contextlib import nullcontext

    if _WORKER_APP is None and has_app_context():
        return nullcontext()
    return _worker_app().app_context()


def run(job_id: int) -> str:
    """Run job `job_id` (RQ's entry point, and the inline path). Idempotent: a finished job is not
    run again. Returns the final state."""
    with _job_context():
        return _run(job_id)


def _run(job_id: int) -> str:
    from flask_babel import force_locale

    job = db.session.get(Job, job_id)
    if job is None:
        log.warning("job %s no longer exists", job_id)
        return "missing"
    if job.state == "done":
        return "done"  # delivered again after it finished (a retry racing a slow first run)
    job.state = "running"
    job.attempts += 1
    job.started_at = job.started_at or _now()
    job.updated_at = _now()
    db.session.commit()
    locale = _locale_of(job)
    try:
        with force_locale(locale):
            handler = _function(job.kind)
            result = handler(job)
    except JobError as error:
        db.session.rollback()
        _finish(job_id, "failed", error=str(error))
        return "failed"
    except Exception as error:
        db.session.rollback()
        _record_error(job_id, _describe(error), final=_retries_left() == 0)
        raise
    job = db.session.get(Job, job_id)  # the handler may have made the session forget it
    job.state = "done"
    job.result = result if isinstance(result, dict) else ({"value": result} if result is not None else {})
    if job.total is not None:
        job.progress = max(job.progress or 0, job.total)
    job.finished_at = job.updated_at = _now()
    job.error = ""
    db.session.commit()  # with the handler's last writes: all or nothing
    if job.parent_id is not None:
        roll_up(job.parent_id)
    return "done"


def _locale_of(job: Job) -> str:
    languages = tuple(current_app.config.get("LANGUAGES") or ("vi",))
    user = db.session.get(User, job.user_id) if job.user_id else None
    if user is not None and user.locale in languages:
        return user.locale
    return str(current_app.config.get("BABEL_DEFAULT_LOCALE") or "vi")


def _retries_left() -> int:
    """How many retries RQ will still make of the job running now (0 inline)."""
    try:
        from rq import get_current_job
    except ImportError:  # pragma: no cover
        return 0
    rq_job = get_current_job()
    return int(getattr(rq_job, "retries_left", 0) or 0) if rq_job is not None else 0


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    return text[:4000]


def _finish(job_id: int, state: str, *, error: str = "", result: dict | None = None) -> None:
    job = db.session.get(Job, job_id)
    if job is None or job.state == "done":
        return
    job.state = state
    job.error = error[:4000]
    if result is not None:
        job.result = result
    job.finished_at = job.updated_at = _now()
    db.session.commit()
    if job.parent_id is not None:
        roll_up(job.parent_id)


def _record_error(job_id: int, error: str, *, final: bool) -> None:
    """After a failed attempt: "failed" when no retry follows, else back to "queued" with the error."""
    try:
        job = db.session.get(Job, job_id)
        if job is None or job.state == "done":
            return
        if final:
            _finish(job_id, "failed", error=error)
            return
        job.state = "queued"
        job.error = error[:4000]
        job.updated_at = _now()
        db.session.commit()
    except Exception:  # the database may be what failed; RQ keeps the error too
        db.session.rollback()
        log.exception("could not record the failure of job %s", job_id)


def on_rq_failure(rq_job, connection, exc_type, exc_value, tb) -> None:
    """RQ's failure callback: a job that raised, or whose worker died (AbandonedJobError, found by the
    started-job registry's cleanup). A retry follows while RQ has retries left; after the last one the
    row says "failed" and the job is listed for admin."""
    try:
        job_id = int(rq_job.args[0])
    except (TypeError, ValueError, IndexError):
        return
    retrying = int(rq_job.retries_left or 0) > 0
    name = getattr(exc_type, "__name__", str(exc_type))
    if name == "AbandonedJobError":
        message = "AbandonedJobError: tiến trình xử lý đã dừng đột ngột giữa chừng (worker process died)"
    else:
        message = f"{name}: {exc_value}"
    with _job_context():
        _record_error(job_id, message, final=not retrying)


def roll_up(parent_id: int) -> None:
    """A parent's progress is its children's; it is done when none is left to run. Recomputed from the
    children each time, so it stays right whatever order or how often children report."""
    # The parent's row is locked first (PostgreSQL), so of two children finishing together the one
    # that writes last has read the other's state.
    if db.session.get(Job, parent_id, with_for_update=True) is None:
        return
    children = sa.select(Job).where(Job.parent_id == parent_id).subquery()
    progress, unfinished, failed = db.session.execute(sa.select(
        sa.func.coalesce(sa.func.sum(children.c.progress), 0),
        sa.func.count().filter(children.c.state.in_(("queued", "running"))),
        sa.func.count().filter(children.c.state == "failed"))).one()
    parent = db.session.get(Job, parent_id)
    if parent is None:
        return
    parent.progress = int(progress or 0)
    parent.updated_at = _now()
    if not unfinished and parent.state in ("queued", "running"):
        parent.state = "failed" if failed else "done"
        parent.finished_at = _now()
        parent.error = _("%(n)d lô lỗi", n=failed) if failed else ""
        result = dict(parent.result or {})
        result["failed_batches"] = int(failed or 0)
        result["summary"] = (_("Đã xử lý %(done)d / %(total)d; %(n)d lô lỗi.", done=parent.progress,
                               total=parent.total or parent.progress, n=failed) if failed else
                             _("Đã xử lý %(done)d / %(total)d.", done=parent.progress,
                               total=parent.total or parent.progress))
        parent.result = result
    elif unfinished and parent.state in ("done", "failed"):
        parent.state = "running"  # a failed child was retried
        parent.finished_at = None
    db.session.commit()


# --------------------------------------------------------------------------- progress and files
class Progress:
    """Progress of a running job, written at most every `every` seconds.

    A handler that commits as it goes (`aside=False`) has progress committed with its work. An
    all-or-nothing handler (`aside=True`) keeps its transaction open for minutes; its progress is
    written through a connection of its own so the page sees it (PostgreSQL; SQLite has one writer
    at a time, so there it is seen when the job ends).
    """

    def __init__(self, job: Job, total: int | None = None, *, aside: bool = False, every: float = 0.5):
        self.job_id = job.id
        self.aside = aside and db.engine.dialect.name != "sqlite"
        self.every = every
        self.last = 0.0
        if total is not None:
            self.update(0, total=total, force=True)

    def update(self, done: int, *, total: int | None = None, step: str | None = None, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        values = {"progress": max(int(done), 0), "updated_at": _now()}
        if total is not None:
            values["total"] = int(total)
        if step is not None:
            values["step"] = step[:300]
        statement = sa.update(Job).where(Job.id == self.job_id).values(**values)
        if self.aside:
            with db.engine.begin() as connection:
                connection.execute(statement)
        else:
            db.session.execute(statement)  # committed with the handler's next commit


class FileWriter:
    """Writes a job's input or output file into rows of at most 1 MiB as data comes (any earlier file of
    that role is replaced, so a re-run starts clean): memory stays flat. `close()` returns the size."""

    def __init__(self, job: Job, role: str):
        self.job_id = job.id
        self.role = role
        self.buffer = bytearray()
        self.seq = self.size = 0
        db.session.execute(sa.delete(JobFile).where(JobFile.job_id == job.id, JobFile.role == role))

    def _put(self, data) -> None:
        db.session.execute(sa.insert(JobFile).values(job_id=self.job_id, role=self.role, seq=self.seq,
                                                     data=bytes(data)))
        self.seq += 1

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.size += len(data)
        while len(self.buffer) >= CHUNK_BYTES:
            self._put(self.buffer[:CHUNK_BYTES])
            del self.buffer[:CHUNK_BYTES]
        return len(data)

    def close(self) -> int:
        if self.buffer or self.seq == 0:
            self._put(self.buffer)
            self.buffer = bytearray()
        return self.size


def write_file(job: Job, role: str, chunks: Iterable[bytes]) -> int:
    """Store a job's input or output from `chunks` (see FileWriter). Returns the size."""
    writer = FileWriter(job, role)
    for chunk in chunks:
        if chunk:
            writer.write(chunk)
    return writer.close()


def read_file(job_id: int, role: str) -> Iterator[bytes]:
    """A job's stored file, chunk by chunk (one chunk in memory at a time)."""
    seqs = list(db.session.scalars(sa.select(JobFile.seq).where(JobFile.job_id == job_id, JobFile.role == role)
                                   .order_by(JobFile.seq)))
    for seq in seqs:
        yield db.session.scalar(sa.select(JobFile.data).where(JobFile.job_id == job_id, JobFile.role == role,
                                                              JobFile.seq == seq))


def read_input(job: Job) -> bytes:
    """The job's input file, whole (uploads are small: at most 20 MB)."""
    return b"".join(read_file(job.id, "input"))


def set_download(job: Job, chunks: Iterable[bytes], name: str, mimetype: str) -> int:
    """Store the job's result file for download; returns its size."""
    size = write_file(job, "output", chunks)
    job.download_name = name[:200]
    job.download_type = mimetype[:120]
    job.download_size = size
    return size


def has_file(job_id: int, role: str) -> bool:
    return db.session.scalar(sa.select(JobFile.seq).where(JobFile.job_id == job_id, JobFile.role == role)
                             .limit(1)) is not None


# --------------------------------------------------------------------------- recovery and admin
def retry_job(job: Job) -> Job:
    """Run a failed job again (the admin's retry button); its children too, for a bulk parent."""
    children = list(db.session.scalars(sa.select(Job).where(Job.parent_id == job.id, Job.state == "failed")))
    targets = children if children else [job]
    for target in targets:
        target.state = "queued"
        target.error = ""
        target.finished_at = None
        target.updated_at = _now()
    if children:
        job.state = "running"
        job.finished_at = None
        job.error = ""
    db.session.commit()
    for target in targets:
        start(target)
    return job


def recover(now: datetime | None = None, stale_s: int | None = None) -> int:
    """Queue again every unfinished job whose queue entry is gone or failed for good: a row written
    while Redis was unreachable, an entry lost with Redis' memory, a job whose last retry died with
    its worker. A job RQ still holds (waiting, running, scheduled for a retry) is left to RQ. Returns
    how many were queued."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job as RQJob

    if not queue_enabled():
        return 0
    now = now or _now()
    stale_s = int(stale_s if stale_s is not None else current_app.config.get("JOB_STALE_S", 120))
    limit = now - timedelta(seconds=stale_s)
    candidates = list(db.session.execute(sa.select(Job.id, Job.queue, Job.state, Job.kind).where(
        Job.state.in_(("queued", "running")), Job.updated_at < limit).order_by(Job.id).limit(1000)))
    connection = redis_connection()
    queued = 0
    for job_id, queue_name, state, kind in candidates:
        if kind.endswith("_parent"):
            continue  # a bulk parent is never run itself: its children are
        try:
            rq_job = RQJob.fetch(_rq_id(job_id), connection=connection)
            status = rq_job.get_status(refresh=True)
        except NoSuchJobError:
            status = None
        status = getattr(status, "value", status)
        if status in ("queued", "started", "scheduled", "deferred"):
            continue
        if status == "failed":
            latest = rq_job.latest_result()
            reason = (latest.exc_string or "") if latest is not None else ""
            _record_error(job_id, reason.strip().splitlines()[-1][:1000] if reason.strip() else "RQ: failed",
                          final=True)
            continue
        _enqueue(job_id, queue_name)
        job = db.session.get(Job, job_id)
        job.updated_at = _now()
        db.session.commit()
        queued += 1
    # A parent whose last children finished while its roll-up lost a race is finished here.
    for (parent_id,) in db.session.execute(sa.select(Job.id).where(
            Job.kind.like("%\\_parent", escape="\\"), Job.state.in_(("queued", "running")), Job.updated_at < limit)):
        roll_up(parent_id)
    return queued


def purge(now: datetime | None = None) -> int:
    """Forget finished jobs (and their files) older than JOB_KEEP_DAYS."""
    now = now or _now()
    days = int(current_app.config.get("JOB_KEEP_DAYS") or 14)
    old = sa.select(Job.id).where(Job.state.in_(("done", "failed")), Job.finished_at < now - timedelta(days=days),
                                  Job.parent_id.is_(None))
    ids = list(db.session.scalars(old.limit(5000)))
    if not ids:
        return 0
    db.session.execute(sa.delete(JobFile).where(JobFile.job_id.in_(
        sa.select(Job.id).where(sa.or_(Job.id.in_(ids), Job.parent_id.in_(ids))))))
    db.session.execute(sa.delete(Job).where(Job.parent_id.in_(ids)))
    db.session.execute(sa.delete(Job).where(Job.id.in_(ids)))
    db.session.commit()
    return len(ids)


def queue_status(config=None) -> dict:
    """{"redis": "ok"|"down", "queue": jobs waiting} for /healthz (no Redis configured: {})."""
    config = config if config is not None else current_app.config
    if not config.get("REDIS_URL"):
        return {}
    try:
        connection = redis_connection(config["REDIS_URL"])
        with connection.pipeline(transaction=False) as pipe:
            for name in queue_names(config):
                pipe.llen(f"rq:queue:{name}")  # RQ's key for a queue's waiting jobs
            lengths = pipe.execute()
        return {"redis": "ok", "queue": int(sum(lengths))}
    except Exception:  # any failure to reach Redis is "down"; the web goes on without the queue
        log.warning("health check: Redis unreachable", exc_info=True)
        return {"redis": "down", "queue": None}


def failed_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Job.id)).where(Job.state == "failed")) or 0


# --------------------------------------------------------------------------- the worker
def _worker_classes():
    from rq import SimpleWorker, Worker

    class JobWorkerMixin:
        """A worker of this app: short heartbeats so a dead worker is noticed within about a minute,
        and our recovery sweep with RQ's registry maintenance."""

        app = None
        heartbeat_grace = 60

        def get_heartbeat_ttl(self, job) -> int:
            interval = self.job_monitoring_interval
            if job.timeout and job.timeout > 0:
                interval = min(job.timeout - self.current_job_working_time, interval)
            return int(max(interval, 1)) + int(self.heartbeat_grace)

        def run_maintenance_tasks(self):
            super().run_maintenance_tasks()
            with self.app.app_context():
                try:
                    recovered = recover()
                    purge()
                    if recovered:
                        self.log.info("recovered %d job(s)", recovered)
                except Exception:  # maintenance must never stop the worker
                    db.session.rollback()
                    self.log.exception("job recovery failed")

    class JobWorker(JobWorkerMixin, Worker):
        """Forks a work horse per job from this warm process: the horse inherits the imported
        libraries and the loaded signing identity, and opens its own database connections."""

        def main_work_horse(self, job, queue):
            with self.app.app_context():
                for engine in db.engines.values():
                    engine.dispose(close=False)  # the parent's pooled connections stay the parent's
            return super().main_work_horse(job, queue)

    class SimpleJobWorker(JobWorkerMixin, SimpleWorker):
        """Runs each job in this warm process, without forking: no fork, no new database connection and
        no copied memory per job (measured faster, bench/jobs_bench.py). A thread keeps the job's
        heartbeat going while it runs, so a long job is never taken for abandoned, and a worker that
        dies is noticed after JOB_HEARTBEAT_S + JOB_HEARTBEAT_GRACE_S."""

        def execute_job(self, job, queue):
            import threading

            from rq.worker import WorkerStatus

            self.prepare_execution(job)
            stop = threading.Event()

            def beat():
                while not stop.wait(self.job_monitoring_interval):
                    try:
                        self.maintain_heartbeats(job)
                    except Exception:  # the job finished meanwhile, or Redis hiccupped: try at the next beat
                        self.log.debug("heartbeat of job %s skipped", job.id, exc_info=True)

            beating = threading.Thread(target=beat, name="job-heartbeat", daemon=True)
            beating.start()
            try:
                self.perform_job(job, queue)
            finally:
                stop.set()
                beating.join(10)
            self.set_state(WorkerStatus.IDLE)

    return JobWorker, SimpleJobWorker


def preload(app) -> list[str]:
    """Load what every job would otherwise load again: the packages' worker hooks (ReportLab fonts,
    pyHanko, the signing identity). Returns what was loaded, for the log."""
    loaded = []
    with app.app_context():
        for hook in app.extensions.get("worker_preload", []):
            try:
                name = hook()
            except Exception:  # a missing signing key must not stop e-mail or export jobs
                app.logger.exception("worker preload hook failed")
                continue
            if name:
                loaded.append(name)
    return loaded


def make_worker(app, names: list[str], *, fork: bool = False, connection=None, **options):
    """A worker of `app` for the queues `names`, ready to `work()`."""
    JobWorker, SimpleJobWorker = _worker_classes()
    cls = JobWorker if fork else SimpleJobWorker
    connection = connection or redis_connection(app.config["REDIS_URL"])
    options.setdefault("job_monitoring_interval", int(app.config.get("JOB_HEARTBEAT_S") or 30))
    options.setdefault("maintenance_interval", int(app.config.get("JOB_MAINTENANCE_S") or 60))
    worker = cls(names, connection=connection, **options)
    worker.app = app
    worker.heartbeat_grace = int(app.config.get("JOB_HEARTBEAT_GRACE_S") or 60)
    return worker


def register_cli(app) -> None:
    import click

    @app.cli.command("worker")
    @click.option("--queues", default=",".join((DEFAULT_QUEUE, BULK_QUEUE)), show_default=True,
                  help="Comma-separated queue names, in priority order.")
    @click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
    @click.option("--fork", is_flag=True,
                  help="Fork a work horse per job from the warm worker (isolation per job, slower) instead of "
                       "running jobs in the worker process itself.")
    def worker_command(queues: str, burst: bool, fork: bool) -> None:
        """Run an RQ worker for the long jobs (needs REDIS_URL)."""
        import sys

        if not current_app.config.get("REDIS_URL"):
            click.echo("Lỗi: chưa đặt REDIS_URL; không có hàng đợi để xử lý (no REDIS_URL).", err=True)
            sys.exit(1)
        global _WORKER_APP
        names = [queue_name(name.strip()) for name in queues.split(",") if name.strip()]
        application = _WORKER_APP = current_app._get_current_object()
        began = time.perf_counter()
        loaded = preload(application)
        # What is loaded now lives as long as the worker: frozen, the garbage collector no longer walks it
        # in every collection (about 1 ms of each certificate, bench/jobs_bench.py), and work horses
        # forked from here do not copy its pages by touching them.
        import gc

        gc.collect()
        gc.freeze()
        click.echo(f"Worker: queues {', '.join(names)}; preloaded {', '.join(loaded) or 'nothing'} in "
                   f"{time.perf_counter() - began:.2f} s.", err=True)
        worker = make_worker(application, names, fork=fork)
        worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")

