"""A bounded load test of the attempt API: virtual learners start a quiz, answer, submit.

    .venv/bin/python bench/load_attempts.py --tokens tokens.csv [--url http://127.0.0.1:5000]
        [--learners 20] [--attempts 200] [--duration 120] [--quiz ID] [--timeout 30]

The tokens file is what `flask --app training generate ... --tokens-out FILE` writes (email,token).
Each of --learners threads is one virtual learner at a time: it takes the next unused token, lists
its quizzes, starts an attempt (POST /api/v1/quizzes/<id>/attempts), saves an answer to every
question (PUT /api/v1/attempts/<id>/answers/<slot>) and submits (POST .../submit), then moves on
to the next token. Every token is used at most once, so no account meets its own rate limits.

It stops by itself after --attempts attempts or --duration seconds, whichever comes first, and
only ever talks to 127.0.0.1 / localhost (a load test is not something to point at a live site).
The report gives p50 / p95 / p99 / max latency per kind of request, throughput, and every error
by kind and status. The exit status is 1 when any request failed.
"""
from __future__ import annotations

import argparse
import csv
import http.client
import json
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from urllib.parse import urlsplit

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
KINDS = ("list quizzes", "start attempt", "save answer", "submit")


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter = Counter()
        self.examples: dict[tuple[str, str], str] = {}
        self.attempts_done = 0
        self.attempts_started = 0

    def record(self, kind: str, seconds: float, error: str | None = None, detail: str = "") -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            if error:
                self.errors[kind, error] += 1
                self.examples.setdefault((kind, error), detail[:200])


class Learner(threading.Thread):
    """One virtual learner at a time on a keep-alive connection; picks up tokens until told to stop."""

    def __init__(self, host: str, port: int, tokens, state: dict, stats: Stats, options) -> None:
        super().__init__(daemon=True)
        self.host, self.port = host, port
        self.tokens, self.state, self.stats, self.options = tokens, state, stats, options
        self.rng = random.Random()
        self.connection: http.client.HTTPConnection | None = None

    # ------------------------------------------------------------------ http
    def request(self, kind: str, method: str, path: str, token: str, body=None, ok=(200, 201)):
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        began = time.perf_counter()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.options.timeout)
            self.connection.request(method, path, body=payload, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                self.close()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            self.stats.record(kind, time.perf_counter() - began, type(exc).__name__, str(exc))
            return None
        elapsed = time.perf_counter() - began
        if status not in ok:
            self.stats.record(kind, elapsed, f"HTTP {status}", data.decode(errors="replace"))
            return None
        self.stats.record(kind, elapsed)
        try:
            return json.loads(data) if data else {}
        except ValueError:
            self.stats.record(kind, 0.0, "not JSON", data[:200].decode(errors="replace"))
            return None

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    # ------------------------------------------------------------------ one attempt
    def next_token(self) -> str | None:
        with self.state["lock"]:
            if self.should_stop() or self.state["claimed"] >= self.options.attempts:
                return None
            try:
                _, token = next(self.tokens)
            except StopIteration:
                return None
            self.state["claimed"] += 1
            return token

    def should_stop(self) -> bool:
        return time.monotonic() >= self.state["deadline"]

    def answer(self, question: dict):
        options = [o["id"] for o in question.get("options") or []]
        kind = question.get("type")
        if kind in ("single", "truefalse") and options:
            return self.rng.choice(options)
        if kind == "multi" and options:
            return self.rng.sample(options, self.rng.randint(1, len(options)))
        if kind == "matching" and options:
            return {item["id"]: self.rng.choice(options) for item in question.get("items") or []}
        if kind == "numerical":
            return str(self.rng.randint(0, 100))
        return "trả lời thử"

    def run(self) -> None:
        while True:
            token = self.next_token()
            if token is None:
                break
            quizzes = self.request("list quizzes", "GET", "/api/v1/quizzes", token, ok=(200,))
            if not quizzes:
                continue
            open_ = [q for q in quizzes if q.get("attempts_left") is None or q["attempts_left"] > 0]
            if self.options.quiz:
                open_ = [q for q in open_ if q["id"] == self.options.quiz]
            if not open_:
                self.stats.record("start attempt", 0.0, "no quiz left", "no open quiz with attempts left")
                continue
            quiz = self.rng.choice(open_)
            attempt = self.request("start attempt", "POST", f"/api/v1/quizzes/{quiz['id']}/attempts", token)
            if not attempt:
                continue
            with self.stats.lock:
                self.stats.attempts_started += 1
            for question in attempt.get("questions", []):
                if self.should_stop():
                    break
                self.request("save answer", "PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/"
                             f"{question['slot']}", token, {"response": self.answer(question)}, ok=(200,))
            result = self.request("submit", "POST", f"/api/v1/attempts/{attempt['attempt_id']}/submit", token,
                                  ok=(200,))
            if result is not None and result.get("state") == "finished":
                with self.stats.lock:
                    self.stats.attempts_done += 1
        self.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def read_tokens(path: str) -> list[tuple[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if not rows or [cell.strip().lower() for cell in rows[0][:2]] != ["email", "token"]:
        sys.exit(f"{path}: cần tệp CSV có tiêu đề email,token (từ generate --tokens-out).")
    return [(row[0], row[1]) for row in rows[1:] if len(row) >= 2 and row[1]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", required=True, help="CSV email,token from `generate --tokens-out`")
    parser.add_argument("--url", default="http://127.0.0.1:5000", help="server base URL (127.0.0.1 only)")
    parser.add_argument("--learners", type=int, default=20, help="concurrent virtual learners (default 20)")
    parser.add_argument("--attempts", type=int, default=200, help="stop after this many attempts (default 200)")
    parser.add_argument("--duration", type=float, default=120, help="stop after this many seconds (default 120)")
    parser.add_argument("--quiz", type=int, default=None, help="only this quiz id (default: any open quiz)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds before a request counts as failed")
    parser.add_argument("--skip", type=int, default=0, help="skip the first N tokens (e.g. used by a previous run)")
    options = parser.parse_args()

    url = urlsplit(options.url)
    if url.scheme != "http" or url.hostname not in LOCAL_HOSTS:
        sys.exit("Chỉ chạy với máy chủ cục bộ: --url http://127.0.0.1:PORT (load tests stay on this machine).")
    if options.learners < 1 or options.attempts < 1 or options.duration <= 0:
        sys.exit("--learners, --attempts và --duration phải lớn hơn 0.")
    tokens = read_tokens(options.tokens)[options.skip:]
    if not tokens:
        sys.exit("Không còn token nào để dùng.")
    options.attempts = min(options.attempts, len(tokens))

    stats = Stats()
    began = time.monotonic()
    state = {"lock": threading.Lock(), "claimed": 0, "deadline": began + options.duration}
    token_iter = iter(tokens)
    learners = [Learner(url.hostname, url.port or 80, token_iter, state, stats, options)
                for _ in range(options.learners)]
    print(f"{options.learners} người học ảo → {options.url}; tối đa {options.attempts} bài làm "
          f"hoặc {options.duration:.0f} giây", file=sys.stderr)
    for learner in learners:
        learner.start()
    for learner in learners:
        # Bounded even if the server hangs: one last request may take up to --timeout.
        learner.join(max(0.1, state["deadline"] - time.monotonic()) + options.timeout * 2)
    wall = time.monotonic() - began

    total = sum(len(v) for v in stats.latency.values())
    errors = sum(stats.errors.values())
    print(f"\nThời gian {wall:.1f} s; {stats.attempts_done} bài làm nộp xong / {stats.attempts_started} bắt đầu "
          f"({stats.attempts_done / wall:.1f} bài/giây); {total} yêu cầu ({total / wall:.1f} yêu cầu/giây); "
          f"{errors} lỗi")
    print(f"| {'Yêu cầu':<14} | {'số':>6} | {'p50 ms':>7} | {'p95 ms':>7} | {'p99 ms':>7} | {'max ms':>7} | lỗi")
    print(f"|{'-' * 16}|{'-' * 8}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|-----")
    everything = []
    for kind in KINDS:
        values = stats.latency.get(kind, [])
        everything += values
        failed = sum(n for (k, _), n in stats.errors.items() if k == kind)
        if values:
            print(f"| {kind:<14} | {len(values):>6} | {percentile(values, .50) * 1000:>7.0f} | "
                  f"{percentile(values, .95) * 1000:>7.0f} | {percentile(values, .99) * 1000:>7.0f} | "
                  f"{max(values) * 1000:>7.0f} | {failed}")
    if everything:
        print(f"| {'tất cả':<14} | {len(everything):>6} | {percentile(everything, .50) * 1000:>7.0f} | "
              f"{percentile(everything, .95) * 1000:>7.0f} | {percentile(everything, .99) * 1000:>7.0f} | "
              f"{max(everything) * 1000:>7.0f} | {errors}")
    for (kind, error), count in sorted(stats.errors.items()):
        print(f"Lỗi {kind}: {error} × {count} — ví dụ: {stats.examples[kind, error]}")
    used = state["claimed"]
    print(f"Đã dùng {used} token; lần sau thêm --skip {options.skip + used} để dùng token mới.", file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
