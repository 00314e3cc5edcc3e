"""Quiz item statistics (Moodle's quiz statistics report) against a small example worked by hand."""
import math

import pytest

from quizzes.statistics import (
    AttemptScores, NumberedAttempt, OptionFrequency, SlotScore, compute_statistics, first_attempts_only)

# Six first attempts at four questions. Q1, Q2, Q4 are worth 1 mark, Q3 (multiple answers) 2 marks.
# Each cell is (mark, chosen option(s)); None = left unanswered.
#
#        Q1        Q2        Q3          Q4           total
#   A    1 "B"     1 "A"     2 "A,C"     0 "true"     4
#   B    1 "B"     1 "A"     2 "A,C"     0 "true"     4
#   C    1 "B"     1 "A"     1 "A"       1 "false"    4
#   D    0 "A"     0 "D"     2 "A,C"     1 "false"    3
#   E    0 "C"     1 "A"     1 "C"       0 "true"     2
#   F    0 None    0 "B"     1 "A"       0 None       1
HAND_EXAMPLE = {
    "A": [(1, "B"), (1, "A"), (2, "A,C"), (0, "true")],
    "B": [(1, "B"), (1, "A"), (2, "A,C"), (0, "true")],
    "C": [(1, "B"), (1, "A"), (1, "A"), (1, "false")],
    "D": [(0, "A"), (0, "D"), (2, "A,C"), (1, "false")],
    "E": [(0, "C"), (1, "A"), (1, "C"), (0, "true")],
    "F": [(0, None), (0, "B"), (1, "A"), (0, None)],
}
MAX_MARKS = {1: 1.0, 2: 1.0, 3: 2.0, 4: 1.0}


def attempt(attempt_id, cells, max_marks=None, question_ids=None):
    max_marks = max_marks or MAX_MARKS
    slots = {slot: SlotScore(float(mark), max_marks[slot], key) for slot, (mark, key) in enumerate(cells, start=1)}
    return AttemptScores(attempt_id, slots, question_ids)


def hand_example():
    return [attempt(attempt_id, cells) for attempt_id, cells in HAND_EXAMPLE.items()]


def binary_attempts(rows):
    """Attempts at one-mark questions, each row listing the marks (0 or 1) of one attempt."""
    return [attempt(i, [(mark, None) for mark in row], {slot: 1.0 for slot in range(1, len(row) + 1)})
            for i, row in enumerate(rows)]


def test_test_statistics_match_the_hand_computation():
    quiz = compute_statistics(hand_example()).quiz
    # Totals 4,4,4,3,2,1: Σ = 18, mean = 3; sorted 1,2,3,4,4,4, median = (3 + 4) / 2 = 3.5.
    assert quiz.n_attempts == 6
    assert quiz.mean == pytest.approx(3.0)
    assert quiz.median == pytest.approx(3.5)
    assert quiz.max_total == pytest.approx(5.0)
    # Deviations d = 1,1,1,0,-1,-2: Σd² = 8, Σd³ = 1+1+1-1-8 = -6, Σd⁴ = 1+1+1+1+16 = 20.
    # sd = √(8/5) = 1.264911.
    assert quiz.sd == pytest.approx(math.sqrt(8 / 5))
    # m2 = 8/6, m3 = -6/6 = -1, m4 = 20/6.  k2 = 6·m2/5 = 8/5;  k3 = 36·m3/(5·4) = -9/5;
    # skewness = k3 / k2^1.5 = -1.8 / 2.023858 = -0.889391.
    assert quiz.skewness == pytest.approx(-1.8 / 1.6 ** 1.5)
    assert quiz.skewness == pytest.approx(-0.889391, abs=1e-6)
    # k4 = 36·(7·20/6 - 3·5·(8/6)²) / (5·4·3) = 36·(70/3 - 80/3) / 60 = -2;  kurtosis = -2 / (8/5)² = -25/32.
    assert quiz.kurtosis == pytest.approx(-25 / 32)
    # Slot variances (n - 1): Q1 1,1,1,0,0,0 → (6·¼)/5 = 3/10;  Q2 1,1,1,0,1,0 → (4·1/9 + 2·4/9)/5 = 4/15;
    # Q3 2,2,1,2,1,1 → (6·¼)/5 = 3/10;  Q4 0,0,1,1,0,0 → 4/15.  Σ = 9/30 + 8/30 + 9/30 + 8/30 = 17/15.
    # alpha = 4/3 · (1 - (17/15)/(8/5)) = 4/3 · (1 - 17/24) = 7/18 = 38.889 %.
    assert quiz.cronbach_alpha == pytest.approx(100 * 7 / 18)
    # error ratio = 100·√(1 - 7/18) = 100·√(11/18) = 78.174 %;  standard error = 0.78174 · 1.264911 = 0.98883.
    assert quiz.error_ratio == pytest.approx(100 * math.sqrt(11 / 18))
    assert quiz.standard_error == pytest.approx(math.sqrt(11 / 18) * math.sqrt(8 / 5))
    assert quiz.standard_error == pytest.approx(0.988826, abs=1e-6)


# Per question: x = the question's marks, y = rest of test (total - x), sample (n - 1) moments.
# Q1  x = 1,1,1,0,0,0 (x̄ ½)  y = 3,3,3,3,2,1 (ȳ 2.5)
#     Σ(x-x̄)(y-ȳ) = 3·(½·½) + (-½·½) + (-½·-½) + (-½·-1½) = 1.5 → cov = 0.3;  var x = 0.3;
#     Σ(y-ȳ)² = 4·¼ + ¼ + 2¼ = 3.5 → var y = 0.7;  DI = 0.3/√(0.3·0.7) = 65.465 %.
#     Sorted pairing (0,1)(0,2)(0,3)(1,3)(1,3)(1,3) is the actual pairing → cov_max = 0.3, DE = 100 %.
#     facility 3/6 = 50 %;  sd = √0.3 = 54.772 %.
# Q2  x = 1,1,1,0,1,0 (x̄ 2/3)  y = 3,3,3,3,1,1 (ȳ 7/3)
#     Σ = 3·(1/3·2/3) + (-2/3·2/3) + (1/3·-4/3) + (-2/3·-4/3) = (6 - 4 - 4 + 8)/9 = 2/3 → cov = 2/15;
#     var x = 4/15;  Σ(y-ȳ)² = 4·4/9 + 2·16/9 = 16/3 → var y = 16/15;  DI = (2/15)/(8/15) = 25 %.
#     Sorted x 0,0,1,1,1,1 with y 1,1,3,3,3,3: 2·(-2/3·-4/3) + 4·(1/3·2/3) = 24/9 → cov_max = 8/15;  DE = 25 %.
#     facility 4/6 = 66.667 %;  sd = √(4/15) = 51.640 %.
# Q3  (max 2) x = 2,2,1,2,1,1 (x̄ 1.5)  y = 2,2,3,1,1,0 (ȳ 1.5)
#     Σ = ¼ + ¼ - ¾ - ¼ + ¼ + ¾ = 0.5 → cov = 0.1;  var x = 0.3;  Σ(y-ȳ)² = 5.5 → var y = 1.1;
#     DI = 0.1/√0.33 = 17.408 % (low).  Sorted x 1,1,1,2,2,2 with y 0,1,1,2,2,3:
#     ¾ + ¼ + ¼ + ¼ + ¼ + ¾ = 2.5 → cov_max = 0.5;  DE = 20 %.
#     facility = mean(1, 1, ½, 1, ½, ½) = 75 %;  sd of those = √(6·(¼)²/5) = √0.075 = 27.386 %.
# Q4  x = 0,0,1,1,0,0 (x̄ 1/3)  y = 4,4,3,2,2,1 (ȳ 8/3)
#     Σ = (-4 - 4 + 2 - 4 + 2 + 5)/9 = -1/3 → cov = -1/15;  var x = 4/15;  Σ(y-ȳ)² = 66/9 → var y = 22/15;
#     DI = (-1/15)/√(88/225) = -1/√88 = -10.660 %.  Sorted x 0,0,0,0,1,1 with y 1,2,2,3,4,4:
#     (5 + 2 + 2 - 1 + 8 + 8)/9 = 24/9 → cov_max = 8/15;  DE = -1/8 = -12.5 %.
#     facility 2/6 = 33.333 %;  sd = √(4/15) = 51.640 %.
@pytest.mark.parametrize("question_id, facility, sd, discrimination, efficiency, flags", [
    (1, 50.0, 100 * math.sqrt(0.3), 100 * 0.3 / math.sqrt(0.21), 100.0, []),
    (2, 200 / 3, 100 * math.sqrt(4 / 15), 25.0, 25.0, []),
    (3, 75.0, 100 * math.sqrt(0.075), 100 * 0.1 / math.sqrt(0.33), 20.0, ["low_discrimination"]),
    (4, 100 / 3, 100 * math.sqrt(4 / 15), -100 / math.sqrt(88), -12.5, ["negative_discrimination"]),
])
def test_question_statistics_match_the_hand_computation(question_id, facility, sd, discrimination, efficiency,
                                                        flags):
    item = compute_statistics(hand_example()).question(question_id)
    assert item.n == 6
    assert item.slots == (question_id,)
    assert item.facility == pytest.approx(facility)
    assert item.sd == pytest.approx(sd)
    assert item.discrimination_index == pytest.approx(discrimination)
    assert item.discriminative_efficiency == pytest.approx(efficiency)
    assert item.flags == flags


def test_hand_example_rounded_figures_as_a_reader_would_check_them():
    items = compute_statistics(hand_example()).questions
    assert [item.question_id for item in items] == [1, 2, 3, 4]
    assert [round(item.discrimination_index, 3) for item in items] == [65.465, 25.0, 17.408, -10.66]
    assert [round(item.discriminative_efficiency, 1) for item in items] == [100.0, 25.0, 20.0, -12.5]
    assert [round(item.facility, 3) for item in items] == [50.0, 66.667, 75.0, 33.333]


def test_option_frequencies_count_each_response_and_unanswered_last():
    report = compute_statistics(hand_example())
    assert report.question(1).option_frequencies == {
        "A": OptionFrequency(1, 100 / 6), "B": OptionFrequency(3, 50.0), "C": OptionFrequency(1, 100 / 6),
        None: OptionFrequency(1, 100 / 6)}
    assert list(report.question(1).option_frequencies) == ["A", "B", "C", None]
    assert report.question(3).option_frequencies == {
        "A": OptionFrequency(2, 100 / 3), "A,C": OptionFrequency(3, 50.0), "C": OptionFrequency(1, 100 / 6)}
    q4 = report.question(4).option_frequencies
    assert sum(frequency.count for frequency in q4.values()) == 6
    assert sum(frequency.percent for frequency in q4.values()) == pytest.approx(100.0)


def test_no_attempts_gives_empty_figures_not_errors():
    report = compute_statistics([])
    assert report.questions == []
    quiz = report.quiz
    assert quiz.n_attempts == 0
    assert (quiz.mean, quiz.median, quiz.sd, quiz.skewness, quiz.kurtosis, quiz.cronbach_alpha,
            quiz.error_ratio, quiz.standard_error, quiz.max_total) == (None,) * 9


def test_one_attempt_gives_mean_and_facility_only():
    report = compute_statistics([attempt("only", HAND_EXAMPLE["C"])])
    quiz = report.quiz
    assert (quiz.n_attempts, quiz.mean, quiz.median) == (1, 4.0, 4.0)
    assert (quiz.sd, quiz.skewness, quiz.kurtosis, quiz.cronbach_alpha, quiz.error_ratio,
            quiz.standard_error) == (None,) * 6
    q1, q3 = report.question(1), report.question(3)
    assert (q1.n, q1.facility, q1.sd, q1.discrimination_index, q1.discriminative_efficiency) == (1, 100.0, None,
                                                                                                 None, None)
    assert q1.flags == ["everybody_right", "too_few_attempts"]
    assert q3.facility == 50.0 and q3.flags == ["nobody_right", "too_few_attempts"]


def test_two_and_three_attempts_fill_in_figures_as_moodle_does():
    two = compute_statistics(binary_attempts([[1, 1, 0], [0, 0, 0]])).quiz
    # Totals 2, 0: sd = √(2·1²/1) = √2; skewness needs 3 attempts, alpha too (Moodle computes it with skewness).
    assert two.sd == pytest.approx(math.sqrt(2))
    assert (two.skewness, two.kurtosis, two.cronbach_alpha) == (None, None, None)
    three = compute_statistics(binary_attempts([[1, 1, 0], [1, 0, 0], [0, 0, 0]])).quiz
    # Totals 2,1,0: d = 1,0,-1, Σd³ = 0 → skewness 0; kurtosis needs 4 attempts.
    # Slot variances ⅓, ⅓, 0; k2 = 1; alpha = 3/2 · (1 - ⅔) = 50 %.
    assert three.skewness == pytest.approx(0.0)
    assert three.kurtosis is None
    assert three.cronbach_alpha == pytest.approx(50.0)


def test_identical_attempts_give_zero_sd_and_no_correlations():
    rows = [[1, 0, 1]] * 6
    report = compute_statistics(binary_attempts(rows))
    quiz = report.quiz
    assert quiz.sd == 0.0
    assert (quiz.skewness, quiz.kurtosis, quiz.cronbach_alpha, quiz.error_ratio, quiz.standard_error) == (None,) * 5
    everybody, nobody = report.question(1), report.question(2)
    assert everybody.facility == 100.0 and everybody.sd == 0.0
    assert everybody.discrimination_index is None and everybody.discriminative_efficiency is None
    assert everybody.flags == ["everybody_right"]
    assert nobody.facility == 0.0 and nobody.flags == ["nobody_right"]


def test_equal_fractional_marks_are_not_read_as_a_correlation():
    # Everybody scores 1/3 of Q1 (rounding could make its variance a tiny positive number);
    # the rest of the test varies. The question has no discrimination index, not a huge one.
    attempts = [AttemptScores(i, {1: SlotScore(1 / 3, 1.0, "A"), 2: SlotScore(float(i % 2), 1.0, "B")})
                for i in range(7)]
    item = compute_statistics(attempts).question(1)
    assert item.discrimination_index is None and item.discriminative_efficiency is None
    assert item.flags == ["nobody_right"]


def test_partial_credit_for_everybody_is_flagged_as_nobody_right():
    # A multiple-answer question with a wrong key: everybody gets half marks.
    rows = [[(1, "A,B"), (0.5, "A,C")], [(1, "A,B"), (0.5, "A,C")], [(0, "C"), (0.5, "A,C")]]
    report = compute_statistics([attempt(i, row, {1: 1.0, 2: 1.0}) for i, row in enumerate(rows)])
    item = report.question(2)
    assert item.facility == pytest.approx(50.0)
    assert item.flags == ["nobody_right", "too_few_attempts"]


def test_few_attempts_are_flagged_but_still_computed():
    report = compute_statistics(binary_attempts([[1, 1, 1], [1, 1, 0], [0, 1, 0], [0, 0, 0]]))
    item = report.question(1)
    assert "too_few_attempts" in item.flags
    assert item.discrimination_index is not None and item.discrimination_index > 0


def test_question_without_marks_has_no_facility():
    attempts = [AttemptScores(i, {1: SlotScore(0.0, 0.0), 2: SlotScore(float(i % 2), 1.0)}) for i in range(5)]
    item = compute_statistics(attempts).question(1)
    assert item.facility is None and item.sd is None
    assert item.flags == []


def test_randomly_drawn_questions_are_described_over_the_attempts_that_drew_them():
    # Slot 2 draws question 201 or 202; slots 1 and 3 always hold questions 101 and 103.
    rows = {
        "A": ([1, 1, 1], 201), "B": ([1, 0, 1], 202), "C": ([1, 1, 0], 201), "D": ([0, 1, 1], 202),
        "E": ([0, 0, 0], 201), "F": ([1, 1, 0], 202), "G": ([0, 0, 1], 201),
    }
    drawn = [attempt(attempt_id, [(mark, None) for mark in marks], {1: 1.0, 2: 1.0, 3: 1.0},
                     question_ids={1: 101, 2: drawn_id, 3: 103})
             for attempt_id, (marks, drawn_id) in rows.items()]
    report = compute_statistics(drawn)
    assert [item.question_id for item in report.questions] == [101, 201, 202, 103]
    q201, q202 = report.question(201), report.question(202)
    assert (q201.n, q202.n) == (4, 3)
    assert q201.slots == (2,) and q202.slots == (2,)
    # Q201 was right in A and C of A, C, E, G: facility 50 %.
    assert q201.facility == pytest.approx(50.0)
    assert q202.facility == pytest.approx(200 / 3)
    # Over the attempts that drew it, Q201 behaves exactly as slot 2 of a fixed quiz made of those attempts.
    fixed = compute_statistics([attempt(a, [(mark, None) for mark in rows[a][0]], {1: 1.0, 2: 1.0, 3: 1.0})
                                for a in "ACEG"])
    assert q201.discrimination_index == pytest.approx(fixed.question(2).discrimination_index)
    assert q201.discriminative_efficiency == pytest.approx(fixed.question(2).discriminative_efficiency)
    # The test statistics count positions, not questions: the same as with the question ids left out.
    unlabelled = compute_statistics([AttemptScores(a.attempt_id, a.slots) for a in drawn]).quiz
    assert report.quiz == unlabelled


def test_a_question_appearing_in_several_slots_lists_them():
    attempts = [attempt(1, [(1, None), (0, None)], {1: 1.0, 2: 1.0}, question_ids={1: 7, 2: 8}),
                attempt(2, [(1, None), (0, None)], {1: 1.0, 2: 1.0}, question_ids={1: 8, 2: 7})]
    item = compute_statistics(attempts).question(7)
    assert item.slots == (1, 2) and item.n == 2 and item.facility == 50.0


def test_max_total_is_unknown_when_attempts_differ():
    attempts = [AttemptScores(1, {1: SlotScore(1.0, 1.0)}), AttemptScores(2, {1: SlotScore(1.0, 2.0)})]
    assert compute_statistics(attempts).quiz.max_total is None


# --------------------------------------------------------------------------- choosing attempts
def scored(attempt_id, total):
    return AttemptScores(attempt_id, {1: SlotScore(float(total), 10.0)})


USER_ATTEMPTS = [
    NumberedAttempt("lan", 1, scored("lan-1", 4)),
    NumberedAttempt("lan", 2, scored("lan-2", 9)),
    NumberedAttempt("lan", 3, scored("lan-3", 9)),
    ("minh", 2, scored("minh-2", 3)),  # plain tuples work too; the input need not be sorted
    ("minh", 1, scored("minh-1", 7)),
]


@pytest.mark.parametrize("which, kept", [
    ("first", ["lan-1", "minh-1"]),
    ("last", ["lan-3", "minh-2"]),
    ("highest", ["lan-2", "minh-1"]),  # lan's 9 ties: the earlier attempt, as Moodle does
    ("all", ["lan-1", "lan-2", "lan-3", "minh-2", "minh-1"]),
])
def test_choosing_which_attempts_count(which, kept):
    assert [a.attempt_id for a in first_attempts_only(USER_ATTEMPTS, which)] == kept


def test_first_attempts_are_the_default():
    assert [a.attempt_id for a in first_attempts_only(USER_ATTEMPTS)] == ["lan-1", "minh-1"]
    assert first_attempts_only([]) == []


def test_unknown_choice_of_attempts_is_refused():
    with pytest.raises(ValueError):
        first_attempts_only(USER_ATTEMPTS, "average")
