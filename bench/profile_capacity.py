"""Where the attempt API spends its CPU: py-spy on the app's gunicorn workers during exam_day.py's
closed-loop capacity tests of start, save and (with --sitting) start in a sitting, one profile per
request kind over all the rounds.

    .venv/bin/pip install py-spy        # a profiler, not a dependency of the app
    .venv/bin/python bench/profile_capacity.py [--seconds 20] [--top 15] [-- --sitting ...]

It runs `bench/exam_day.py` with a tiny scenario and no floor runs (the capacity tests still measure
the floors beside the app), watches its output, and while "app start" and then "app save" are measured
(after their warm-up) samples every app worker with `py-spy record --format raw` (100 samples/s,
only the thread holding the GIL, so the samples are the Python CPU that limits a worker; the time a
thread waits for PostgreSQL or Redis is not in them). It prints, per request kind, the share of samples
under each frame (inclusive) for the frames that matter, and writes the raw profiles next to
exam_day's JSON in bench/out/.
"""
from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OUT = ROOT / "bench" / "out"
PHASES = {"app start (POST": "start", "app save (PUT": "save", "app start in a sitting": "sitting-start"}
# Frames worth naming in a summary: the app's own code and the libraries a request passes through.
INTERESTING = re.compile(r"(training/|quizzes/|courses/|certificates/|flask_limiter|limits/|redis/|psycopg|"
                         r"sqlalchemy/engine|sqlalchemy/orm/(session|query|loading)|werkzeug/|flask/app|json)")


def summarise(path: Path, top: int) -> list[str]:
    counts: dict[str, int] = collections.Counter()
    own: dict[str, int] = collections.Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        samples = int(number)
        total += samples
        seen = set()
        frames = stack.split(";")
        if frames:
            own[re.sub(r":\d+\)$", ")", frames[-1])] += samples
        for frame in frames:
            name = re.sub(r":\d+\)$", ")", frame)  # one entry per function, whatever the line
            if name not in seen and INTERESTING.search(name):
                seen.add(name)
                counts[name] += samples
    if not total:
        return ["  (no samples)"]
    lines = [f"  {total} samples"]
    for name, samples in counts.most_common(top):
        lines.append(f"  {100 * samples / total:5.1f} %  {name}")
    lines.append("  where the samples end (self time):")
    for name, samples in own.most_common(top):
        lines.append(f"  {100 * samples / total:5.1f} %  {name}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per capacity test")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("extra", nargs="*", help="more exam_day.py options (after --)")
    options = parser.parse_args()
    spy = BIN / "py-spy"
    if not spy.exists():
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    command = [sys.executable, str(ROOT / "bench" / "exam_day.py"), "--learners", "20", "--window", "2",
               "--think", "0.2-0.5", "--no-floor-runs", "--capacity-seconds", str(options.seconds),
               "--capacity-accounts", "3000", "--label", "profile", *options.extra]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    workers: list[int] = []
    profiles: dict[str, list[Path]] = {}
    spies: list[subprocess.Popen] = []
    for line in process.stdout:
        print(line, end="")
        ready = re.match(r"app ready .*\(workers \[([\d, ]+)\]\)", line)
        if ready:
            workers = [int(pid) for pid in ready.group(1).split(",")]
        for marker, kind in PHASES.items():
            if line.startswith(f"capacity: {marker}") and workers:
                warmup = 2.0
                time.sleep(warmup + 0.5)
                paths = profiles.setdefault(kind, [])  # every round of the capacity test adds its samples
                for pid in workers:
                    path = OUT / f"profile-{stamp}-{kind}-{pid}-{len(paths)}.txt"
                    paths.append(path)
                    spies.append(subprocess.Popen([str(spy), "record", "--format", "raw", "--rate", "100", "--gil",
                                                   "--duration", str(int(options.seconds - 2)), "--nonblocking",
                                                   "-o", str(path), "--pid", str(pid)],
                                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    process.wait()
    for spy_process in spies:
        spy_process.wait(timeout=60)
    for kind, paths in profiles.items():
        merged = OUT / f"profile-{stamp}-{kind}.txt"
        merged.write_text("".join(p.read_text(encoding="utf-8") for p in paths if p.exists()), encoding="utf-8")
        print(f"\nWhere the app's workers spend their samples during the capacity test of {kind} ({merged}):")
        print("\n".join(summarise(merged, options.top)))
    return process.returncode


if __name__ == "__main__":
    sys.exit(main())
