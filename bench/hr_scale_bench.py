"""HR at national scale (issue 17): every HR page and API answer timed beside a floor, through gunicorn.

    # build the database once (setup --demo, then generate), then measure
    .venv/bin/python bench/hr_scale_bench.py --database-url postgresql://postgres@127.0.0.1:5432/ccs_hr_bench \\
        --build --officials 250000 --units 3321 --attempts 2000000

    # measure an existing database, serving another checkout of the code (e.g. the code before a change)
    .venv/bin/python bench/hr_scale_bench.py --database-url ... --code /tmp/hr_before --label before

What it does, all on this machine (loopback only):
1. With --build: creates the database (refuses an existing one unless --fresh), runs `flask setup --demo`
   and `flask generate` with the code being measured.
2. Makes the accounts it views the pages as, through the app's own services: an HR officer of the
   generated city GEN, one of GEN's largest ward, and uses the demo accounts admin@demo.example (the
   whole country) and hr.city@demo.example (the small demo city HCM, 80 officials).
3. Starts gunicorn with the repository's gunicorn.conf.py (2 workers unless --workers says otherwise)
   serving `training:create_app()` in its production configuration, and with --worker an RQ worker
   (`flask worker`) for the exports that run as jobs.
4. Times each page: one warm-up request, then --repeat requests one after another; prints p50/p90,
   the response size and the ratio to the floor (GET /healthz of the same app: a database round trip
   and a JSON body), measured at the start and at the end of the same run.
5. Exports: a ward's CSV, XLSX and PDF, and the city's (run as jobs when the code has the job path),
   with the resident memory of the gunicorn workers (and of the job's process) before and after.
Prints the tables and writes everything to JSON (--out; default bench/out/hr_scale-<label>-<time>.json).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
PASSWORD = "Load-test-2025"
CITY_HR = "hr.bench.city@load.example"
WARD_HR = "hr.bench.ward@load.example"
SMALL_HR = "hr.city@demo.example"
ADMIN = "admin@demo.example"
LOCAL = {"127.0.0.1", "localhost", "::1"}
# Targets of issue 17, in milliseconds (p50).
NATIONAL, WARD = 1000, 150


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- database and accounts
def code_env(options, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TRAINING_", "SECRET_", "CERT_", "TEST_", "RATELIMIT_", "PUBLIC_", "DATABASE_",
                                "REDIS_", "DEMO_", "PYTHONPATH"))}
    env.update({"PYTHONPATH": str(options.code), "DATABASE_URL": options.database_url,
                "TRAINING_CONFIG": "development", "SECRET_KEY": options.secret, "DEMO_PASSWORD": PASSWORD,
                "FLASK_RUN_FROM_CLI": "true"})
    env.update(extra)
    return env


def flask(options, *args: str, env: dict | None = None) -> str:
    """`flask --app training ARGS` with the code being measured; returns its output."""
    command = [sys.executable, "-m", "flask", "--app", "training", *args]
    done = subprocess.run(command, cwd=options.code, env=env or code_env(options), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def build(options) -> None:
    url = urlsplit(options.database_url)
    name = url.path.lstrip("/")
    admin = options.database_url.rsplit("/", 1)[0] + "/postgres"
    exists = subprocess.run(["psql", admin, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
                            capture_output=True, text=True).stdout.strip() == "1"
    if exists and not options.fresh:
        say(f"{name} already exists: measuring it as it is (--fresh rebuilds it).")
        return
    if name in ("test", "postgres"):
        sys.exit(f"refusing to build into the database {name!r}")
    subprocess.run(["psql", admin, "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=True,
                   capture_output=True)
    subprocess.run(["psql", admin, "-c", f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
    began = time.perf_counter()
    flask(options, "setup", "--demo")
    say(f"setup --demo: {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    out = flask(options, "generate", "--units", str(options.units), "--officials", str(options.officials),
                "--attempts", str(options.attempts), "--password", PASSWORD, "--seed", str(options.seed))
    say(out.strip().splitlines()[-3] if out.strip() else "")
    say(f"generate: {time.perf_counter() - began:.1f} s")


PREPARE = r'''
import json, sys
import sqlalchemy as sa
from training import create_app
from training.extensions import db
from training.models import OrgUnit, Position, User
from training.services.org import get_unit_by_code
from training.services.users import create_user, get_user_by_email

app = create_app("development")
with app.app_context():
    city = get_unit_by_code("GEN")
    ward = db.session.scalar(sa.select(OrgUnit).join(User, User.unit_id == OrgUnit.id)
                             .where(OrgUnit.parent_id == city.id).group_by(OrgUnit.id)
                             .order_by(sa.func.count(User.id).desc(), OrgUnit.id).limit(1))
    for email, name, unit in ((sys.argv[1], "Cán bộ Đo hiệu năng Thành phố", city),
                              (sys.argv[2], "Cán bộ Đo hiệu năng Phường", ward)):
        if get_user_by_email(email) is None:
            create_user(email, name, password=sys.argv[3], roles=("hr",), unit=unit, must_change_password=False)
    db.session.commit()
    official = db.session.scalar(sa.select(User.id).where(User.unit_id == ward.id, User.email.like("official%"))
                                 .order_by(User.id).limit(1))
    position = db.session.scalar(sa.select(Position.id).order_by(Position.id).limit(1))
    in_city = sa.select(OrgUnit.id).where(OrgUnit.path.startswith(city.path))
    print(json.dumps({"ward": ward.code, "official": official, "position": position,
                      "officials": db.session.scalar(sa.select(sa.func.count(User.id))
                                                     .where(User.unit_id.in_(in_city))),
                      "units": db.session.scalar(sa.select(sa.func.count(OrgUnit.id))
                                                 .where(OrgUnit.path.startswith(city.path)))}))
'''


def prepare(options) -> dict:
    done = subprocess.run([sys.executable, "-c", PREPARE, CITY_HR, WARD_HR, PASSWORD], cwd=options.code,
                          env=code_env(options), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"preparing the accounts failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- servers
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Gunicorn:
    def __init__(self, options, env: dict, log: Path):
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        flags = ["--workers", str(options.workers)] if options.workers else []
        self.log = open(log, "a", encoding="utf-8")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(Path(options.code) / "gunicorn.conf.py"), "--chdir", str(options.code),
             "--bind", f"{HOST}:{self.port}", "--no-control-socket", *flags, "training:create_app()"],
            cwd=options.code, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self, limit: float = 120) -> None:
        began = time.monotonic()
        while time.monotonic() - began < limit:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited at start; see its log")
            try:
                if requests.get(self.base + "/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError("gunicorn not ready")

    def workers_rss(self) -> list[int]:
        return [rss_kb(pid) for pid in children_of(self.process.pid)]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


class PlainSession(requests.Session):
    """A browser on http://127.0.0.1: production marks its cookies Secure, which requests would then
    keep to itself over plain http; send them as a browser behind the TLS proxy would."""

    def request(self, method, url, **kwargs):
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.cookies)
        if cookies:
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "Cookie": cookies}
        return super().request(method, url, **kwargs)


def login(base: str, email: str) -> requests.Session:
    session = PlainSession()
    page = session.get(base + "/auth/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    response = session.post(base + "/auth/login", data={"email": email, "password": PASSWORD,
                                                         "csrf_token": token.group(1) if token else ""},
                            timeout=30, allow_redirects=False)
    if response.status_code not in (302, 303):
        raise RuntimeError(f"login as {email} failed: HTTP {response.status_code}")
    return session


def bearer(base: str, email: str) -> requests.Session:
    session = requests.Session()
    response = session.post(base + "/api/v1/token", json={"email": email, "password": PASSWORD}, timeout=30)
    response.raise_for_status()
    session.headers["Authorization"] = f"Bearer {response.json()['token']}"
    return session


# --------------------------------------------------------------------------- timing
def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def time_page(session: requests.Session, url: str, repeat: int, timeout: float) -> dict:
    """One warm-up, then `repeat` timed requests (fewer when one takes longer than 10 s)."""
    timings, status, size, error = [], None, 0, ""
    try:
        response = session.get(url, timeout=timeout, allow_redirects=False)
        status, size = response.status_code, len(response.content)
        slow = response.elapsed.total_seconds() > 10
        for _ in range(2 if slow else repeat):
            began = time.perf_counter()
            response = session.get(url, timeout=timeout, allow_redirects=False)
            body = response.content
            timings.append((time.perf_counter() - began) * 1000)
            status, size = response.status_code, len(body)
    except requests.RequestException as exc:
        error = type(exc).__name__
    result = {"status": status, "bytes": size, "ms": timings, "error": error}
    if timings:
        result.update(p50=statistics.median(timings), p90=percentile(timings, 0.9))
    return result


def follow_job(session: requests.Session, base: str, response, worker_pid: int | None, limit: float = 900) -> dict:
    """An export that answered with a job: poll its page until done (sampling the resident memory of
    the worker and of the work horse it forks for the job), then download the file."""
    location = response.headers.get("Location", "")
    match = re.search(r"/jobs/(\d+)", location)
    if not match:
        return {"job": None}
    job_url = f"{base}/jobs/{match.group(1)}"
    began = time.perf_counter()
    peak = 0
    while time.perf_counter() - began < limit:
        if worker_pid:
            peak = max([peak, rss_kb(worker_pid)] + [rss_kb(pid) for pid in children_of(worker_pid)])
        page = session.get(job_url + "?auto=0", timeout=30).text
        if f"/jobs/{match.group(1)}/download" in page:
            download_began = time.perf_counter()
            body = session.get(job_url + "/download", timeout=300)
            return {"job": int(match.group(1)), "job_s": download_began - began, "download_status": body.status_code,
                    "bytes": len(body.content), "download_s": time.perf_counter() - download_began,
                    "job_worker_peak_kb": peak}
        if re.search(r"badge-failed|state-failed", page):
            return {"job": int(match.group(1)), "error": "failed", "job_s": time.perf_counter() - began}
        time.sleep(0.5)
    return {"job": int(match.group(1)), "error": "timeout"}


def export(session: requests.Session, base: str, url: str, server: Gunicorn, worker_pid: int | None,
           timeout: float) -> dict:
    before = server.workers_rss()
    began = time.perf_counter()
    try:
        response = session.get(base + url, timeout=timeout, allow_redirects=False, stream=True)
        size = 0
        for chunk in response.iter_content(65536):
            size += len(chunk)
        result = {"status": response.status_code, "bytes": size, "s": time.perf_counter() - began}
        if response.status_code in (302, 303) and "/jobs/" in response.headers.get("Location", ""):
            result.update(follow_job(session, base, response, worker_pid))
    except requests.RequestException as exc:
        result = {"status": None, "error": type(exc).__name__, "s": time.perf_counter() - began}
    result.update(workers_rss_before_kb=before, workers_rss_after_kb=server.workers_rss())
    return result


# --------------------------------------------------------------------------- the run
def pages(info: dict) -> list[tuple[str, str, str, str, int]]:
    """(group, label, persona, url, target ms)."""
    ward, official, position = info["ward"], info["official"], info["position"]
    return [
        ("national", "national GET /hr/ (admin)", "admin", "/hr/", NATIONAL),
        ("national", "city GET /hr/ (3,321 units)", "city", "/hr/", NATIONAL),
        ("national", "city GET /hr/units/GEN", "city", "/hr/units/GEN", NATIONAL),
        ("national", "city GET /hr/units/GEN?rows_page=30", "city", "/hr/units/GEN?rows_page=30", NATIONAL),
        ("ward", f"ward GET /hr/ (ward HR, {ward})", "ward", "/hr/", WARD),
        ("ward", f"ward GET /hr/units/{ward} (city HR)", "city", f"/hr/units/{ward}", WARD),
        ("ward", "official GET /hr/officials/<id>", "city", f"/hr/officials/{official}", WARD),
        ("list", "city GET /hr/officials", "city", "/hr/officials", WARD),
        ("list", "city GET /hr/officials?page=400", "city", "/hr/officials?page=400", WARD),
        ("list", "city GET /hr/officials?status=not_qualified", "city", "/hr/officials?status=not_qualified", WARD),
        ("list", "city GET /hr/officials?q=nguyen", "city", "/hr/officials?q=nguyen", WARD),
        ("list", "city GET /hr/officials?q=khanh+linh", "city", "/hr/officials?q=khanh+linh", WARD),
        ("list", f"city GET /hr/officials?unit={ward}", "city", f"/hr/officials?unit={ward}", WARD),
        ("list", "city GET /hr/gaps", "city", "/hr/gaps", WARD),
        ("list", "city GET /hr/gaps/officials (position 1, info_security)", "city",
         f"/hr/gaps/officials?position={position}&competency=info_security", WARD),
        ("list", "city GET /hr/gaps/candidates (position 1)", "city", f"/hr/gaps/candidates?position={position}", WARD),
        ("list", "city GET /hr/unit-search?q=thu+nghiem+12 (typeahead)", "city",
         "/hr/unit-search?q=thu+nghiem+12", WARD),
        ("api", "API GET /api/v1/units/GEN/summary", "city-api", "/api/v1/units/GEN/summary", WARD),
        ("api", f"API GET /api/v1/units/{ward}/summary", "city-api", f"/api/v1/units/{ward}/summary", WARD),
        ("api", "API GET /api/v1/officials?page=500&status=qualified", "city-api",
         "/api/v1/officials?page=500&status=qualified", WARD),
        ("api", "API GET /api/v1/officials (city, page 1)", "city-api", "/api/v1/officials", WARD),
        ("api", f"API GET /api/v1/officials?unit={ward}", "city-api", f"/api/v1/officials?unit={ward}", WARD),
        ("staffing", "city GET /hr/staffing/units/GEN (wards at risk first)", "city", "/hr/staffing/units/GEN",
         NATIONAL),
        ("staffing", "city GET /hr/staffing/units/GEN/per-1000", "city", "/hr/staffing/units/GEN/per-1000", NATIONAL),
        ("staffing", f"city GET /hr/staffing/units/{ward}", "city", f"/hr/staffing/units/{ward}", WARD),
        ("staffing", f"city GET /hr/staffing/units/{ward}/lend?position=1", "city",
         f"/hr/staffing/units/{ward}/lend?position={position}", WARD),
        ("staffing", f"ward GET /hr/staffing/units/{ward} (ward HR)", "ward", f"/hr/staffing/units/{ward}", WARD),
        ("staffing", f"API GET /api/v1/units/{ward}/coverage", "city-api", f"/api/v1/units/{ward}/coverage", WARD),
        ("small", "small city GET /hr/ (HCM, 80 officials)", "small", "/hr/", WARD),
        ("small", "small city GET /hr/units/HCM", "small", "/hr/units/HCM", WARD),
        ("small", "small city GET /hr/officials", "small", "/hr/officials", WARD),
        ("small", "small city GET /hr/gaps", "small", "/hr/gaps", WARD),
        ("small", "small city API /api/v1/units/HCM/summary", "small-api", "/api/v1/units/HCM/summary", WARD),
    ]


def table(results: list[dict], floor: float) -> str:
    lines = [f"| {'page':<58} | {'target':>6} | {'p50 ms':>8} | {'p90 ms':>8} | {'× floor':>7} | {'KB':>7} | HTTP |",
             f"|{'-' * 60}|{'-' * 8}|{'-' * 10}|{'-' * 10}|{'-' * 9}|{'-' * 9}|------|"]
    for item in results:
        if "p50" in item:
            mark = "" if item["p50"] < item["target"] else " ✗"
            lines.append(f"| {item['label']:<58} | {item['target']:>6} | {item['p50']:>8,.0f} | {item['p90']:>8,.0f} | "
                         f"{item['p50'] / floor:>7.1f} | {item['bytes'] / 1024:>7,.1f} | {item['status']}{mark} |")
        else:
            lines.append(f"| {item['label']:<58} | {item['target']:>6} | {'—':>8} | {'—':>8} | {'—':>7} | "
                         f"{item.get('bytes', 0) / 1024:>7,.1f} | {item.get('status') or item.get('error')} |")
    return "\n".join(lines)


def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--database-url", default="postgresql://postgres@127.0.0.1:5432/ccs_hr_bench")
    add("--code", default=str(ROOT), help="checkout whose code is served (default: this one)")
    add("--label", default="after", help="name of this run in the report and the JSON file")
    add("--build", action="store_true", help="create the database with setup --demo and generate")
    add("--fresh", action="store_true", help="with --build: drop and rebuild an existing database")
    add("--units", type=int, default=3321)
    add("--officials", type=int, default=250000)
    add("--attempts", type=int, default=2000000)
    add("--seed", type=int, default=2025)
    add("--repeat", type=int, default=9, help="timed requests per page after the warm-up")
    add("--workers", type=int, default=2, help="gunicorn workers (issue 17 measures 2)")
    add("--worker", action="store_true", help="also run an RQ worker (REDIS_URL) for exports that are jobs")
    add("--redis-url", default="redis://127.0.0.1:6379/11")
    add("--no-exports", action="store_true")
    add("--only", default="", help="comma-separated groups: national, ward, list, api, staffing, small")
    add("--timeout", type=float, default=120.0)
    add("--out", default=None)
    options = parser.parse_args(argv)
    for name, url in (("--database-url", options.database_url), ("--redis-url", options.redis_url)):
        if urlsplit(url).hostname not in LOCAL:
            parser.error(f"{name} must point at this machine")
    options.code = str(Path(options.code).resolve())
    options.secret = secrets.token_hex(32)
    return options


def main(argv=None) -> int:
    options = parse_options(argv)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    OUT.mkdir(parents=True, exist_ok=True)
    out_json = Path(options.out) if options.out else OUT / f"hr_scale-{options.label}-{stamp}.json"
    if options.build:
        build(options)
    info = prepare(options)
    say(f"GEN: {info['units']:,} units, {info['officials']:,} officials; ward {info['ward']}; code {options.code}")
    p12 = OUT / "hr_scale-org.p12"
    if not p12.exists():
        flask(options, "certificates", "dev-key", "--out", str(p12), "--passphrase", "bench-only-passphrase")
    import redis

    redis.Redis.from_url(options.redis_url).flushdb()
    env = code_env(options, TRAINING_CONFIG="production", CERT_P12_PATH=str(p12),
                   CERT_P12_PASSPHRASE="bench-only-passphrase", PUBLIC_BASE_URL="https://bench.example",
                   RATELIMIT_STORAGE_URI=options.redis_url, GUNICORN_ACCESS_LOG="/dev/null", TEST_DEPLOYMENT="1")
    env.pop("FLASK_RUN_FROM_CLI")
    if options.worker:
        env["REDIS_URL"] = options.redis_url
    log = out_json.with_suffix(".log")
    server = Gunicorn(options, env, log)
    worker = None
    try:
        server.wait()
        if options.worker:
            worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "training", "worker"], cwd=options.code,
                                      env=env, stdout=open(log, "a"), stderr=subprocess.STDOUT, start_new_session=True)
        base = server.base
        sessions = {"admin": login(base, ADMIN), "city": login(base, CITY_HR), "ward": login(base, WARD_HR),
                    "small": login(base, SMALL_HR), "city-api": bearer(base, CITY_HR),
                    "small-api": bearer(base, SMALL_HR)}
        floor_session = requests.Session()
        floor_start = time_page(floor_session, base + "/healthz", max(options.repeat, 15), options.timeout)
        groups = {g for g in options.only.split(",") if g}
        results = []
        for group, label, persona, url, target in pages(info):
            if groups and group not in groups:
                continue
            item = time_page(sessions[persona], base + url, options.repeat, options.timeout)
            item.update(group=group, label=label, url=url, target=target)
            results.append(item)
            say(f"  {label}: {item.get('p50', float('nan')):,.0f} ms, {item['bytes'] / 1024:,.1f} KB, "
                f"HTTP {item['status']} {item['error']}")
        floor_end = time_page(floor_session, base + "/healthz", max(options.repeat, 15), options.timeout)
        floor = statistics.median(floor_start["ms"] + floor_end["ms"])
        exports = {}
        if not options.no_exports:
            ward = info["ward"]
            for label, url in ((f"ward CSV ({ward})", f"/hr/export/officials.csv?unit={ward}"),
                               (f"ward XLSX ({ward})", f"/hr/export/officials.xlsx?unit={ward}"),
                               (f"ward PDF ({ward})", f"/hr/export/units/{ward}/report.pdf"),
                               ("city CSV, status=qualified&position=1", f"/hr/export/officials.csv?status=qualified"
                                                                         f"&position={info['position']}"),
                               ("city CSV, status=qualified", "/hr/export/officials.csv?status=qualified"),
                               ("city CSV (all)", "/hr/export/officials.csv"),
                               ("city XLSX (all)", "/hr/export/officials.xlsx"),
                               ("city PDF report", "/hr/export/units/GEN/report.pdf")):
                exports[label] = export(sessions["city"], base, url, server, worker.pid if worker else None,
                                        options.timeout)
                say(f"  export {label}: {exports[label]}")
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(30)
        server.stop()

    marker = Path(options.code) / "HEAD_COMMIT"  # a checkout exported with `git archive` says where it came from
    commit = marker.read_text().strip() if marker.exists() else subprocess.run(
        ["git", "-C", options.code, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    report = {"label": options.label, "started": stamp, "database": options.database_url, "code": options.code,
              "commit": commit, "info": info,
              "workers": options.workers, "loadavg": os.getloadavg(), "floor_ms": floor,
              "floor": {"start": floor_start, "end": floor_end}, "pages": results, "exports": exports}
    out_json.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\nHR at scale — {options.label}: GEN {info['units']:,} units / {info['officials']:,} officials; "
          f"gunicorn {options.workers} workers (gunicorn.conf.py, production); floor GET /healthz p50 {floor:.1f} ms; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(table(results, floor))
    if exports:
        print("\n| export | HTTP | s | MB | job s | workers RSS before → after (MB) | job process peak (MB) |")
        print("|---|---|---:|---:|---:|---|---:|")
        for label, item in exports.items():
            before = "+".join(f"{kb / 1024:.0f}" for kb in item.get("workers_rss_before_kb", []))
            after = "+".join(f"{kb / 1024:.0f}" for kb in item.get("workers_rss_after_kb", []))
            print(f"| {label} | {item.get('status')} {item.get('error', '')} | {item.get('s', 0):.2f} | "
                  f"{item.get('bytes', 0) / 1048576:.2f} | {item.get('job_s', 0):.1f} | {before} → {after} | "
                  f"{item.get('job_worker_peak_kb', 0) / 1024:.0f} |")
    print(f"\nJSON: {out_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
