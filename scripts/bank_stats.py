"""Test-wiseness figures of GIFT question banks: can a learner who never reads a question score?

    .venv/bin/python scripts/bank_stats.py quizzes/content/*.gift

For each file: questions by type; for single choice, how often the key is the strictly longest
option, how often it is 1.3x / 1.5x longer than every distractor, and where it is written in the
source; for multiple choice, how often the right options are longer on average than the wrong ones;
for true/false, how many keys are "true". Then the expected score (percent of the bank's marks) of
blind strategies that read no question: the longest option, the option written first, always
"true", and random guessing.
"""
from __future__ import annotations

import re
import sys
from collections import Counter
from html import unescape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from quizzes.formats import parse_gift  # noqa: E402


def plain(text: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]*>", " ", text or ""))).strip()


def main(paths: list[str]) -> None:
    for path in paths:
        result = parse_gift(Path(path).read_bytes(), ["x"])
        questions = [p.question for p in result.questions]
        for issue in result.errors + result.warnings:
            print(f"   {path}: {issue}")
        kinds = Counter(q.qtype for q in questions)
        singles = [q for q in questions if q.qtype == "single"]
        longest = margin13 = margin15 = 0
        positions: Counter = Counter()
        score_longest = score_first = score_random = score_true = 0.0
        for q in singles:
            options = q.data["options"]
            lengths = [len(plain(o["text"])) for o in options]
            keys = [i for i, o in enumerate(options) if o["fraction"] >= 0.999]
            key = keys[0]
            others = [n for i, n in enumerate(lengths) if i != key]
            if lengths[key] > max(others):
                longest += 1
            if lengths[key] >= 1.3 * max(others):
                margin13 += 1
            if lengths[key] >= 1.5 * max(others):
                margin15 += 1
            positions[key + 1] += 1
            top = max(lengths)
            tied = [i for i, n in enumerate(lengths) if n == top]
            score_longest += sum(options[i]["fraction"] for i in tied) / len(tied)
            score_first += max(0.0, options[0]["fraction"])
            score_random += sum(max(0.0, o["fraction"]) for o in options) / len(options)
        multis = [q for q in questions if q.qtype == "multi"]
        longer_right = 0
        for q in multis:
            right = [len(plain(o["text"])) for o in q.data["options"] if o["fraction"] > 0]
            wrong = [len(plain(o["text"])) for o in q.data["options"] if o["fraction"] <= 0]
            if wrong and sum(right) / len(right) > sum(wrong) / len(wrong):
                longer_right += 1
        tf = [q for q in questions if q.qtype == "truefalse"]
        trues = sum(1 for q in tf if q.data.get("correct") is True)
        score_true = trues
        n_single = len(singles) or 1
        print(f"== {path}: {len(questions)} questions {dict(kinds)}")
        print(f"   single choice ({len(singles)}): key strictly longest {longest} ({100 * longest / n_single:.0f} %), "
              f">=1.3x every distractor {margin13} ({100 * margin13 / n_single:.0f} %), "
              f">=1.5x {margin15} ({100 * margin15 / n_single:.0f} %)")
        print(f"   key position in the source: {dict(sorted(positions.items()))}")
        print(f"   multiple choice ({len(multis)}): right options longer on average in {longer_right}")
        print(f"   true/false ({len(tf)}): key 'true' in {trues}")
        print(f"   single-choice expected score: longest {100 * score_longest / n_single:.0f} %, "
              f"first written {100 * score_first / n_single:.0f} %, random {100 * score_random / n_single:.0f} %; "
              f"true/false always 'true' {100 * score_true / (len(tf) or 1):.0f} %")


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(str(p) for p in Path("quizzes/content").glob("*.gift")))
