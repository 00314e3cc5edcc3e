"""Long jobs on the queue (issue 18): certificates per second with 1 and 2 workers beside the warm
render+sign floor measured in the same run, roster imports of 10,000 and 100,000 rows (time and peak
memory), and the p99 of a quiz submit that earns a certificate, with and without the queue.

    .venv/bin/python bench/jobs_bench.py [--database postgresql://postgres@127.0.0.1:5432/ccs_jobs_bench]
        [--redis redis://127.0.0.1:6379/13] [--certificates 300] [--rows 10000,100000] [--submits 100]
        [--skip floor,workers,roster,submit]

It makes (and afterwards drops) its own PostgreSQL database, runs the production configuration with
a throwaway signing identity, and starts real workers (`flask --app training worker --burst`) as
subprocesses. Nothing here is a test: it prints figures.
"""
from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402


def log(text: str) -> None:
    print(text, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


# --------------------------------------------------------------------------- setup
def _admin_engine(url: str):
    from training.config import normalise_database_url

    return sa.create_engine(sa.engine.make_url(normalise_database_url(url)).set(database="postgres"),
                            isolation_level="AUTOCOMMIT")


def fresh_database(url: str) -> None:
    engine = _admin_engine(url)
    name = sa.engine.make_url(url).database
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def drop_database(url: str) -> None:
    engine = _admin_engine(url)
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.engine.make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


def environment(args, workdir: Path) -> dict:
    from certificates.signing import make_dev_identity

    key = workdir / "identity.p12"
    make_dev_identity(str(key), "bench-pass")
    return {
        "TRAINING_CONFIG": "production", "DATABASE_URL": args.database, "SECRET_KEY": secrets.token_hex(32),
        "RATELIMIT_STORAGE_URI": args.redis, "CERT_P12_PATH": str(key), "CERT_P12_PASSPHRASE": "bench-pass",
        "PUBLIC_BASE_URL": "https://congchucso.example.gov.vn", "JOB_QUEUE_PREFIX": f"bench-{os.getpid()}-",
        "FLASK_APP": "training",
    }


def seed(app, units: int = 100) -> dict:
    """Competencies, a city with `units` wards, one position requiring the core competencies."""
    from training.extensions import db
    from training.models import Competency, OrgUnit
    from training.services.competencies import seed_core_competencies
    from training.services.org import create_position, create_unit

    with app.app_context():
        seed_core_competencies()
        city = create_unit("BEN", "Thành phố Đo Đạc", "city", None)
        for n in range(units):
            create_unit(f"BEN-{n:04d}", f"Phường Đo Đạc {n:04d}", "ward", city)
        position = create_position("CV-DO", "Chuyên viên đo đạc")
        db.session.commit()
        ward_ids = list(db.session.scalars(sa.select(OrgUnit.id).where(OrgUnit.unit_type == "ward")))
        core = list(db.session.execute(sa.select(Competency.id, Competency.code).where(Competency.is_core)))
        return {"position_id": position.id, "ward_ids": ward_ids, "core": core}


def make_officials(app, world: dict, count: int, prefix: str, *, skip_code: str | None = None) -> list[int]:
    """`count` officials without passwords (bulk insert), holding every core competency but `skip_code`."""
    from training.extensions import db
    from training.models import CompetencyRecord, User, UserRole
    from training.services.demo import random_name
    from training.vntext import fold, name_sort_key

    rng = random.Random(prefix)
    now = datetime.now(timezone.utc)
    with app.app_context():
        rows = []
        for n in range(count):
            name = random_name(rng)
            rows.append({"email": f"{prefix}{n}@bench.example", "full_name": name, "sort_key": name_sort_key(name),
                         "search_name": fold(name), "unit_id": rng.choice(world["ward_ids"]),
                         "position_id": world["position_id"], "active": True, "must_change_password": False,
                         "created_at": now})
        ids = list(db.session.scalars(sa.insert(User).returning(User.id, sort_by_parameter_order=True), rows))
        db.session.execute(sa.insert(UserRole), [{"user_id": i, "role": "learner"} for i in ids])
        db.session.execute(sa.insert(CompetencyRecord), [
            {"user_id": i, "competency_id": competency_id, "achieved_at": now - timedelta(days=20),
             "expires_at": now + timedelta(days=300), "score": 90.0}
            for i in ids for competency_id, code in world["core"] if code != skip_code])
        db.session.commit()
        return ids


# --------------------------------------------------------------------------- 1. the warm floor
def floor(env: dict, count: int) -> float:
    """render_certificate + sign_pdf in one warm process, the key parsed once, the loaded heap frozen as a
    worker's is: certificates per second."""
    sys.path.insert(0, str(ROOT / "bench"))
    from certificates.pdf import render_certificate
    from certificates.signing import sign_pdf
    from pdf_bench import certificate_data

    def one(n: int) -> None:
        sign_pdf(render_certificate(certificate_data(n)), env["CERT_P12_PATH"], env["CERT_P12_PASSPHRASE"],
                 reason="Chứng nhận công chức số", location="Thành phố Hồ Chí Minh", signer_name="Nguyễn Văn Thử")

    import gc

    for n in range(5):
        one(n)  # warm: fonts, pyHanko, the signer
    # As warm as a worker, which freezes what it loaded at start (training/jobs.py): the collector does
    # not walk this process's app and libraries in every collection either.
    gc.collect()
    gc.freeze()
    try:
        began = time.perf_counter()
        for n in range(count):
            one(1000 + n)
        return count / (time.perf_counter() - began)
    finally:
        gc.unfreeze()


# --------------------------------------------------------------------------- 2. workers
def workers_run(app, world: dict, env: dict, count: int, workers: int, prefix: str, extra=()) -> dict:
    from certificates.issuing import queue_issue_for_everyone
    from certificates.models import Certificate
    from training.extensions import db
    from training.models import Job

    ids = make_officials(app, world, count, prefix)
    with app.app_context():
        parent = queue_issue_for_everyone(batch_size=20)
        parent_id = parent.id
    began = time.perf_counter()
    # Long-running workers (not --burst), stopped once the run is finished: a batch retried after a
    # failure waits in RQ's scheduled registry, which a burst worker would leave behind.
    logs = [tempfile.TemporaryFile() for _ in range(workers)]
    processes = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "training", "worker", *extra],
                                  cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log_file)
                 for log_file in logs]
    state = "running"
    deadline = time.monotonic() + 3600
    while state in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
        with app.app_context():
            state = db.session.scalar(sa.select(Job.state).where(Job.id == parent_id))
    wall = time.perf_counter() - began
    for process in processes:
        process.terminate()
        process.wait(60)
    with app.app_context():
        first, last, made = db.session.execute(sa.select(sa.func.min(Certificate.issued_at),
                                                         sa.func.max(Certificate.issued_at),
                                                         sa.func.count(Certificate.id))
                                               .where(Certificate.user_id.in_(ids))).one()
        retried = db.session.execute(sa.select(Job.attempts, Job.error).where(
            Job.parent_id == parent_id, Job.attempts > 1)).all()
    for attempts, error in retried:
        log(f"  lô chạy {attempts} lần: {error[:300]}")
    if state != "done":
        for log_file in logs:
            log_file.seek(0)
            log(log_file.read().decode(errors="replace")[-3000:])
    steady = (made - 1) / max((last - first).total_seconds(), 1e-9)
    return {"workers": workers, "certificates": made, "wall_s": wall, "per_s_wall": made / wall,
            "per_s_steady": steady, "state": state, "retried": len(retried)}


# --------------------------------------------------------------------------- 3. roster import
def roster_file(path: Path, rows: int, world_codes: list[str]) -> None:
    from training.services.demo import random_name

    rng = random.Random(rows)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("Họ và tên,Email,Mã đơn vị,Mã vị trí việc làm,Vai trò\n")
        for n in range(rows):
            handle.write(f"{random_name(rng)},ds{rows}-{n}@bench.example,{rng.choice(world_codes)},CV-DO,learner\n")


# Runs the flask command in this process and reports the process's own peak memory when it ends.
PEAK_WRAPPER = ("import resource, runpy, sys\n"
                "sys.argv = ['flask'] + sys.argv[1:]\n"
                "try:\n    runpy.run_module('flask', run_name='__main__')\n"
                "finally:\n    print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n")


def flask_peak(env: dict, *arguments: str) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run `flask --app training ARGUMENTS` in a subprocess: (result, seconds, peak memory in MB)."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, "--app", "training", *arguments], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True)
    wall = time.perf_counter() - began
    peak = next((int(line.split()[1]) for line in done.stderr.decode(errors="replace").splitlines()
                 if line.startswith("PEAK_KB")), 0)
    return done, wall, peak / 1024


def roster_run(env: dict, path: Path, links: Path) -> dict:
    """`flask roster import FILE --links-out` in a subprocess: wall time and its peak memory."""
    done, wall, peak = flask_peak(env, "roster", "import", str(path), "--links-out", str(links))
    if done.returncode:
        log(done.stderr.decode(errors="replace")[-2000:])
    return {"wall_s": wall, "peak_mb": peak, "ok": done.returncode == 0,
            "output": done.stdout.decode(errors="replace").strip().splitlines()[:1]}


# --------------------------------------------------------------------------- 4. quiz submit p99
def make_quiz(app, code: str):
    from quizzes.bank import create_question, ensure_category
    from quizzes.models import Quiz, QuizRule
    from quizzes.qdata import QuestionData
    from training.extensions import db
    from training.models import Competency

    with app.app_context():
        competency = db.session.scalar(sa.select(Competency).where(Competency.code == code))
        category = ensure_category(["Đo đạc", code], competency=competency)
        for n in range(1, 13):
            create_question(category, QuestionData(qtype="single", name=f"Câu {n}", text=f"Câu hỏi {n}?", data={
                "shuffle": True, "options": [
                    {"id": "o1", "text": f"Đúng {n}", "format": "moodle", "fraction": 1.0, "feedback": ""},
                    {"id": "o2", "text": f"Sai {n}", "format": "moodle", "fraction": 0.0, "feedback": ""}]}))
        quiz = Quiz(title="Kiểm tra đo đạc", competency=competency, status="published", pass_percent=70.0,
                    time_limit_s=1800, max_attempts=3, questions_per_page=5, review_correctness="after_submit",
                    review_right_answers="after_close", review_feedback="after_submit")
        quiz.rules.append(QuizRule(position=1, category=category, count=10, mark=1.0))
        db.session.add(quiz)
        db.session.commit()
        return quiz.id


def submits(app, world: dict, count: int, prefix: str, queue_on: bool, redis: str | None) -> list[float]:
    """Seconds per submit of an attempt that completes an official's set (so it earns the certificate)."""
    from training.extensions import db
    from training.models import User
    from training.services.sessions import create_api_token

    code = world["core"][0][1]
    quiz_id = world.setdefault("quiz_id", make_quiz(app, code))
    ids = make_officials(app, world, count, prefix, skip_code=code)
    app.config["REDIS_URL"] = redis if queue_on else None
    tokens = []
    with app.app_context():
        for user_id in ids:
            tokens.append(create_api_token(db.session.get(User, user_id), name="bench")[0])
        db.session.commit()
    client = app.test_client()
    times = []
    for token in tokens:
        headers = {"Authorization": f"Bearer {token}"}
        payload = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers).get_json()
        for question in payload["questions"]:
            right = next(o["id"] for o in question["options"] if o["text"].startswith("Đúng"))
            client.put(f"/api/v1/attempts/{payload['attempt_id']}/answers/{question['slot']}", headers=headers,
                       json={"response": right})
        began = time.perf_counter()
        result = client.post(f"/api/v1/attempts/{payload['attempt_id']}/submit", headers=headers).get_json()
        times.append(time.perf_counter() - began)
        assert result["passed"], result
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/ccs_jobs_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--certificates", type=int, default=300, help="certificates per worker run")
    parser.add_argument("--floor-count", type=int, default=100)
    parser.add_argument("--rows", default="10000,100000")
    parser.add_argument("--submits", type=int, default=100)
    parser.add_argument("--skip", default="")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--fork", action="store_true", help="workers fork a work horse per job")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    workdir = Path(tempfile.mkdtemp(prefix="ccs-jobs-bench-"))
    fresh_database(args.database)
    env = environment(args, workdir)
    os.environ.update(env)
    from training import create_app
    from training.cli import run_migrations

    app = create_app("production")
    with app.app_context():
        run_migrations()
    world = seed(app)
    log(f"Máy: {os.cpu_count()} lõi; PostgreSQL {args.database}; Redis {args.redis}")
    report = {}
    try:
        if "floor" not in skip:
            report["floor"] = floor(env, args.floor_count)
            log(f"Sàn render + ký (1 tiến trình ấm, khóa phân tích 1 lần): {report['floor']:.1f} giấy/giây")
        if "workers" not in skip:
            env_queue = {**env, "REDIS_URL": args.redis}
            app.config["REDIS_URL"] = args.redis
            for workers in (1, 2):
                run = workers_run(app, world, env_queue, args.certificates * workers, workers, f"w{workers}-",
                                  ("--fork",) if args.fork else ())
                report[f"workers{workers}"] = run
                ratio = run["per_s_steady"] / report["floor"] if "floor" in report else float("nan")
                log(f"{workers} worker: {run['certificates']} giấy trong {run['wall_s']:.1f} s (kể cả khởi động): "
                    f"{run['per_s_wall']:.1f}/s; ổn định {run['per_s_steady']:.1f}/s = {ratio:.2f}× sàn "
                    f"({ratio / workers:.2f}× mỗi worker); việc cha: {run['state']}")
            if "floor" in report:
                total = 56_864
                log(f"56.864 giấy với 2 worker (tốc độ ổn định): ~{total / report['workers2']['per_s_steady'] / 60:.0f} "
                    f"phút")
            app.config["REDIS_URL"] = None
        if "roster" not in skip:
            codes = [f"BEN-{n:04d}" for n in range(100)]
            tiny = workdir / "roster-tiny.csv"
            roster_file(tiny, 1, codes)
            _done, _wall, baseline = flask_peak(env, "roster", "import", str(tiny), "--dry-run")
            log(f"Bộ nhớ của lệnh với tệp 1 dòng (chỉ kiểm tra): {baseline:.0f} MB")
            for rows in (int(r) for r in args.rows.split(",") if r):
                path = workdir / f"roster-{rows}.csv"
                roster_file(path, rows, codes)
                run = roster_run(env, path, workdir / f"links-{rows}.csv")
                log(f"Nhập danh sách {rows:,} dòng: {run['wall_s']:.1f} s, bộ nhớ đỉnh "
                    f"{run['peak_mb']:.0f} MB, {'được' if run['ok'] else 'LỖI'} {run['output']}")
                report[f"roster{rows}"] = run
        if "submit" not in skip:
            for queue_on in (False, True):
                times = submits(app, world, args.submits, f"s{int(queue_on)}-", queue_on, args.redis)
                label = "có hàng đợi" if queue_on else "không hàng đợi (cấp ngay trong yêu cầu)"
                log(f"Nộp bài đạt giấy chứng nhận, {label}: p50 {statistics.median(times) * 1000:.0f} ms, "
                    f"p99 {percentile(times, 99) * 1000:.0f} ms ({len(times)} lần)")
    finally:
        from redis import Redis

        connection = Redis.from_url(args.redis)
        for key in connection.scan_iter(f"*{env['JOB_QUEUE_PREFIX']}*"):
            connection.delete(key)
        with app.app_context():
            from training.extensions import db

            db.engine.dispose()
        if not args.keep:
            drop_database(args.database)


if __name__ == "__main__":
    main()
