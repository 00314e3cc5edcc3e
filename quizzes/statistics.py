"""Item statistics for a quiz, computed the way Moodle's quiz statistics report computes them.

Plain data in, plain data out: no Flask, no database. The caller loads the attempts it wants
(`first_attempts_only` picks them per user, first attempts by default) and passes them to
`compute_statistics`.

Sources for the formulas: Moodle's `mod/quiz/report/statistics/classes/calculator.php` (test
statistics) and `question/classes/statistics/questions/calculator.php` (question statistics), and
the "Quiz statistics calculations" page of the Moodle developer docs. Each figure's docstring
below names the formula. Figures that cannot be defined for the data (no attempts, one attempt,
a score that never varies) are None, never an exception.

Test statistics are in marks (the sums of the question marks of each attempt, Moodle's
`sumgrades`); `QuizStats.max_total` lets a page show them as percentages. Question statistics are
percentages, as Moodle shows them.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

LOW_DISCRIMINATION = 20.0  # per cent; below this a question hardly separates strong from weak candidates
FEW_ATTEMPTS = 5  # with fewer attempts than this the figures are noise, but they are still computed
WHICH_ATTEMPTS = ("first", "all", "highest", "last")

FLAG_NEGATIVE_DISCRIMINATION = "negative_discrimination"
FLAG_LOW_DISCRIMINATION = "low_discrimination"
FLAG_NOBODY_RIGHT = "nobody_right"
FLAG_EVERYBODY_RIGHT = "everybody_right"
FLAG_TOO_FEW_ATTEMPTS = "too_few_attempts"


# --------------------------------------------------------------------------- input
@dataclass(frozen=True)
class SlotScore:
    """What one attempt got on one slot: the mark, the slot's maximum and the chosen option(s).

    `response_key` is a short string naming the chosen option(s) (for example "B" or "A,C"),
    used for option frequencies; None means the question was left unanswered.
    """

    mark: float
    max_mark: float
    response_key: str | None = None


@dataclass(frozen=True)
class AttemptScores:
    """The scores of one attempt, by slot.

    `question_ids` maps a slot to the question drawn for it in this attempt, for quizzes with
    randomly drawn questions; without it the slot itself identifies the question.
    """

    attempt_id: Hashable
    slots: Mapping[int, SlotScore]
    question_ids: Mapping[int, Hashable] | None = None

    def question_id(self, slot: int) -> Hashable:
        if self.question_ids is None:
            return slot
        return self.question_ids.get(slot, slot)

    @property
    def total(self) -> float:
        return math.fsum(score.mark for score in self.slots.values())

    @property
    def max_total(self) -> float:
        return math.fsum(score.max_mark for score in self.slots.values())


class NumberedAttempt(NamedTuple):
    """An attempt with its owner and its number (1 for the user's first attempt)."""

    user_id: Hashable
    number: int
    scores: AttemptScores


# --------------------------------------------------------------------------- output
@dataclass(frozen=True)
class OptionFrequency:
    """How many of the attempts that saw the question chose this response, and their share in %."""

    count: int
    percent: float


@dataclass(frozen=True)
class ItemStats:
    """Statistics of one question over the attempts that saw it.

    - `n`: attempts that saw the question (Moodle's "Attempts").
    - `facility`: mean of mark / max mark, in % (Moodle's "Facility index").
    - `sd`: sample standard deviation (n - 1) of mark / max mark, in % (Moodle's "Standard
      deviation", which it shows as sd / max mark); None when n < 2.
    - `discrimination_index`: 100 × Pearson correlation between the question's mark and the
      rest of the test (the attempt's total minus this question's mark):
      100 · cov(x, y) / √(var(x) · var(y)), sample (n - 1) moments. None when n < 2 or either
      score never varies. Moodle correlates a randomly drawn question with the whole total
      instead of the rest; we use the rest for every question, so an item is never correlated
      with itself.
    - `discriminative_efficiency`: 100 · cov(x, y) / cov_max(x, y), where cov_max pairs the
      question marks and the rest-of-test marks each sorted ascending, the largest covariance
      those two distributions allow (Moodle's "Discriminative efficiency"). None when n < 2 or
      either score never varies.
    - `option_frequencies`: response key → count and share; None is "unanswered". Keys sorted,
      None last.
    - `flags`: codes of the FLAG_* constants; see `_flags`.
    - `slots`: the slots the question appeared in.
    """

    question_id: Hashable
    n: int
    max_mark: float
    facility: float | None
    sd: float | None
    discrimination_index: float | None
    discriminative_efficiency: float | None
    option_frequencies: dict[str | None, OptionFrequency]
    flags: list[str]
    slots: tuple[int, ...]


@dataclass(frozen=True)
class QuizStats:
    """Statistics of the attempts' totals (Moodle's "Quiz information" table).

    - `mean`, `median` (middle value, or the mean of the two middle values), in marks.
    - `sd`: sample standard deviation √(Σ(x - x̄)² / (n - 1)); None when n < 2.
    - `skewness` = k3 / k2^(3/2) and `kurtosis` = k4 / k2² (excess kurtosis) from the
      k-statistics, with m_r = Σ(x - x̄)^r / n:
      k2 = n·m2 / (n - 1), k3 = n²·m3 / ((n - 1)(n - 2)),
      k4 = n²·((n + 1)·m4 - 3(n - 1)·m2²) / ((n - 1)(n - 2)(n - 3)).
      Skewness needs n > 2, kurtosis n > 3, and both a total that varies.
    - `cronbach_alpha` (Moodle's "Coefficient of internal consistency"), in %:
      100 · p / (p - 1) · (1 - Σ var(slot marks) / k2), p = number of slots. Like Moodle, it
      needs n > 2, p > 1 and a total that varies.
    - `error_ratio` = 100 · √(1 - alpha / 100), in %.
    - `standard_error` = error_ratio · sd / 100, in marks.
    - `max_total`: the maximum total, when every attempt has the same one; else None.
    """

    n_attempts: int
    mean: float | None
    median: float | None
    sd: float | None
    skewness: float | None
    kurtosis: float | None
    cronbach_alpha: float | None
    error_ratio: float | None
    standard_error: float | None
    max_total: float | None


@dataclass(frozen=True)
class QuizStatistics:
    """The whole report: test statistics and one `ItemStats` per question, in slot order."""

    quiz: QuizStats
    questions: list[ItemStats] = field(default_factory=list)

    def question(self, question_id: Hashable) -> ItemStats | None:
        return next((item for item in self.questions if item.question_id == question_id), None)


# --------------------------------------------------------------------------- choosing attempts
def first_attempts_only(attempts: Iterable[NumberedAttempt | tuple], which: str = "first") -> list[AttemptScores]:
    """Keep, for each user, the attempts the statistics should use, in their input order.

    `attempts` holds (user_id, attempt number, AttemptScores). `which` is "first" (the default,
    as the statistics describe the questions as first met), "last", "highest" (the best total;
    on a tie the earlier attempt, as Moodle does) or "all".
    """
    if which not in WHICH_ATTEMPTS:
        raise ValueError(f"which must be one of {WHICH_ATTEMPTS}, not {which!r}")
    numbered = [NumberedAttempt(*attempt) for attempt in attempts]
    if which == "all":
        return [attempt.scores for attempt in numbered]
    ranks = {
        "first": lambda a: a.number,
        "last": lambda a: -a.number,
        "highest": lambda a: (-a.scores.total, a.number),
    }
    rank = ranks[which]
    chosen: dict[Hashable, NumberedAttempt] = {}
    for attempt in numbered:
        best = chosen.get(attempt.user_id)
        if best is None or rank(attempt) < rank(best):
            chosen[attempt.user_id] = attempt
    kept = {id(attempt) for attempt in chosen.values()}
    return [attempt.scores for attempt in numbered if id(attempt) in kept]


# --------------------------------------------------------------------------- computing
class _Observation(NamedTuple):
    slot: int
    mark: float
    max_mark: float
    rest: float
    response_key: str | None


def compute_statistics(attempts: Iterable[AttemptScores]) -> QuizStatistics:
    """Compute Moodle's quiz and question statistics for these attempts.

    Questions are grouped by question id, so a randomly drawn question is described over the
    attempts that drew it, whatever its slot. See `QuizStats` and `ItemStats` for the formulas.
    """
    attempts = list(attempts)
    by_question: dict[Hashable, list[_Observation]] = {}
    by_slot: dict[int, list[float]] = {}
    for attempt in attempts:
        total = attempt.total
        for slot, score in attempt.slots.items():
            by_slot.setdefault(slot, []).append(score.mark)
            by_question.setdefault(attempt.question_id(slot), []).append(
                _Observation(slot, score.mark, score.max_mark, total - score.mark, score.response_key))
    items = [_item_stats(question_id, observations) for question_id, observations in by_question.items()]
    items.sort(key=lambda item: (min(item.slots), str(item.question_id)))
    return QuizStatistics(quiz=_quiz_stats(attempts, by_slot), questions=items)


def _quiz_stats(attempts: list[AttemptScores], by_slot: dict[int, list[float]]) -> QuizStats:
    n = len(attempts)
    totals = [attempt.total for attempt in attempts]
    max_totals = {attempt.max_total for attempt in attempts}
    max_total = max_totals.pop() if len(max_totals) == 1 else None
    if n == 0:
        return QuizStats(0, None, None, None, None, None, None, None, None, max_total)
    mean = statistics.fmean(totals)
    median = statistics.median(totals)
    sd = skewness = kurtosis = alpha = error_ratio = standard_error = None
    if n > 1:
        deviations = [total - mean for total in totals]
        power2 = math.fsum(d ** 2 for d in deviations)
        sd = 0.0 if _constant(totals) else math.sqrt(power2 / (n - 1))
        if n > 2 and not _constant(totals):
            m2 = power2 / n
            m3 = math.fsum(d ** 3 for d in deviations) / n
            m4 = math.fsum(d ** 4 for d in deviations) / n
            k2 = n * m2 / (n - 1)
            k3 = n * n * m3 / ((n - 1) * (n - 2))
            skewness = k3 / k2 ** 1.5
            if n > 3:
                k4 = n * n * ((n + 1) * m4 - 3 * (n - 1) * m2 * m2) / ((n - 1) * (n - 2) * (n - 3))
                kurtosis = k4 / (k2 * k2)
            p = len(by_slot)
            if p > 1:
                sum_of_slot_variances = math.fsum(_variance(marks) or 0.0 for marks in by_slot.values())
                alpha = 100 * p / (p - 1) * (1 - sum_of_slot_variances / k2)
                # Rounding can push alpha a hair above 100 %; the square root must not fail.
                error_ratio = 100 * math.sqrt(max(0.0, 1 - alpha / 100))
                standard_error = error_ratio * sd / 100
    return QuizStats(n, mean, median, sd, skewness, kurtosis, alpha, error_ratio, standard_error, max_total)


def _item_stats(question_id: Hashable, observations: list[_Observation]) -> ItemStats:
    n = len(observations)
    marks = [o.mark for o in observations]
    rests = [o.rest for o in observations]
    fractions = [o.mark / o.max_mark for o in observations if o.max_mark > 0]
    facility = 100 * statistics.fmean(fractions) if fractions else None
    fraction_variance = _variance(fractions)
    sd = 100 * math.sqrt(fraction_variance) if fraction_variance is not None else None

    discrimination = efficiency = None
    if n > 1 and not _constant(marks) and not _constant(rests):
        mark_mean, rest_mean = statistics.fmean(marks), statistics.fmean(rests)
        covariance = math.fsum((x - mark_mean) * (y - rest_mean) for x, y in zip(marks, rests)) / (n - 1)
        covariance_max = math.fsum(
            (x - mark_mean) * (y - rest_mean) for x, y in zip(sorted(marks), sorted(rests))) / (n - 1)
        discrimination = 100 * covariance / math.sqrt(_variance(marks) * _variance(rests))
        efficiency = 100 * covariance / covariance_max

    counts: dict[str | None, int] = {}
    for o in observations:
        counts[o.response_key] = counts.get(o.response_key, 0) + 1
    keys = sorted((key for key in counts if key is not None), key=str) + ([None] if None in counts else [])
    frequencies = {key: OptionFrequency(counts[key], 100 * counts[key] / n) for key in keys}

    return ItemStats(
        question_id=question_id, n=n, max_mark=max(o.max_mark for o in observations), facility=facility, sd=sd,
        discrimination_index=discrimination, discriminative_efficiency=efficiency,
        option_frequencies=frequencies, flags=_flags(observations, discrimination),
        slots=tuple(sorted({o.slot for o in observations})))


def _flags(observations: list[_Observation], discrimination: float | None) -> list[str]:
    """Codes for questions that look broken.

    "nobody_right" / "everybody_right": no attempt / every attempt earned the full mark (a wrong
    key, or a question that tells nothing). "negative_discrimination": the discrimination index
    is below 0 (weaker candidates do better: often a wrong key). "low_discrimination": it is
    from 0 to under 20 %. "too_few_attempts": fewer than 5 attempts saw the question.
    """
    flags = []
    full = [_is_full_mark(o.mark, o.max_mark) for o in observations if o.max_mark > 0]
    if full and not any(full):
        flags.append(FLAG_NOBODY_RIGHT)
    if full and all(full):
        flags.append(FLAG_EVERYBODY_RIGHT)
    if discrimination is not None:
        if discrimination < 0:
            flags.append(FLAG_NEGATIVE_DISCRIMINATION)
        elif discrimination < LOW_DISCRIMINATION:
            flags.append(FLAG_LOW_DISCRIMINATION)
    if len(observations) < FEW_ATTEMPTS:
        flags.append(FLAG_TOO_FEW_ATTEMPTS)
    return flags


def _is_full_mark(mark: float, max_mark: float) -> bool:
    return mark >= max_mark - 1e-9 * max(1.0, abs(max_mark))


def _constant(values: list[float]) -> bool:
    # Compared exactly: a variance computed from equal floats can come out as a tiny positive
    # number, and dividing by it would turn rounding noise into a correlation.
    return len(set(values)) <= 1


def _variance(values: list[float]) -> float | None:
    """Sample variance (n - 1), 0 for equal values, None below two values."""
    if len(values) < 2:
        return None
    if _constant(values):
        return 0.0
    return statistics.variance(values)
