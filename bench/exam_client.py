"""The load client of bench/exam_day.py: asyncio learners over a bounded pool of HTTP/1.1 connections.

No thread per learner: every learner is a coroutine that mostly sleeps (think time), so 10,000 of
them fit in one process. Their requests share a fixed number of keep-alive connections, as they would
behind a reverse proxy; a request waits for a free connection, and that wait counts in its latency
and its timeout (the learner's browser does not know about the proxy).

Retries follow the quiz page (training/static/js/attempt.js): network errors, timeouts, 429 and 5xx
are resent with exponential backoff and "equal jitter" (1 s doubling to 60 s), never sooner than a
429/5xx's Retry-After. Every answer the server acknowledged (PUT → 200) is remembered with its value
and saved_at, and checked against what the server returns when the attempt is read back.
"""
from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime

# As the quiz page's script (attempt.js): BASE_DELAY, MAX_DELAY, MAX_RETRY_AFTER.
BASE_DELAY, MAX_DELAY, MAX_RETRY_AFTER = 1.0, 60.0, 600.0
KINDS = ("list", "start", "save", "submit", "read-back")
OK = {"list": (200,), "start": (200, 201), "save": (200,), "submit": (200,), "read-back": (200,),
      "verify": (200,), "healthz": (200,)}


# --------------------------------------------------------------------------- HTTP
@dataclass(slots=True)
class Reply:
    status: int | None           # None: no HTTP answer (see error)
    error: str | None            # None, "timeout", "queued timeout" (never sent), "connection"
    sent: bool                   # the request left the client: the server may have acted on it
    began: float
    ended: float
    body: bytes = b""
    retry_after: float | None = None
    detail: str = ""

    @property
    def latency(self) -> float:
        return self.ended - self.began

    @property
    def outcome(self) -> str:
        return str(self.status) if self.status is not None else self.error or "?"

    def json(self):
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


def parse_retry_after(value: bytes | None) -> float | None:
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER)
    try:
        return max(0.0, min(parsedate_to_datetime(text).timestamp() - time.time(), MAX_RETRY_AFTER))
    except (TypeError, ValueError):
        return None


class Pool:
    """At most `size` keep-alive HTTP/1.1 connections to one loopback server."""

    def __init__(self, host: str, port: int, size: int, idle_limit: float = 4.0) -> None:
        self.host, self.port = host, port
        self.slots = asyncio.Semaphore(size)
        # gunicorn closes a keep-alive connection after `keepalive` (5 s) idle; we drop ours first, so
        # that a request is never written into a socket the server is closing (nothing to retry then).
        self.idle_limit = idle_limit
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened = 0
        self.host_header = f"Host: {host}:{port}\r\n"

    async def _connection(self):
        loop = asyncio.get_running_loop()
        while self.idle:
            reader, writer, last = self.idle.pop()
            if loop.time() - last < self.idle_limit and not reader.at_eof() and not writer.is_closing():
                return reader, writer
            writer.transport.abort()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.opened += 1
        return reader, writer

    def _encode(self, method: str, path: str, token: str | None, payload) -> bytes:
        head = f"{method} {path} HTTP/1.1\r\n{self.host_header}Accept: application/json\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        if payload is None:
            return (head + "\r\n").encode()
        body = json.dumps(payload, ensure_ascii=False).encode()
        return (head + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body

    @staticmethod
    async def _read(reader: asyncio.StreamReader):
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, _, rest = head.partition(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        headers = {}
        for line in rest.split(b"\r\n"):
            if line:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
        if b"content-length" in headers:
            body = await reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            body = b"".join(parts)
        else:
            body = await reader.read()
            headers[b"connection"] = b"close"
        return status, headers, body

    async def request(self, method: str, path: str, token: str | None = None, payload=None,
                      timeout: float = 30.0) -> Reply:
        loop = asyncio.get_running_loop()
        began = loop.time()
        acquired = sent = False
        conn = None
        try:
            async with asyncio.timeout(timeout):
                await self.slots.acquire()
                acquired = True
                conn = await self._connection()
                reader, writer = conn
                writer.write(self._encode(method, path, token, payload))
                sent = True
                status, headers, body = await self._read(reader)
            if headers.get(b"connection", b"").lower() == b"close":
                conn[1].transport.abort()
            else:
                self.idle.append((conn[0], conn[1], loop.time()))
            conn = None
            return Reply(status, None, True, began, loop.time(), body, parse_retry_after(headers.get(b"retry-after")))
        except TimeoutError:
            return Reply(None, "timeout" if sent else "queued timeout", sent, began, loop.time())
        except (OSError, EOFError, ValueError, IndexError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError) as exc:
            return Reply(None, "connection", sent, began, loop.time(), detail=f"{type(exc).__name__}: {exc}"[:200])
        finally:
            if conn is not None:  # mid-request: this connection's state is unknown, never reuse it
                conn[1].transport.abort()
            if acquired:
                self.slots.release()

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.transport.abort()
        self.idle.clear()


def retryable(reply: Reply) -> bool:
    return reply.status is None or reply.status == 429 or reply.status >= 500


def backoff(failures: int, reply: Reply, rng: random.Random) -> float:
    """attempt.js's retryLater: equal jitter, and never sooner than a 429/5xx's Retry-After."""
    ceiling = min(MAX_DELAY, BASE_DELAY * 2 ** (failures - 1))
    delay = ceiling / 2 + rng.random() * ceiling / 2
    wait = reply.retry_after if reply.status is not None and (reply.status == 429 or reply.status >= 500) else None
    if wait:
        delay = max(delay, wait + rng.random() * min(wait / 2, 10.0))
    return delay


# --------------------------------------------------------------------------- statistics
class Stats:
    """Latencies and outcomes per request kind, with a per-second timeline."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.latency: dict[str, list[float]] = defaultdict(list)       # every request
        self.ack: dict[str, list[float]] = defaultdict(list)           # first send → acknowledged
        self.outcomes: dict[str, Counter] = defaultdict(Counter)
        self.retries: Counter = Counter()
        self.gave_up: Counter = Counter()
        self.first_sent: dict[str, float] = {}
        self.last_ok: dict[str, float] = {}
        self.timeline: dict[int, Counter] = defaultdict(Counter)
        self.examples: dict[str, str] = {}
        self.failures: list[tuple[str, str, float, float]] = []       # kind, outcome, began, ended
        self.sent = 0                                                  # requests the server may have seen

    def record(self, kind: str, reply: Reply) -> bool:
        ok = reply.status in OK.get(kind, (200,))
        self.latency[kind].append(reply.latency)
        self.outcomes[kind][reply.outcome] += 1
        self.first_sent.setdefault(kind, reply.began)
        self.sent += reply.sent
        second = int(reply.ended - self.t0)
        if ok:
            self.last_ok[kind] = reply.ended
            self.timeline[second][f"{kind} ok"] += 1
        else:
            self.timeline[second][f"{kind} failed"] += 1
            self.failures.append((kind, reply.outcome, reply.began, reply.ended))
            key = f"{kind} {reply.outcome}"
            if key not in self.examples:
                self.examples[key] = reply.detail or reply.body[:200].decode(errors="replace")
        return ok

    def ok_count(self, kind: str) -> int:
        return sum(n for outcome, n in self.outcomes[kind].items() if outcome.isdigit()
                   and int(outcome) in OK.get(kind, (200,)))

    def requests(self) -> int:
        return sum(len(v) for v in self.latency.values())


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]  # nearest rank


def summarise(stats: Stats, kinds=KINDS) -> dict:
    out = {}
    for kind in kinds:
        values = stats.latency.get(kind, [])
        if not values:
            continue
        ok = stats.ok_count(kind)
        span = stats.last_ok.get(kind, 0) - stats.first_sent.get(kind, 0)
        errors = {outcome: n for outcome, n in stats.outcomes[kind].items()
                  if not (outcome.isdigit() and int(outcome) in OK.get(kind, (200,)))}
        ms = lambda v: None if v is None else round(v * 1000, 1)  # noqa: E731
        out[kind] = {
            "requests": len(values), "ok": ok, "ok_per_s": round(ok / span, 2) if span > 0 else None,
            "p50_ms": ms(percentile(values, .50)), "p95_ms": ms(percentile(values, .95)),
            "p99_ms": ms(percentile(values, .99)), "max_ms": ms(max(values)),
            "ack_p99_ms": ms(percentile(stats.ack.get(kind, []), .99)),
            "errors": dict(sorted(errors.items())), "retries": stats.retries[kind], "gave_up": stats.gave_up[kind],
        }
    return out


def peak_rate(stats: Stats, kind: str, width: int = 10) -> float:
    """The highest number of acknowledged requests of a kind in any `width`-second span, per second."""
    counts = {second: c[f"{kind} ok"] for second, c in stats.timeline.items()}
    if not counts:
        return 0.0
    best = 0
    for start in range(min(counts), max(counts) + 1):
        best = max(best, sum(counts.get(start + i, 0) for i in range(width)))
    return best / width


# --------------------------------------------------------------------------- answers
def norm(value) -> str:
    """A canonical form: the order of a multiple-choice list does not matter."""
    if isinstance(value, list):
        value = sorted(value, key=lambda v: json.dumps(v, sort_keys=True))
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def instant(text) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except (TypeError, ValueError):
        return None


@dataclass(slots=True)
class Sent:
    """One PUT of an answer, in the order the learner sent them."""
    value: object
    key: str
    outcome: str
    sent: bool
    began: float
    saved_at: datetime | None = None


@dataclass
class Learner:
    index: int
    email: str
    token: str
    rng: random.Random
    start_at: float = 0.0
    attempt_id: int | None = None
    created: bool | None = None
    questions: dict[int, dict] = field(default_factory=dict)
    baseline: dict[str, str] = field(default_factory=dict)  # answers already there on a resumed start
    log: dict[int, list[Sent]] = field(default_factory=lambda: defaultdict(list))
    used: dict[int, set] = field(default_factory=lambda: defaultdict(set))
    abandoned: set = field(default_factory=set)
    counter: int = 0
    failed_start_sends: int = 0
    submitted: bool = False
    finished: bool = False
    failure: str | None = None
    readback: dict | None = None

    def new_value(self, slot: int):
        """A valid answer for the slot, different from the ones sent before where the type allows, so
        that a stored value tells which request wrote it."""
        q = self.questions[slot]
        kind, options = q.get("type"), [o["id"] for o in q.get("options") or []]
        used = self.used[slot]
        self.counter += 1
        value = None
        if kind in ("single", "truefalse") and options:
            fresh = [o for o in options if norm(o) not in used]
            value = self.rng.choice(fresh or options)
        elif kind == "multi" and options:
            for _ in range(20):
                value = self.rng.sample(options, self.rng.randint(1, len(options)))
                if norm(value) not in used:
                    break
        elif kind == "matching" and options:
            items = [i["id"] for i in q.get("items") or []]
            for _ in range(20):
                value = {item: self.rng.choice(options) for item in items}
                if norm(value) not in used:
                    break
        elif kind == "numerical":
            value = str(self.index * 1000 + self.counter)
        else:
            value = f"Trả lời thử {self.index}-{slot}-{self.counter}"
        used.add(norm(value))
        return value


class Verdict:
    """What the read-back says about every answer a learner sent."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.examples: list[str] = []

    def note(self, what: str, learner: Learner, slot: int | None, detail: str = "") -> None:
        self.counts[what] += 1
        if len(self.examples) < 20 and what not in ("acknowledged ok", "no answer sent"):
            self.examples.append(f"{what}: {learner.email} attempt {learner.attempt_id} slot {slot} {detail}")

    def check(self, learner: Learner, payload: dict) -> None:
        """Each slot lands in exactly one verdict; "lost acknowledged answer" must stay 0.

        The stored value is matched to the request that sent it. "final value from a request given
        up on": the value of a request that timed out, failed or was refused (429/503) is what the
        server holds; if that request was sent before a later acknowledged one, the acknowledged
        answer was overwritten, and that counts as lost too. (Every write, also one overwritten
        later, is counted by `writes` below from the database's own log.)"""
        answers = payload.get("answers") or {}
        saved = payload.get("saved_at") or {}
        if learner.submitted and payload.get("state") not in (None, "finished"):
            self.note("submitted but not finished", learner, None, str(payload.get("state")))
        for slot in learner.questions:
            log = learner.log.get(slot, [])
            stored = answers.get(str(slot))
            key = norm(stored) if stored is not None else None
            if not log:
                same = key == learner.baseline.get(str(slot))
                self.note("no answer sent" if same else "stored value never sent", learner, slot)
                continue
            acked = [i for i, s in enumerate(log) if s.outcome == "200"]
            last = acked[-1] if acked else None
            self.counts["acknowledged"] += last is not None
            given_up = [i for i, s in enumerate(log) if s.outcome != "200" and s.sent and s.key == key]
            if last is not None and key == log[last].key:
                if instant(saved.get(str(slot))) == log[last].saved_at:
                    self.note("acknowledged ok", learner, slot)
                elif given_up:  # the acknowledged value, written again later by a copy given up on
                    self.note("final value from a request given up on", learner, slot, log[given_up[-1]].outcome)
                else:
                    self.note("acknowledged value rewritten by an unknown request", learner, slot)
            elif given_up:
                i = given_up[-1]
                self.note("final value from a request given up on", learner, slot, log[i].outcome)
                if last is not None and i < last:
                    self.note("lost acknowledged answer", learner, slot,
                              f"overwritten by an earlier request given up on ({log[i].outcome})")
            elif last is not None:
                self.note("lost acknowledged answer", learner, slot,
                          f"stored {stored!r:.60} acknowledged {log[last].value!r:.60}")
            elif key is not None and key != learner.baseline.get(str(slot)):
                self.note("stored value never sent", learner, slot, f"{stored!r:.60}")
            else:
                self.note("never acknowledged, not stored", learner, slot)


    def writes(self, learner: Learner, landed: dict) -> None:
        """Compare the writes the database logged for each slot (their saved_at) with the saves the
        client was told about: a write nobody acknowledged is a save stored after the client gave up
        (timed out, lost its connection, or was refused: a refused save must never be stored)."""
        for slot, log in learner.log.items():
            written = set(landed.get((learner.attempt_id, slot), ()))
            acked = {s.saved_at for s in log if s.outcome == "200"}
            given_up = [s for s in log if s.outcome != "200" and s.sent]
            self.counts["unacknowledged sends"] += len(given_up)
            extra = len(written - acked)
            if extra:
                refused = given_up and all(s.outcome.isdigit() for s in given_up)
                self.counts["stored after the client gave up"] += extra
                self.counts["stored after give-up (refused: " + ",".join(sorted({s.outcome for s in given_up})) + ")"
                            if refused else "stored after give-up (timeout or connection)"] += extra
                self.note("write nobody acknowledged", learner, slot, ", ".join(s.outcome for s in given_up))
            if acked - written - {None}:
                self.note("acknowledged write missing from the database log", learner, slot)


# --------------------------------------------------------------------------- the exam-day scenario
@dataclass
class Scenario:
    """Options of one exam-day run against one server."""
    quiz_id: int
    window: float
    think: tuple[float, float]
    resave: float
    timeout: float
    max_tries: int
    on_timeout: str           # change | resend | abandon
    list_each: bool
    verify: bool              # read back and check (not against floor_json)
    deadline: float           # loop time after which nobody sends anything new


class ExamDay:
    """N learners start in a window, answer every question with think time, resave some, submit,
    read back."""

    def __init__(self, pool: Pool, scenario: Scenario, learners: list[Learner], stats: Stats) -> None:
        self.pool, self.s, self.learners, self.stats = pool, scenario, learners, stats
        self.resumed_after_failure = 0
        self.done = 0

    def loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    async def send(self, kind: str, method: str, path: str, learner: Learner, payload=None) -> Reply:
        reply = await self.pool.request(method, path, learner.token, payload, self.s.timeout)
        self.stats.record(kind, reply)
        return reply

    async def call(self, kind: str, method: str, path: str, learner: Learner, payload=None) -> Reply:
        first, failures = self.loop_time(), 0
        while True:
            reply = await self.send(kind, method, path, learner, payload)
            if reply.status in OK[kind]:
                self.stats.ack[kind].append(reply.ended - first)
                return reply
            if kind == "start" and reply.sent:
                learner.failed_start_sends += 1
            if not retryable(reply):
                return reply
            failures += 1
            delay = backoff(failures, reply, learner.rng)
            if failures >= self.s.max_tries or self.loop_time() + delay > self.s.deadline:
                self.stats.gave_up[kind] += 1
                return reply
            self.stats.retries[kind] += 1
            await asyncio.sleep(delay)

    async def save(self, learner: Learner, slot: int) -> int | None:
        """Send an answer until acknowledged (or refused for good). Returns the last status."""
        path = f"/api/v1/attempts/{learner.attempt_id}/answers/{slot}"
        value = learner.new_value(slot)
        first, failures = self.loop_time(), 0
        while True:
            reply = await self.send("save", "PUT", path, learner, {"response": value})
            entry = Sent(value, norm(value), reply.outcome, reply.sent, reply.began)
            learner.log[slot].append(entry)
            if reply.status == 200:
                entry.saved_at = instant((reply.json() or {}).get("saved_at"))
                self.stats.ack["save"].append(reply.ended - first)
                return 200
            if not retryable(reply):
                return reply.status
            failures += 1
            delay = backoff(failures, reply, learner.rng)
            if failures >= self.s.max_tries or self.loop_time() + delay > self.s.deadline:
                self.stats.gave_up["save"] += 1
                return reply.status
            if self.s.on_timeout == "abandon" and reply.sent and reply.error == "timeout":
                learner.abandoned.add(slot)  # the client gave up: never sent again, the read-back tells
                self.stats.gave_up["save"] += 1
                return None
            self.stats.retries["save"] += 1
            await asyncio.sleep(delay)
            if self.s.on_timeout == "change" and reply.sent:
                value = learner.new_value(slot)  # meanwhile the learner picked again: tells the writes apart

    def think(self, learner: Learner) -> float:
        return learner.rng.uniform(*self.s.think)

    async def learner(self, learner: Learner) -> None:
        try:
            await self._learner(learner)
        finally:
            self.done += 1

    async def _learner(self, learner: Learner) -> None:
        await asyncio.sleep(learner.start_at)
        if self.s.list_each:
            reply = await self.call("list", "GET", "/api/v1/quizzes", learner)
            listed = {q.get("id"): q for q in (reply.json() or [])} if reply.status == 200 else {}
            if reply.status != 200:
                learner.failure = f"list {reply.outcome}"
                return
            if self.s.quiz_id not in listed or listed[self.s.quiz_id].get("attempts_left") == 0:
                learner.failure = "quiz not open to the learner"
                return
        reply = await self.call("start", "POST", f"/api/v1/quizzes/{self.s.quiz_id}/attempts", learner)
        data = reply.json() if reply.status in (200, 201) else None
        if not data:
            learner.failure = f"start {reply.outcome}"
            return
        learner.attempt_id, learner.created = data["attempt_id"], reply.status == 201
        if reply.status == 200 and learner.failed_start_sends:
            self.resumed_after_failure += 1  # the server made the attempt of a request we had given up on
        learner.questions = {q["slot"]: q for q in data.get("questions", [])}
        learner.baseline = {slot: norm(value) for slot, value in (data.get("answers") or {}).items()}
        slots = sorted(learner.questions)
        closed = False
        for i, slot in enumerate(slots):
            await asyncio.sleep(self.think(learner))
            if self.loop_time() > self.s.deadline:
                learner.failure = "run deadline before the last answer"
                return
            if await self.save(learner, slot) == 409:
                closed = True
                break
            if learner.rng.random() < self.s.resave:
                await asyncio.sleep(self.think(learner))
                again = learner.rng.choice([s for s in slots[:i + 1] if s not in learner.abandoned] or [slot])
                if again not in learner.abandoned and await self.save(learner, again) == 409:
                    closed = True
                    break
        await asyncio.sleep(self.think(learner))
        reply = await self.call("submit", "POST", f"/api/v1/attempts/{learner.attempt_id}/submit", learner)
        learner.submitted = reply.status == 200
        if closed and not learner.submitted:
            learner.failure = "time up before submitting"
        if self.s.verify:
            reply = await self.call("read-back", "GET", f"/api/v1/attempts/{learner.attempt_id}", learner)
            if reply.status == 200:
                learner.readback = reply.json()
        learner.finished = True


async def read_back_all(pool: Pool, learners: list[Learner], timeout: float, deadline: float,
                        stats: Stats) -> None:
    """Read every started attempt again (after the run, or after a restart): kind "verify"."""
    scenario = Scenario(0, 0, (0, 0), 0, timeout, 12, "resend", False, True, deadline)
    runner = ExamDay(pool, scenario, [], stats)
    queue = asyncio.Queue()
    for learner in learners:
        if learner.attempt_id is not None:
            queue.put_nowait(learner)

    async def worker():
        while not queue.empty():
            learner = queue.get_nowait()
            reply = await runner.call("verify", "GET", f"/api/v1/attempts/{learner.attempt_id}", learner)
            if reply.status == 200:
                learner.readback = reply.json()

    await asyncio.gather(*(worker() for _ in range(8)))


# --------------------------------------------------------------------------- closed-loop capacity
async def closed_loop(pool: Pool, concurrency: int, warmup: float, duration: float, next_request, on_reply,
                      timeout: float, measure_hooks) -> dict:
    """`concurrency` workers send back to back: `warmup` seconds unmeasured, then `duration` measured.

    next_request() gives (kind, method, path, token, payload) or None when nothing is left;
    on_reply(request, reply) sees every reply. measure_hooks(begin: bool) is called at the measured
    window's edges (CPU snapshots). Returns the measured figures."""
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + warmup + duration
    window = {"start": loop.time() + warmup, "end": None}
    latencies, outcomes, exhausted = [], Counter(), {"at": None, "last": None}

    async def worker():
        while loop.time() < stop_at:
            request = next_request()
            if request is None:
                exhausted["at"] = exhausted["at"] or loop.time()
                return
            kind, method, path, token, payload = request
            reply = await pool.request(method, path, token, payload, timeout)
            on_reply(request, reply)
            if window["start"] <= reply.ended <= stop_at:
                latencies.append(reply.latency)
                outcomes[reply.outcome] += 1
                exhausted["last"] = reply.ended

    tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
    await asyncio.sleep(max(0.0, window["start"] - loop.time()))
    measure_hooks(True)
    began = loop.time()
    done, _ = await asyncio.wait(tasks, timeout=max(0.0, stop_at - loop.time()))
    ended = loop.time()
    measure_hooks(False)
    if exhausted["at"] is not None and exhausted["last"] is not None:
        ended = exhausted["last"]  # nothing left to send: the window closes with the last reply
    await asyncio.wait(tasks, timeout=timeout + 5)
    for task in tasks:
        task.cancel()
    span = max(ended - began, 1e-6)
    ok = outcomes.get("200", 0) + outcomes.get("201", 0)
    ms = lambda v: None if v is None else round(v * 1000, 1)  # noqa: E731
    return {"seconds": round(span, 2), "requests": len(latencies), "ok": ok, "req_per_s": round(ok / span, 1),
            "p50_ms": ms(percentile(latencies, .5)), "p95_ms": ms(percentile(latencies, .95)),
            "p99_ms": ms(percentile(latencies, .99)), "max_ms": ms(max(latencies) if latencies else None),
            "errors": {k: v for k, v in outcomes.items() if k not in ("200", "201")},
            "ran_out_of_accounts": exhausted["at"] is not None}
