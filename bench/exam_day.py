"""Exam day for a city (issue 16): one command measures the attempt API beside its floors, in one run.

    .venv/bin/python bench/exam_day.py --quick                  # 6-8 minutes
    .venv/bin/python bench/exam_day.py --quick --fault          # plus kill -9 of a worker and a restart
    .venv/bin/python bench/exam_day.py --learners 10000 --window 60 --think 30-90

What it does, all on this machine (loopback only; database and Redis URLs must be local too):
1. Sets up PostgreSQL database ccs_exam (reused between runs; --fresh drops and recreates it) with
   `flask setup --demo` and `flask generate`, which gives every generated official an API token.
2. Starts three real gunicorns with the repository's gunicorn.conf.py (--workers/--threads override
   it): the app `training:create_app()` in its production configuration, and two floors from bench/,
   floor_insert (one committed INSERT per write) and floor_json (constant JSON).
3. Runs the exam-day scenario against the app: N learners each list the quizzes, start the quiz at a
   random moment in the start window, save every answer after a think time, save some answers again,
   submit and read the attempt back; every acknowledged answer must come back as acknowledged.
   Then the same scenario against each floor, then a closed-loop capacity test of each (the ratios
   issue 16 asks for), then with --fault the scenario again with a worker killed and the server
   restarted while it runs.
4. Prints the tables and writes everything to JSON (--out; default bench/out/exam_day-<time>.json),
   with the servers' logs beside it.
Every phase has a deadline; the run stops by itself. See bench/README.md, "Exam day".
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import http.client
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from exam_client import (KINDS, Learner, Pool, Scenario, Stats, ExamDay, Verdict, closed_loop,  # noqa: E402
                         peak_rate, read_back_all, summarise)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
HOST = "127.0.0.1"
PASSWORD = "Load-test-2025"
QUESTIONS = 20           # the demo quizzes draw 20 questions (quizzes/cli.py)
TOKEN_DAYS = 7           # API_TOKEN_DAYS: generated tokens expire after this
QUICK = {"learners": 300, "window": 20.0, "think": "1-3", "capacity_seconds": 8.0, "capacity_accounts": 600,
         "capacity_rounds": 3}
SITTING_ACCOUNTS = 3  # the start-in-a-sitting capacity test takes this many times --capacity-accounts
FULL = {"learners": 10000, "window": 60.0, "think": "30-90", "capacity_seconds": 15.0, "capacity_accounts": 4500,
        "capacity_rounds": 5}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def local_url(url: str, what: str) -> str:
    host = urlsplit(url).hostname
    if host not in LOCAL_HOSTS:
        sys.exit(f"{what} must be on this machine (127.0.0.1, localhost or ::1), not {host!r}: "
                 "a load test never leaves the machine.")
    return url


# --------------------------------------------------------------------------- /proc
def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


TICK = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, list[str]]:
    found = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat(int(name))
            if fields:
                found[int(name)] = fields
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _cpu(fields: list[str], children: bool = False) -> float:
    """utime + stime (and cutime + cstime: children reaped) in seconds, from /proc/<pid>/stat."""
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / TICK


class CpuMeter:
    """CPU used during a window by the server under test, PostgreSQL, Redis and this load client.

    The server: the gunicorn master with its reaped children (a worker recycled by max_requests, or
    killed, lands in the master's cutime) plus its live workers, read at both ends. PostgreSQL: the
    backends connected to the bench database, sampled every second while the window is open, so
    that a backend that exits (its worker was recycled) keeps what it had used at the last sample.
    """

    def __init__(self, master: int | None, database: str) -> None:
        self.master, self.database = master, database
        self.kinds: dict[int, str] = {}
        self.base: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.task: asyncio.Task | None = None

    def _server(self) -> dict[int, float]:
        procs = _processes()
        if self.master not in procs:
            return {}
        found = {self.master: _cpu(procs[self.master], children=True)}
        found.update({pid: _cpu(f) for pid, f in procs.items() if int(f[1]) == self.master})
        return found

    def _sample(self, first: bool = False) -> None:
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid not in self.kinds or not self.kinds[pid]:  # a new backend may not have its title yet
                line = _cmdline(pid)
                self.kinds[pid] = "postgres" if line.startswith("postgres: ") and f" {self.database} " in line \
                    else "redis" if line.startswith("redis-server") else ""
            if self.kinds[pid]:
                fields = _stat(pid)
                if fields:
                    self.last[pid] = _cpu(fields)
                    self.base.setdefault(pid, self.last[pid] if first else 0.0)

    async def _sampling(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self._sample()

    def begin(self) -> None:
        self.began, self.client = time.monotonic(), time.process_time()
        self.server_before = self._server()
        self._sample(first=True)
        self.task = asyncio.get_running_loop().create_task(self._sampling())

    def stop(self) -> None:
        self.task.cancel()
        self._sample()
        self.wall = time.monotonic() - self.began
        server_after = self._server()
        self.by_process = {pid: cpu - self.server_before.get(pid, 0.0) for pid, cpu in server_after.items()}
        self.used = {"server": sum(server_after.values()) - sum(self.server_before.values()),
                     "client": time.process_time() - self.client}
        for kind in ("postgres", "redis"):
            self.used[kind] = sum(self.last[pid] - self.base[pid] for pid in self.last if self.kinds.get(pid) == kind)

    def report(self, requests: int) -> dict:
        used, wall, by_process = self.used, self.wall, self.by_process
        per = lambda seconds: round(seconds * 1000 / requests, 2) if requests else None  # noqa: E731
        return {"requests": requests, **{f"{k}_ms_per_request": per(v) for k, v in used.items()},
                **{f"{k}_cores_busy": round(v / wall, 2) for k, v in used.items()},
                "server_ms_per_request_by_process": {str(pid): per(v) for pid, v in by_process.items()},
                "server_master": str(self.master),
                "note": "server: master (with reaped workers) and live workers; postgres: backends of the bench "
                        "database; redis: the whole redis-server (shared with others on the machine)"}


# --------------------------------------------------------------------------- servers
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def gunicorn_settings(env: dict, workers: int | None, threads: int | None) -> dict:
    """What gunicorn.conf.py gives in this environment, with the command line's overrides."""
    values: dict = {}
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        exec(compile((ROOT / "gunicorn.conf.py").read_text(encoding="utf-8"), "gunicorn.conf.py", "exec"), values)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {"workers": workers or values.get("workers"), "threads": threads or values.get("threads"),
            "worker_class": values.get("worker_class"), "timeout": values.get("timeout"),
            "keepalive": values.get("keepalive"), "max_requests": values.get("max_requests"),
            "accesslog": values.get("accesslog")}


class Server:
    """One gunicorn with the repository's gunicorn.conf.py, in its own process group."""

    def __init__(self, name: str, spec: str, env: dict, options, log_dir: Path) -> None:
        self.name, self.spec, self.env = name, spec, env
        self.port = free_port()
        self.flags = (["--workers", str(options.workers)] if options.workers else []) + \
                     (["--threads", str(options.threads)] if options.threads else [])
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "a", encoding="utf-8")
        # --no-control-socket: gunicorn 27 otherwise shares one socket path (~/.gunicorn/gunicorn.ctl)
        # with every other gunicorn on the machine.
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"{HOST}:{self.port}",
             "--no-control-socket", *self.flags, self.spec],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def wait_ready(self, limit: float = 90.0) -> float:
        began = time.monotonic()
        while time.monotonic() - began < limit:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log_path}:\n"
                                   + self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:])
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200 and len(self.workers()) >= 1:
                    conn.close()
                    return time.monotonic() - began
                conn.close()
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {limit:.0f} s; see {self.log_path}")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def workers(self) -> list[int]:
        return sorted(pid for pid, f in _processes().items() if int(f[1]) == self.pid)

    def stop(self, graceful: float = 40.0) -> None:
        if not self.process or self.process.poll() is not None:
            return
        try:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=graceful)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass

    def restart(self) -> dict:
        """SIGTERM the master (graceful: workers finish what they hold), start again, wait for /healthz."""
        began = time.monotonic()
        self.stop()
        stopped = time.monotonic()
        self.start()
        self.wait_ready()
        return {"stop_s": round(stopped - began, 2), "start_s": round(time.monotonic() - stopped, 2)}


# --------------------------------------------------------------------------- database and tokens
def flask(args: list[str], env: dict, log: Path) -> str:
    result = subprocess.run([str(BIN / "flask"), "--app", "training", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=1800)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"$ flask {' '.join(args)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        sys.exit(f"flask {' '.join(args[:2])} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout


def read_tokens(path: Path) -> list[tuple[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return [(row[0], row[1]) for row in rows[1:] if len(row) >= 2 and row[1]]


class Database:
    """The bench database and its tokens, reused between runs: each run takes tokens nobody used."""

    def __init__(self, url: str, env: dict, log: Path) -> None:
        self.url, self.env, self.log = url, env, log
        parts = urlsplit(url)
        self.name = parts.path.lstrip("/")
        self.admin = urlunsplit(parts._replace(path="/postgres"))
        self.state_path = OUT / f"exam_day-{self.name}.json"
        self.tokens_path = OUT / f"exam_day-{self.name}-tokens.csv"

    def _admin(self, statement: str):
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.admin, autocommit=True) as conn:
            if statement == "exists":
                return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.name,)).fetchone()
            conn.execute(sql.SQL(statement).format(sql.Identifier(self.name)))

    def prepare(self, fresh: bool, needed: int) -> None:
        state = json.loads(self.state_path.read_text()) if self.state_path.exists() else None
        exists = self._admin("exists")
        stale = datetime.now(timezone.utc) - timedelta(days=TOKEN_DAYS - 1)
        if state and datetime.fromisoformat(state["created"]) < stale:
            say(f"The tokens of {self.name} expire within a day (API_TOKEN_DAYS): recreating the database.")
            fresh = True
        if exists and not state and not fresh:
            sys.exit(f"Database {self.name} exists but this script did not make it ({self.state_path} is missing): "
                     "pass --fresh to drop and recreate it, or another --database-url.")
        if exists and state and self.tokens_path.exists() and not fresh and not self._tokens_known():
            say(f"The tokens in {self.tokens_path} are not those of database {self.name}: recreating it.")
            fresh = True
        if not (exists and state and self.tokens_path.exists()) or fresh:
            say(f"Creating database {self.name} (setup --demo, generate {needed} officials with tokens)…")
            if exists:
                self._admin("DROP DATABASE {} WITH (FORCE)")
            self._admin("CREATE DATABASE {}")
            began = time.monotonic()
            flask(["setup", "--demo"], self.env, self.log)
            flask(["generate", "--units", "50", "--officials", str(needed), "--password", PASSWORD,
                   "--tokens-out", str(self.tokens_path), "--seed", "1"], self.env, self.log)
            state = {"database": self.url, "created": datetime.now(timezone.utc).isoformat(), "next": 0,
                     "setup_s": round(time.monotonic() - began, 1)}
            self.save(state)
        else:
            flask(["setup"], self.env, self.log)  # upgrade a reused database to the code's schema
        tokens = read_tokens(self.tokens_path)
        if len(tokens) - state["next"] < needed:
            more = needed - (len(tokens) - state["next"])
            say(f"Adding {more} officials with tokens to {self.name}…")
            partial = OUT / f"exam_day-{self.name}-more.csv"
            flask(["generate", "--append", "--units", "0", "--officials", str(more), "--password", PASSWORD,
                   "--tokens-out", str(partial), "--seed", str(len(tokens) + 1)], self.env, self.log)
            with open(self.tokens_path, "a", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerows(read_tokens(partial))
            partial.unlink()
        self.state = state

    def _tokens_known(self) -> bool:
        """Whether the token file belongs to this database (it may have been recreated by hand)."""
        import hashlib

        import psycopg

        tokens = read_tokens(self.tokens_path)
        if not tokens:
            return False
        sample = [hashlib.sha256(t.encode()).hexdigest() for _, t in (tokens[0], tokens[-1])]
        try:
            with psycopg.connect(self.url) as conn:
                found = conn.execute("SELECT count(*) FROM api_tokens WHERE token_hash = ANY(%s)", (sample,)).fetchone()
        except psycopg.Error:
            return False
        return found[0] == len(set(sample))

    def _timed(self, statement: str) -> float:
        """Run one statement outside a transaction on the bench database; the seconds it took."""
        import psycopg

        began = time.monotonic()
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(statement)
        return time.monotonic() - began

    def checkpoint(self) -> float | None:
        """A CHECKPOINT, so that no checkpoint falls due inside the next measured window (checkpoint_timeout
        counts from this one) and every test starts from the same state: each pays the full-page writes of
        the pages it touches first. The seconds it took; None when the bench's user may not checkpoint."""
        import psycopg

        try:
            return round(self._timed("CHECKPOINT"), 2)
        except psycopg.Error as error:
            say(f"CHECKPOINT refused ({error.diag.message_primary}); measuring without it")
            return None

    def vacuum(self) -> float:
        """VACUUM (ANALYZE) the whole bench database; the seconds it took."""
        return round(self._timed("VACUUM (ANALYZE)"), 1)

    def save(self, state: dict) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        self.state_path.write_text(json.dumps(state, indent=1))

    def take(self, count: int) -> list[tuple[str, str]]:
        """`count` tokens never used by an earlier run (their officials have all three attempts left)."""
        tokens = read_tokens(self.tokens_path)[self.state["next"]:self.state["next"] + count]
        self.state["next"] += len(tokens)
        self.save(self.state)
        return tokens

    def audit(self, on: bool) -> None:
        """Install the write log (idempotent) and switch it on or off; off also empties it."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(AUDIT_SQL)
            conn.execute("TRUNCATE bench_slot_writes")
            conn.execute(f"ALTER TABLE attempt_slots {'ENABLE' if on else 'DISABLE'} TRIGGER bench_slot_write")

    def writes(self, table: str, attempt_ids: list[int]) -> dict:
        """(attempt_id, slot) → the saved_at of every write: from the app's write log, or from the insert
        floor's own rows."""
        import psycopg

        landed: dict = {}
        with psycopg.connect(self.url) as conn:
            for attempt_id, slot, saved_at in conn.execute(
                    f"SELECT attempt_id, slot, saved_at FROM {table} WHERE attempt_id = ANY(%s)", (attempt_ids,)):
                landed.setdefault((attempt_id, slot), []).append(saved_at)
        return landed

    def attempts_since(self, quiz_id: int, since: datetime, emails: list[str]) -> set[int]:
        import psycopg

        with psycopg.connect(self.url) as conn:
            rows = conn.execute("SELECT a.id FROM attempts a JOIN users u ON u.id = a.user_id "
                                "WHERE a.quiz_id = %s AND a.started_at >= %s AND u.email = ANY(%s)",
                                (quiz_id, since, emails)).fetchall()
        return {row[0] for row in rows}


# Every write of an answer, logged by the database itself (a trigger in the bench database only), so
# that a save the client gave up on is seen even when a later save overwrote it. Disabled during the
# capacity test; its cost is on PostgreSQL's side (one small INSERT per save), not the app's.
AUDIT_SQL = """
CREATE TABLE IF NOT EXISTS bench_slot_writes (
    id bigserial PRIMARY KEY, attempt_id integer NOT NULL, slot integer NOT NULL, saved_at timestamptz);
CREATE OR REPLACE FUNCTION bench_slot_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.saved_at IS DISTINCT FROM OLD.saved_at THEN
        INSERT INTO bench_slot_writes (attempt_id, slot, saved_at) VALUES (NEW.attempt_id, NEW.slot, NEW.saved_at);
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS bench_slot_write ON attempt_slots;
CREATE TRIGGER bench_slot_write AFTER UPDATE ON attempt_slots FOR EACH ROW EXECUTE FUNCTION bench_slot_write();
"""


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_timeout=5).flushdb()  # only this bench's own database number


# --------------------------------------------------------------------------- phases
def make_learners(tokens, options, seed: str) -> list[Learner]:
    rng = random.Random(seed)
    return [Learner(i, email, token, random.Random(f"{seed}:{i}"), start_at=rng.uniform(0, options.window))
            for i, (email, token) in enumerate(tokens)]


def scenario_limits(options) -> tuple[float, float]:
    """(expected seconds of the slowest learners, deadline after which nothing new is sent)."""
    steps = QUESTIONS * (1 + options.resave) + 1
    expected = options.window + steps * sum(options.think_range) / 2
    deadline = options.window + steps * options.think_range[1] * 1.15 + 2 * options.timeout + 30
    return expected, deadline


async def progress(label: str, exam: ExamDay, stats: Stats, total: int, every: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every)
        ok = {k: stats.ok_count(k) for k in ("start", "save", "submit")}
        failed = sum(sum(n for o, n in c.items() if not o.isdigit() or int(o) >= 400) for c in stats.outcomes.values())
        say(f"  {label} {loop.time() - stats.t0:5.0f} s: {exam.done}/{total} learners done, "
            f"starts {ok['start']}, saves {ok['save']}, submits {ok['submit']}, failed requests {failed}")


async def run_exam(label: str, server: Server, tokens, options, quiz_id: int, *, verify: bool,
                   database: Database, check_db: bool = False, fault: bool = False) -> dict:
    loop = asyncio.get_running_loop()
    expected, limit = scenario_limits(options)
    t0 = loop.time()
    wall_began = datetime.now(timezone.utc) - timedelta(seconds=1)
    stats = Stats(t0)
    learners = make_learners(tokens, options, f"{options.seed}:{label}")
    scenario = Scenario(quiz_id, options.window, options.think_range, options.resave, options.timeout,
                        options.max_tries, options.on_timeout, not options.list_once, verify, t0 + limit)
    pool = Pool(HOST, server.port, options.connections)
    exam = ExamDay(pool, scenario, learners, stats)
    say(f"{label}: {len(learners)} learners on {options.connections} connections, about {expected:.0f} s "
        f"(at most {limit + 2 * options.timeout + 10:.0f} s)")
    meter = CpuMeter(server.pid, database.name)
    meter.begin()
    watcher = asyncio.create_task(progress(label, exam, stats, len(learners)))
    events: list[dict] = []
    faults = asyncio.create_task(inject_faults(server, t0, expected, events)) if fault else None
    tasks = [asyncio.create_task(exam.learner(learner)) for learner in learners]
    _, pending = await asyncio.wait(tasks, timeout=limit + 2 * options.timeout + 10)
    for task in pending:
        task.cancel()
    if faults:
        await faults
    watcher.cancel()
    meter.stop()
    wall = loop.time() - t0
    answered = sum(n for c in stats.outcomes.values() for o, n in c.items() if o.isdigit())
    result = {"target": label, "server": server.spec, "learners": len(learners), "wall_s": round(wall, 1),
              "kinds": summarise(stats), "unfinished_learners": len(pending),
              "connections_opened": pool.opened,
              "starts_per_s": _rate(stats, "start"), "saves_per_s": _rate(stats, "save"),
              "peak_starts_per_s_10s": peak_rate(stats, "start"), "peak_saves_per_s_10s": peak_rate(stats, "save"),
              "starts_created": sum(1 for x in learners if x.created),
              "starts_resumed": sum(1 for x in learners if x.created is False),
              "starts_resumed_after_a_failed_try": exam.resumed_after_failure,
              "learners_failed": _count(x.failure for x in learners if x.failure),
              "learners_submitted": sum(x.submitted for x in learners),
              "timeline": {str(s): dict(c) for s, c in sorted(stats.timeline.items())},
              "error_examples": stats.examples}
    if not fault:  # a restarted master forgets its children's CPU
        result["cpu"] = meter.report(answered)
    if label == "app" or fault:
        result["healthz_after_ms"] = await healthz_ms(server.port, 120)
    if fault:
        result["faults"] = fault_report(events, stats)
    if verify:
        again = [x for x in learners if x.attempt_id is not None and (fault or x.readback is None)]
        if again:
            say(f"  reading back {len(again)} attempts" + (" after the faults" if fault else ""))
            vstats = Stats(loop.time())
            vpool = Pool(HOST, server.port, 8)
            await read_back_all(vpool, again, options.timeout, loop.time() + 120 + len(again) / 20, vstats)
            vpool.close()
            result["verify_requests"] = summarise(vstats, ("verify",)).get("verify")
        verdict = Verdict()
        table = {"app": "bench_slot_writes", "fault": "bench_slot_writes",
                 "floor_insert": "bench_floor_answers"}.get(label) if options.write_log else None
        landed = database.writes(table, [x.attempt_id for x in learners if x.attempt_id is not None]) \
            if table else None
        for learner in learners:
            if landed is not None and learner.attempt_id is not None:
                verdict.writes(learner, landed)
            if learner.attempt_id is not None:
                if learner.readback is None:
                    verdict.counts["attempts not read back"] += 1
                    verdict.counts["answers not checked"] += sum(1 for s in learner.log.values()
                                                                 if any(e.outcome == "200" for e in s))
                else:
                    verdict.check(learner, learner.readback)
        result["answers"] = dict(sorted(verdict.counts.items()))
        result["answer_examples"] = verdict.examples
        result["lost_acknowledged"] = verdict.counts["lost acknowledged answer"]
        result["stored_after_give_up"] = verdict.counts["stored after the client gave up"] if landed is not None \
            else None
        result["final_value_from_given_up_request"] = verdict.counts["final value from a request given up on"]
    if check_db:
        in_db = database.attempts_since(quiz_id, wall_began, [x.email for x in learners])
        told = {x.attempt_id for x in learners if x.attempt_id is not None}
        result["attempts_in_db"] = len(in_db)
        result["attempts_nobody_was_told_about"] = len(in_db - told)
    pool.close()
    return result


def _rate(stats: Stats, kind: str) -> float | None:
    span = stats.last_ok.get(kind, 0) - stats.first_sent.get(kind, 0)
    return round(stats.ok_count(kind) / span, 2) if span > 0 else None


def _count(values) -> dict:
    out: dict = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return out


async def healthz_ms(port: int, limit: float) -> float | None:
    pool = Pool(HOST, port, 1)
    reply = await pool.request("GET", "/healthz", timeout=limit)
    pool.close()
    return round(reply.latency * 1000, 1) if reply.status == 200 else None


async def inject_faults(server: Server, t0: float, expected: float, events: list[dict]) -> None:
    """kill -9 of one worker at 35 % of the run, a full restart (SIGTERM, start) at 65 %."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, t0 + 0.35 * expected - loop.time()))
    workers = server.workers()
    if workers:
        victim = random.Random(1).choice(workers)
        at = loop.time()
        os.kill(victim, signal.SIGKILL)
        while loop.time() - at < 60:
            now = server.workers()
            if victim not in now and len(now) >= len(workers):
                break
            await asyncio.sleep(0.1)
        events.append({"what": "kill -9 of one worker", "pid": victim, "at_s": round(at - t0, 1),
                       "replaced_after_s": round(loop.time() - at, 2), "_at": at, "_end": loop.time()})
        say(f"  fault: killed worker {victim} at {at - t0:.0f} s")
    await asyncio.sleep(max(0.0, t0 + 0.65 * expected - loop.time()))
    at = loop.time()
    say(f"  fault: restarting the server at {at - t0:.0f} s")
    timing = await asyncio.to_thread(server.restart)
    events.append({"what": "full restart (SIGTERM the master, start again)", "at_s": round(at - t0, 1), **timing,
                   "_at": at, "_end": loop.time()})
    say(f"  fault: server back after {loop.time() - at:.1f} s")


def fault_report(events: list[dict], stats: Stats) -> list[dict]:
    """Failed requests that ended between a fault and 5 s after the server was whole again (or the next
    fault)."""
    report = []
    for n, event in enumerate(events):
        until = min([event["_end"] + 5] + [e["_at"] for e in events[n + 1:]])
        failed = [f for f in stats.failures if event["_at"] <= f[3] <= until]
        report.append({**{k: v for k, v in event.items() if not k.startswith("_")},
                       "failed_requests": len(failed), "failed_by_outcome": _count(f"{f[0]} {f[1]}" for f in failed)})
    return report


RATIO_KINDS = {"save": "app save PUT", "start": "app start POST", "sitting_start": "app start in a sitting POST"}
TARGETS = {"save_throughput_vs_insert_floor": 0.7, "start_throughput_vs_insert_floor": 0.3}


def _ratio(a, b):
    return round(a / b, 3) if a and b else None


def round_ratios(figures: dict) -> dict:
    """The app's throughput and server CPU per request against the insert floor measured in the same round."""
    floor = figures["floor_insert PUT"]
    ratios = {}
    for short, name in RATIO_KINDS.items():
        if name in figures:
            ratios[f"{short}_throughput_vs_insert_floor"] = _ratio(figures[name]["req_per_s"], floor["req_per_s"])
            ratios[f"{short}_cpu_vs_insert_floor"] = _ratio(figures[name]["cpu"]["server_ms_per_request"],
                                                            floor["cpu"]["server_ms_per_request"])
    return ratios


def median_ratios(rounds: list[dict]) -> dict:
    """Each ratio's median over the rounds that measured it, and every round's value beside it."""
    keys = sorted({key for one in rounds for key in one["ratios"]})
    medians = {}
    for key in keys:
        values = [one["ratios"][key] for one in rounds if one["ratios"].get(key) is not None]
        medians[key] = statistics.median(values) if values else None
        medians[f"{key}_rounds"] = values
    medians["targets"] = TARGETS
    return medians


async def run_capacity(servers: dict, database: Database, options, quiz_id: int) -> dict:
    """Closed loop at the same concurrency against each server: the throughput and CPU per request.

    The database is vacuumed and analysed first (this machine's PostgreSQL may run without autovacuum,
    and the scenario has just written tens of thousands of rows). Then --capacity-rounds rounds each
    measure the insert floor, the app's start and the app's save back to back, so that each ratio
    compares figures taken side by side; the report gives every round's ratio and the median."""
    results = {"rounds": []}
    concurrency, warmup, seconds = options.capacity_concurrency, options.capacity_warmup, options.capacity_seconds
    say("capacity: VACUUM (ANALYZE) of the bench database first")
    results["vacuum_s"] = database.vacuum()

    async def measure(name: str, server: Server, next_request, on_reply=lambda req, rep: None,
                      warmup: float = warmup) -> dict:
        pool = Pool(HOST, server.port, concurrency)
        meter = CpuMeter(server.pid, database.name)

        def hook(begin: bool):
            if begin:
                meter.begin()
            else:
                meter.stop()

        checkpoint = database.checkpoint()
        say(f"capacity: {name}, {concurrency} concurrent, {warmup:.0f} s warm-up + {seconds:.0f} s")
        figures = await closed_loop(pool, concurrency, warmup, seconds, next_request, on_reply, options.timeout, hook)
        pool.close()
        # Per acknowledged request: cheap refusals (503) must not make the useful work look cheaper.
        figures["cpu"] = meter.report(figures["ok"])
        figures["server"] = server.spec
        figures["checkpoint_before_s"] = checkpoint
        return figures

    results["floor_json GET"] = await measure(
        "floor_json GET", servers["floor_json"], lambda: ("list", "GET", "/api/v1/quizzes", None, None))
    counter = iter(range(10 ** 9))

    def insert_request():
        n = next(counter)
        return ("save", "PUT", f"/api/v1/attempts/{n // QUESTIONS + 1}/answers/{n % QUESTIONS + 1}", None,
                {"response": f"q{n % QUESTIONS + 1}o{n % 4}"})

    async def floor(label: str) -> dict:
        return await measure(f"floor_insert PUT (one INSERT + COMMIT){label}", servers["floor_insert"],
                             insert_request)

    async def list_first(accounts_tokens: list[str]) -> None:
        """Each account lists its quizzes first (not measured), as every learner of the scenario does
        before starting: a token's first use (its check and the record of its use) is then not counted
        as part of a start, and a start is measured as a start."""
        queue = iter(accounts_tokens)
        say(f"capacity: {len(accounts_tokens)} accounts list their quizzes first (not measured)")
        pool = Pool(HOST, servers["app"].port, concurrency)
        await closed_loop(pool, concurrency, 0, 600,
                          lambda: (lambda t: None if t is None else ("list", "GET", "/api/v1/quizzes", t, None))(
                              next(queue, None)), lambda req, rep: None, options.timeout, lambda begin: None)
        pool.close()

    def starts_of(tokens):
        accounts = iter(token for _, token in tokens)
        return lambda: (lambda t: None if t is None else
                        ("start", "POST", f"/api/v1/quizzes/{quiz_id}/attempts", t, None))(next(accounts, None))

    for number in range(1, options.capacity_rounds + 1):
        label = f", round {number}/{options.capacity_rounds}"
        figures = {"floor_insert PUT": await floor(label)}
        tokens = database.take(options.capacity_accounts)
        started: list[Learner] = []

        def on_start(request, reply, started=started):
            data = reply.json() if reply.status == 201 else None
            if data:
                learner = Learner(len(started), "", request[3], random.Random(len(started)))
                learner.attempt_id = data["attempt_id"]
                learner.questions = {q["slot"]: q for q in data["questions"]}
                started.append(learner)

        await list_first([token for _, token in tokens])
        flush_redis(options.redis_url)
        start_request = starts_of(tokens)
        # No warm-up here: it would spend the fresh accounts (the scenario run has warmed the app already).
        figures["app start POST"] = await measure(f"app start (POST …/attempts){label}", servers["app"],
                                                  start_request, on_start, warmup=0)
        # Saves go round robin over many accounts, so that each stays far below ANSWER_SAVE_RATE_LIMIT
        # (240 a minute); start more attempts if the start test made too few (not measured).
        need = min(max(concurrency * 10, 300), len(tokens))
        if len(started) < need:
            say(f"capacity: starting {need - len(started)} more attempts for the save test (not measured)")
            pool = Pool(HOST, servers["app"].port, concurrency)
            await closed_loop(pool, concurrency, 0, 600, lambda: None if len(started) >= need else start_request(),
                              on_start, options.timeout, lambda begin: None)
            pool.close()
        # The saves go to `need` attempts, as an exam's saves go to attempts that are under way: each worker
        # reads an attempt's slots at its first save of it (quizzes.attempts.slot_snapshot), then about 20
        # saves follow. Spread over every attempt the start test made, most saves would be first saves.
        saving = started[:need]
        turn = iter(range(10 ** 9))

        def save_request(saving=saving, turn=turn):
            if not saving:
                return None
            n = next(turn)
            learner = saving[n % len(saving)]
            slot = (n // len(started)) % len(learner.questions) + 1
            return ("save", "PUT", f"/api/v1/attempts/{learner.attempt_id}/answers/{slot}", learner.token,
                    {"response": learner.new_value(slot)})

        flush_redis(options.redis_url)
        figures["app save PUT"] = await measure(f"app save (PUT …/answers/<slot>){label}", servers["app"],
                                                save_request)
        figures["app save PUT"]["accounts"] = len(saving)
        figures["ratios"] = round_ratios(figures)
        say(f"capacity: round {number}: " + ", ".join(
            f"{key} {value}×" for key, value in figures["ratios"].items() if "throughput" in key))
        results["rounds"].append(figures)
    if options.sitting:
        # The designed path for a synchronized start: the attempts were drawn ahead by the sitting's
        # preparation, so a start is the state change prepared → in progress and the payload.
        seated = database.take(options.capacity_accounts * SITTING_ACCOUNTS)  # prepared starts are quicker
        results["sitting"] = schedule_sitting(database.env, database.log, quiz_id, [e for e, _t in seated], options)
        await list_first([token for _, token in seated])
        wait = (datetime.fromisoformat(results["sitting"]["starts_at"]) - datetime.now(timezone.utc)).total_seconds()
        if wait > 0:
            await asyncio.sleep(wait)
        figures = {"floor_insert PUT": await floor(", beside the sitting")}
        flush_redis(options.redis_url)
        figures["app start in a sitting POST"] = await measure("app start in a sitting (prepared attempt)",
                                                               servers["app"], starts_of(seated), warmup=0)
        figures["ratios"] = round_ratios(figures)
        results["rounds"].append(figures)
    results["ratios"] = median_ratios(results["rounds"])
    return results


# --------------------------------------------------------------------------- report
def fmt(value, digits=0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def exam_table(result: dict) -> list[str]:
    lines = [f"| {'kind':<9} | {'requests':>8} | {'ok':>6} | {'ok/s':>6} | {'p50 ms':>7} | {'p95 ms':>7} | "
             f"{'p99 ms':>7} | {'max ms':>7} | {'p99 to ack':>10} | {'retries':>7} | errors",
             f"|{'-' * 11}|{'-' * 10}|{'-' * 8}|{'-' * 8}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 12}|"
             f"{'-' * 9}|-------"]
    for kind in KINDS:
        k = result["kinds"].get(kind)
        if not k:
            continue
        errors = ", ".join(f"{o}×{n}" for o, n in k["errors"].items()) or "0"
        lines.append(f"| {kind:<9} | {k['requests']:>8,} | {k['ok']:>6,} | {fmt(k['ok_per_s'], 1):>6} | "
                     f"{fmt(k['p50_ms']):>7} | {fmt(k['p95_ms']):>7} | {fmt(k['p99_ms']):>7} | {fmt(k['max_ms']):>7} | "
                     f"{fmt(k['ack_p99_ms']):>10} | {k['retries']:>7,} | {errors}")
    return lines


def _busiest(figures: dict) -> float:
    """The share of the server's CPU that its busiest worker used in a capacity test (the master, with
    the workers it reaped, left out): near 1 when every connection of the pool sat on one worker."""
    cpu = figures["cpu"]
    shares = [v or 0.0 for pid, v in cpu.get("server_ms_per_request_by_process", {}).items()
              if pid != cpu.get("server_master")]
    total = sum(shares)
    return max(shares) / total if total and len(shares) > 1 else 0.0


def print_report(report: dict) -> None:
    o = report["options"]
    g = report["gunicorn"]
    print(f"\nExam day, {report['started']} — {report['label'] + ', ' if report['label'] else ''}commit "
          f"{report['commit']}; {os.cpu_count()} cores, load average {report['loadavg_before'][0]:.1f} before and "
          f"{report['loadavg_after'][0]:.1f} after; gunicorn "
          f"{g['workers']} × {g['threads']} {g['worker_class']} (gunicorn.conf.py); PostgreSQL {report['database']}")
    print(f"{o['learners']:,} learners, start window {o['window']:g} s, think {o['think']} s, resave "
          f"{o['resave']:.0%}, {o['connections']} connections, client timeout {o['timeout']:g} s, "
          f"on timeout: {o['on_timeout']}")
    if report.get("sitting"):
        t = report["sitting"]
        print(f"The app's learners sat the quiz in a sitting: {t['prepared']:,} attempts prepared in "
              f"{t['prepare_s']:g} s, ready {t['ready_before_start_s']:g} s before the start")
    for name in ("app", "floor_insert", "floor_json", "fault"):
        r = report["runs"].get(name)
        if not r:
            continue
        title = {"app": "App (training:create_app())", "floor_insert": "Floor: one INSERT + COMMIT per write",
                 "floor_json": "Floor: constant JSON", "fault": "Fault run (app): kill -9 a worker, then a restart"}
        print(f"\n{title[name]} — wall {r['wall_s']:.0f} s; starts/s {fmt(r['starts_per_s'], 1)} "
              f"(peak 10 s {fmt(r['peak_starts_per_s_10s'], 1)}), saves/s {fmt(r['saves_per_s'], 1)} "
              f"(peak 10 s {fmt(r['peak_saves_per_s_10s'], 1)})")
        print("\n".join(exam_table(r)))
        failed = ", ".join(f"{k} ×{v}" for k, v in r["learners_failed"].items()) or "none"
        print(f"Learners: {r['learners_submitted']:,}/{r['learners']:,} submitted; failed: {failed}; "
              f"unfinished at the deadline: {r['unfinished_learners']}")
        if "answers" in r:
            a = r["answers"]
            stored = r["stored_after_give_up"]
            print(f"Answers: {a.get('acknowledged', 0):,} acknowledged, LOST: {r['lost_acknowledged']}; save "
                  f"requests sent but not acknowledged (timeout, connection, 429/5xx): "
                  f"{a.get('unacknowledged sends', 0):,}, of which stored anyway: "
                  + ("not measured (--no-write-log)" if stored is None else f"{stored:,}")
                  + "".join(f" [{k[len('stored after give-up '):]}: {v}]" for k, v in a.items()
                            if k.startswith("stored after give-up ("))
                  + (f"; attempts not read back: {a['attempts not read back']}" if a.get("attempts not read back")
                     else "")
                  + "".join(f"; {k}: {a[k]}" for k in ("final value from a request given up on",
                                                       "stored value never sent", "submitted but not finished",
                                                       "acknowledged write missing from the database log",
                                                       "acknowledged value rewritten by an unknown request")
                            if a.get(k)))
        if "attempts_nobody_was_told_about" in r:
            print(f"Attempts in the database: {r['attempts_in_db']:,}, of which nobody was told about: "
                  f"{r['attempts_nobody_was_told_about']}; starts resumed after a failed try: "
                  f"{r['starts_resumed_after_a_failed_try']}; /healthz right after: "
                  f"{fmt(r.get('healthz_after_ms'))} ms")
        if "cpu" in r:
            c = r["cpu"]
            print(f"CPU per answered request: server {fmt(c['server_ms_per_request'], 2)} ms, PostgreSQL "
                  f"{fmt(c['postgres_ms_per_request'], 2)} ms, Redis {fmt(c['redis_ms_per_request'], 2)} ms, "
                  f"load client "
                  f"{fmt(c['client_ms_per_request'], 2)} ms ({c['requests']:,} requests)")
        for event in r.get("faults", []):
            print(f"Fault at {event['at_s']:.0f} s, {event['what']}: {event['failed_requests']} failed requests "
                  f"({', '.join(f'{k} ×{v}' for k, v in event['failed_by_outcome'].items()) or 'none'})")
    app, floor = report["runs"].get("app"), report["runs"].get("floor_insert")
    if app and floor:
        def r(key):
            return fmt(app[key] / floor[key], 2) if app.get(key) and floor.get(key) else "–"
        print(f"\nSame shape, app / insert floor: starts/s {r('starts_per_s')}, saves/s {r('saves_per_s')} "
              f"(equal when both keep up with the learners; the capacity test below gives the ceilings)")
    cap = report.get("capacity")
    if cap:
        print(f"\nCapacity: closed loop, {o['capacity_concurrency']} concurrent requests, "
              f"{o['capacity_warmup']:g} s warm-up then {o['capacity_seconds']:g} s measured; "
              f"VACUUM (ANALYZE) first ({fmt(cap.get('vacuum_s'), 1)} s); "
              f"{sum('app start POST' in one for one in cap['rounds'])} rounds of floor, start and save"
              + (", then the floor and the start in a sitting" if "sitting" in cap else "")
              + "; a CHECKPOINT before each test")
        print(f"| {'test':<31} | {'req/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} | {'errors':>6} | "
              f"{'server CPU ms/req':>17} | {'PG CPU ms/req':>13} | {'client CPU ms/req':>17}")
        print(f"|{'-' * 33}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 8}|{'-' * 19}|{'-' * 15}|{'-' * 19}")
        rows = [("floor_json GET", cap.get("floor_json GET"))]
        for number, one in enumerate(cap["rounds"], 1):
            rows += [(f"{name} #{number}", one[name]) for name in ("floor_insert PUT", "app start POST", "app save PUT",
                                                                  "app start in a sitting POST") if name in one]
        for name, x in rows:
            if x is None:
                continue
            print(f"| {name:<31} | {fmt(x['req_per_s'], 1):>7} | {fmt(x['p50_ms']):>7} | {fmt(x['p99_ms']):>7} | "
                  f"{sum(x['errors'].values()):>6} | {fmt(x['cpu']['server_ms_per_request'], 2):>17} | "
                  f"{fmt(x['cpu']['postgres_ms_per_request'], 2):>13} | {fmt(x['cpu']['client_ms_per_request'], 2):>17}"
                  + (f"  (accounts ran out after {x['seconds']:g} s)" if x.get("ran_out_of_accounts") else "")
                  + (f"  (one worker did {busiest:.0%} of the work)" if (busiest := _busiest(x)) > 0.75 else ""))
        errors = {name: x["errors"] for name, x in rows if x and x["errors"]}
        if errors:
            print(f"Capacity errors: {errors}")
        q = cap["ratios"]

        def line(short: str, what: str, target: str) -> None:
            key = f"{short}_throughput_vs_insert_floor"
            if q.get(key) is None:
                return
            each = ", ".join(f"{v:.2f}" for v in q[f"{key}_rounds"])
            cpu = ", ".join(f"{v:.2f}" for v in q[f"{short}_cpu_vs_insert_floor_rounds"])
            print(f"{what} / insert floor of its round: median {q[key]:.2f}× the throughput{target} (rounds: {each}); "
                  f"server CPU per request {q[f'{short}_cpu_vs_insert_floor']:.2f}× (rounds: {cpu})")

        line("save", "Autosave", " (issue 16: at least 0.7×)")
        line("start", "Start", " (at least 0.3×)")
        line("sitting_start", "Start in a sitting", "")
    print(f"\nJSON: {report['json']}")


# --------------------------------------------------------------------------- main
def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add = parser.add_argument
    add("--quick", action="store_true", help=f"a short run: {QUICK}")
    add("--learners", type=int, help="learners in the scenario (default 10000, --quick 300)")
    add("--window", type=float, help="seconds over which the learners start (default 60, --quick 20)")
    add("--think", help="think time per answer, A-B seconds, uniform (default 30-90 as in Moodle's load test, "
                        "--quick 1-3)")
    add("--resave", type=float, default=0.10, help="chance, after each answer, to change an earlier answer")
    add("--connections", type=int, default=64, help="keep-alive connections the learners share (the proxy's pool)")
    add("--timeout", type=float, default=30.0, help="client timeout per request, queueing for a connection included")
    add("--max-tries", type=int, default=10, help="sends of one request before the learner gives up")
    add("--on-timeout", choices=("resend", "change", "abandon"), default="resend",
        help="after a failed save: send the same answer again (as the quiz page does), a different one (the "
             "learner picked again meanwhile), or, after a timeout, nothing more for that question")
    add("--no-write-log", dest="write_log", action="store_false",
        help="no database trigger logging every answer write (then 'stored after the client gave up' is not "
             "measured)")
    add("--list-once", action="store_true", help="skip each learner's GET /api/v1/quizzes before starting")
    add("--quiz", type=int, help="quiz id (default: the first published quiz in the list)")
    add("--workers", type=int, help="gunicorn --workers (default: gunicorn.conf.py)")
    add("--threads", type=int, help="gunicorn --threads (default: gunicorn.conf.py)")
    add("--no-floor-runs", action="store_true", help="skip the scenario against the two floors")
    add("--no-capacity", action="store_true", help="skip the closed-loop capacity test")
    add("--capacity-concurrency", type=int, default=32, help="concurrent requests in the capacity test")
    add("--capacity-seconds", type=float, help="measured seconds per capacity test (default 15, --quick 8)")
    add("--capacity-warmup", type=float, default=2.0, help="unmeasured seconds before each capacity test")
    add("--capacity-accounts", type=int,
        help="fresh accounts for each round's start test (default 4500, --quick 600); with --sitting, three "
             "times as many more for the start in a sitting")
    add("--capacity-rounds", type=int,
        help="rounds of floor, start and save measured back to back, each after a CHECKPOINT; the ratios are each "
             "round's and their median (default 5, --quick 3)")
    add("--sitting", action="store_true",
        help="the app's learners sit the quiz in a scheduled sitting (ca thi): their attempts are prepared "
             "before the start, as `flask quizzes prepare-sittings` does, and the window opens at the start")
    add("--sitting-lead", type=float, default=None,
        help="seconds between scheduling the sitting and its start (default 30 + learners/100)")
    add("--fault", action="store_true", help="also run the scenario with kill -9 of a worker and a full restart")
    add("--fault-learners", type=int, help="learners in the fault run (default: --learners)")
    add("--database-url", default="postgresql://postgres@127.0.0.1:5432/ccs_exam", help="the bench's own database")
    add("--fresh", action="store_true", help="drop and recreate the database first")
    add("--redis-url", default="redis://127.0.0.1:6379/12",
        help="rate-limit storage shared by the workers; this Redis database is flushed")
    add("--seed", default="1", help="seed of the learners' choices and start times")
    add("--out", help="JSON file (default bench/out/exam_day-<time>.json)")
    add("--label", default="", help="a note printed with the results, e.g. what changed since the last run")
    options = parser.parse_args(argv)
    preset = QUICK if options.quick else FULL
    for key, value in preset.items():
        if getattr(options, key) is None:
            setattr(options, key, value)
    options.fault_learners = options.fault_learners or options.learners
    try:
        low, high = (float(x) for x in options.think.split("-"))
    except ValueError:
        parser.error("--think is A-B in seconds, e.g. 30-90")
    if not 0 <= low <= high or options.learners < 1 or options.window < 0 or options.connections < 1 \
            or not 0 <= options.resave <= 1 or options.timeout <= 0 or options.capacity_rounds < 1:
        parser.error("check --think, --learners, --window, --connections, --resave, --timeout and --capacity-rounds")
    options.think_range = (low, high)
    local_url(options.database_url, "--database-url")
    local_url(options.redis_url, "--redis-url")
    return options


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    options = parse_options(argv)
    # A SIGTERM (e.g. from `timeout`) ends the run like Ctrl-C: the servers are stopped, the JSON written.
    signal.signal(signal.SIGTERM, _interrupt)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out_json = Path(options.out) if options.out else OUT / f"exam_day-{stamp}.json"
    log_dir = out_json.with_suffix("")
    log_dir.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)

    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("TRAINING_", "SECRET_", "CERT_", "TEST_", "RATELIMIT_", "PUBLIC_", "DATABASE_",
                                 "FLOOR_"))}
    p12 = OUT / "exam_day-org.p12"
    secret = secrets.token_hex(32)
    if not p12.exists():
        flask(["certificates", "dev-key", "--out", str(p12), "--passphrase", "bench-only-passphrase"],
              {**base, "TRAINING_CONFIG": "development", "SECRET_KEY": secret}, log_dir / "setup.log")
    app_env = {**base, "TRAINING_CONFIG": "production", "DATABASE_URL": options.database_url, "SECRET_KEY": secret,
               "CERT_P12_PATH": str(p12), "CERT_P12_PASSPHRASE": "bench-only-passphrase",
               "PUBLIC_BASE_URL": "https://bench.example", "RATELIMIT_STORAGE_URI": options.redis_url}
    floor_env = {**base, "FLOOR_DATABASE_URL": options.database_url}

    database = Database(options.database_url, app_env, log_dir / "setup.log")
    capacity = options.capacity_accounts * (options.capacity_rounds + (SITTING_ACCOUNTS if options.sitting else 0))
    needed = 1 + options.learners + (0 if options.no_capacity else capacity) + (options.fault_learners if options.fault else 0)
    database.prepare(options.fresh, needed)
    flush_redis(options.redis_url)
    os.environ["FLOOR_DATABASE_URL"] = options.database_url
    from floor_insert import reset_tables

    servers = {"app": Server("app", "training:create_app()", app_env, options, log_dir),
               "floor_insert": Server("floor_insert", "bench.floor_insert:create_app()", floor_env, options, log_dir),
               "floor_json": Server("floor_json", "bench.floor_json:create_app()", floor_env, options, log_dir)}
    settings = gunicorn_settings(app_env, options.workers, options.threads)
    report = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": _commit(),
              "label": options.label,
              "database": database.name, "gunicorn": settings, "cores": os.cpu_count(),
              "loadavg_before": os.getloadavg(), "json": str(out_json), "server_logs": str(log_dir),
              "options": {k: v for k, v in vars(options).items() if k != "think_range"}, "runs": {}}
    try:
        reset_tables()
        for server in servers.values():
            server.start()
        for server in servers.values():
            say(f"{server.name} ready in {server.wait_ready():.1f} s on {HOST}:{server.port} "
                f"(workers {server.workers()})")
        quiz_id = options.quiz or pick_quiz(servers["app"].port, database.take(1)[0][1])
        report["quiz_id"] = quiz_id
        asyncio.run(run_all(servers, database, options, quiz_id, report))
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not leave servers behind
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for server in servers.values():
            server.stop()
        report["loadavg_after"] = os.getloadavg()
        out_json.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    print_report(report)
    lost = sum(r.get("lost_acknowledged", 0) for r in report["runs"].values())
    return 1 if lost else 0


SITTING = r"""
import json, sys, time
from datetime import datetime
import sqlalchemy as sa
from training import create_app
from training.extensions import db
from training.models import User
from quizzes.models import Quiz
from quizzes.sittings import MAX_EMAILS, prepare_sitting_job, schedule_sitting

args = json.load(sys.stdin)
app = create_app()
with app.app_context():
    quiz = db.session.get(Quiz, args["quiz"])
    actor = db.session.scalar(sa.select(User).where(User.email == args["actor"]))
    starts = datetime.fromisoformat(args["starts_at"])
    ids = []
    for first in range(0, len(args["emails"]), MAX_EMAILS):  # a list sitting names at most MAX_EMAILS
        sitting = schedule_sitting(quiz=quiz, actor=actor, root=None, starts_at=starts,
                                   join_window_s=args["join_window_s"], time_limit_s=args["time_limit_s"],
                                   late_policy="full", target="people",
                                   emails="\n".join(args["emails"][first:first + MAX_EMAILS]),
                                   title=f"Ca thi đo hiệu năng {first // MAX_EMAILS + 1}")
        db.session.commit()
        ids.append(sitting.id)
    scheduled = time.monotonic()
    prepared = sum(prepare_sitting_job(sitting_id) for sitting_id in ids)  # a batch per commit, as the app does
    print(json.dumps({"sittings": ids, "prepared": prepared, "prepare_s": round(time.monotonic() - scheduled, 1)}))
"""


def schedule_sitting(env: dict, log: Path, quiz_id: int, emails: list[str], options) -> dict:
    """Schedule the scenario's learners into a sitting ("ca thi") that starts after its attempts are
    prepared, prepare them as the cron would, and return when the sitting starts (UTC) with the
    preparation's figures. The sitting's time limit covers the slowest learner of the scenario."""
    _expected, limit = scenario_limits(options)
    lead = options.sitting_lead or 30 + len(emails) / 100
    starts_at = datetime.now(timezone.utc) + timedelta(seconds=lead)
    payload = {"quiz": quiz_id, "actor": "admin@demo.example", "emails": emails,
               "starts_at": starts_at.isoformat(), "join_window_s": int(options.window) + 120,
               "time_limit_s": int(limit + 2 * options.timeout + 120)}
    result = subprocess.run([sys.executable, "-c", SITTING], cwd=ROOT, env=env, input=json.dumps(payload),
                            capture_output=True, text=True, timeout=1800)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"$ schedule and prepare a sitting of {len(emails)} learners\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        sys.exit(f"scheduling the sitting failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["starts_at"] = starts_at.isoformat()
    figures["lead_s"] = round(lead, 1)
    late = (datetime.now(timezone.utc) - starts_at).total_seconds()
    figures["ready_before_start_s"] = round(-late, 1)
    say(f"sitting: {figures['prepared']} attempts prepared in {figures['prepare_s']} s, "
        + (f"{-late:.0f} s before the start" if late < 0 else f"{late:.0f} s AFTER the start (raise --sitting-lead)"))
    return figures


async def run_all(servers, database, options, quiz_id, report) -> None:
    runs = report["runs"]
    database.audit(options.write_log)
    tokens = database.take(options.learners)
    if options.sitting:
        report["sitting"] = schedule_sitting(database.env, database.log, quiz_id, [e for e, _t in tokens], options)
        wait = (datetime.fromisoformat(report["sitting"]["starts_at"]) - datetime.now(timezone.utc)).total_seconds()
        if wait > 0:
            await asyncio.sleep(wait)
    runs["app"] = await run_exam("app", servers["app"], tokens, options, quiz_id,
                                 verify=True, database=database, check_db=True)
    if not options.no_floor_runs:
        fake = [(f"floor{i}@load.example", "floor") for i in range(options.learners)]
        await asyncio.sleep(2)
        runs["floor_insert"] = await run_exam("floor_insert", servers["floor_insert"], fake, options, 1, verify=True,
                                              database=database)
        await asyncio.sleep(2)
        runs["floor_json"] = await run_exam("floor_json", servers["floor_json"], fake, options, 1, verify=False,
                                            database=database)
    if not options.no_capacity:
        await asyncio.sleep(2)
        database.audit(False)
        report["capacity"] = await run_capacity(servers, database, options, quiz_id)
    if options.fault:
        await asyncio.sleep(2)
        flush_redis(options.redis_url)
        database.audit(options.write_log)
        fault_options = argparse.Namespace(**{**vars(options), "learners": options.fault_learners})
        runs["fault"] = await run_exam("fault", servers["app"], database.take(options.fault_learners), fault_options,
                                       quiz_id, verify=True, database=database, check_db=True, fault=True)


def pick_quiz(port: int, token: str) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request("GET", "/api/v1/quizzes", headers={"Authorization": f"Bearer {token}"})
    reply = conn.getresponse()
    quizzes = json.loads(reply.read()) if reply.status == 200 else []
    conn.close()
    open_ = [q for q in quizzes if q.get("attempts_left") != 0]
    if not open_:
        sys.exit(f"No published quiz is open to the generated officials (GET /api/v1/quizzes: {reply.status}).")
    return open_[0]["id"]


def _commit() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if not head:
            return "not a git checkout"
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("Interrupted: the servers are stopped and what was measured is in the JSON file.")
        sys.exit(130)
