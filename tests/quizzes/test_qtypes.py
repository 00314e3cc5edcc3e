"""The question layer: every type validates, shows (without the key), shuffles and grades as a teacher expects."""
from __future__ import annotations

import json
import random
import re

import pytest

from quizzes.qdata import QTYPES, Grade, QuestionData, default_name, from_dict, to_dict
from quizzes.qtypes import QuestionType, UnknownQuestionType, get_type
from quizzes.richtext import to_safe_html

KEY_WORDS = ("fraction", "feedback", "correct", "answer", "tolerance", "weight")


def q(qtype, data, text="Câu hỏi?", text_format="moodle", **kw) -> QuestionData:
    return QuestionData(qtype=qtype, name="Q", text=text, text_format=text_format, data=data, **kw)


def opt(n, text, fraction, feedback="", **kw):
    return {"id": f"o{n}", "text": text, "format": "moodle", "fraction": fraction, "feedback": feedback, **kw}


def single_q(shuffle=False):
    return q("single", {"options": [opt(1, "Luật Giao dịch điện tử", 1.0, "FB-ĐÚNG-LUẬT"),
                                    opt(2, "Nghị định 30", 0.5, "FB-NỬA-NGHỊ-ĐỊNH"),
                                    opt(3, "Thông tư", -0.5, "FB-SAI-THÔNG-TƯ"),
                                    opt(4, "Không văn bản nào", 0.0, "FB-SAI-KHÔNG")],
                        "shuffle": shuffle, "numbering": "abc"})


def multi_q(shuffle=False):
    return q("multi", {"options": [opt(1, "Mật khẩu mạnh", 0.5, "FB-M1"), opt(2, "Xác thực hai lớp", 0.5, "FB-M2"),
                                   opt(3, "Dùng chung mật khẩu", -1.0, "FB-M3"), opt(4, "Tắt cập nhật", -0.5, "FB-M4"),
                                   opt(5, "Bấm mọi liên kết", 0.0, "FB-M5")],
                       "shuffle": shuffle, "numbering": "abc"})


def tf_q(correct=True):
    return q("truefalse", {"correct": correct, "feedback_true": "FB-CHỌN-ĐÚNG", "feedback_false": "FB-CHỌN-SAI"})


def sa_q(answers, **flags):
    return q("shortanswer", {"answers": [{"text": t, "fraction": f, "feedback": fb} for t, f, fb in answers],
                             "case_sensitive": flags.get("case_sensitive", False),
                             "ignore_diacritics": flags.get("ignore_diacritics", False)})


def num_q(answers, unit=""):
    return q("numerical", {"answers": [{"value": v, "tolerance": t, "fraction": f, "feedback": fb}
                                       for v, t, f, fb in answers], "unit": unit})


def pair(item_id, text, answer):
    return {"id": item_id, "text": text, "answer": answer}


def match_q(shuffle=False):
    return q("matching", {"pairs": [{"id": "i1", "text": "Chữ ký số", "answer": "Xác thực người ký"},
                                    {"id": "i2", "text": "Mã hoá", "answer": "Giữ bí mật nội dung"},
                                    {"id": "i3", "text": "Sao lưu", "answer": "Khôi phục dữ liệu"},
                                    {"id": "i4", "text": "", "answer": "Tăng tốc máy tính"}],
                          "distractors": ["In tài liệu"], "shuffle": shuffle})


# --------------------------------------------------------------------------- registry and data
def test_every_qtype_is_registered_with_the_same_interface():
    for name in QTYPES:
        qtype = get_type(name)
        assert isinstance(qtype, QuestionType) and qtype.name == name
        assert qtype.graded == (name not in ("essay", "description", "cloze"))
    with pytest.raises(UnknownQuestionType):
        get_type("calculated")


def test_question_data_round_trips_through_json():
    original = single_q()
    original.tags = ["chữ ký số"]
    stored = json.loads(json.dumps(to_dict(original), ensure_ascii=False))
    assert from_dict(stored) == original
    assert QuestionData.from_dict(original.to_dict()) == original
    copy = from_dict(stored)
    copy.data["options"][0]["fraction"] = 0.0
    assert stored["data"]["options"][0]["fraction"] == 1.0   # no shared lists


def test_default_name_comes_from_the_text():
    assert default_name("<p>Chữ ký số   là gì?</p>") == "Chữ ký số là gì?"
    assert default_name("   ") == "Câu hỏi"
    long = default_name("từ " * 60)
    assert len(long) <= 80 and long.endswith("...")


# --------------------------------------------------------------------------- single choice
def test_single_choice_grades_the_chosen_option_and_clamps_negative():
    question, single = single_q(), get_type("single")
    assert single.grade(question, "o1") == Grade(1.0, ["FB-ĐÚNG-LUẬT"])
    assert single.grade(question, "o2") == Grade(0.5, ["FB-NỬA-NGHỊ-ĐỊNH"])
    assert single.grade(question, "o3") == Grade(0.0, ["FB-SAI-THÔNG-TƯ"])
    for empty in (None, "", [], "o9", ["o1"]):
        assert single.grade(question, empty).fraction == 0.0
    assert single.check_response(question, "o2") is None
    assert single.check_response(question, "o9") and single.check_response(question, ["o1"])
    assert single.right_answer_view(question)["option_ids"] == ["o1"]


def test_single_choice_validation():
    single = get_type("single")
    assert single.validate(single_q()) == []
    one = q("single", {"options": [opt(1, "Duy nhất", 1.0)]})
    assert any("ít nhất 2 phương án" in e for e in single.validate(one))
    none_right = q("single", {"options": [opt(1, "A", 0.5), opt(2, "B", 0.0)]})
    assert any("một phương án đúng (100% điểm)" in e for e in single.validate(none_right))
    two_right = q("single", {"options": [opt(1, "A", 1.0), opt(2, "B", 1.0)]})
    assert single.validate(two_right) == []  # as in Moodle: either right option earns full marks
    assert single.grade(two_right, "o2").fraction == 1.0
    bad = q("single", {"options": [opt(1, "", 1.0), opt(2, "B", 1.5), opt(3, "C", "nhiều")]})
    errors = single.validate(bad)
    assert "Phương án 1 chưa có nội dung." in errors
    assert "Điểm của phương án 2 phải là một số từ -100% đến 100%." in errors
    assert "Điểm của phương án 3 phải là một số từ -100% đến 100%." in errors
    assert single.validate(q("single", {})) != []   # malformed data gives messages, not an exception


# --------------------------------------------------------------------------- multiple choice
def test_multi_choice_adds_fractions_and_clamps_to_zero_and_one():
    question, multi = multi_q(), get_type("multi")
    assert multi.grade(question, ["o1", "o2"]) == Grade(1.0, ["FB-M1", "FB-M2"])
    assert multi.grade(question, ["o1"]).fraction == 0.5
    assert multi.grade(question, ["o1", "o2", "o4"]).fraction == 0.5
    assert multi.grade(question, ["o1", "o3"]).fraction == 0.0          # -0.5 clamped to 0
    assert multi.grade(question, ["o1", "o1"]).fraction == 0.5          # a repeated id counts once
    assert multi.grade(question, ["o2", "o1"]).feedback == ["FB-M1", "FB-M2"]
    for empty in (None, [], "", "o1", {"o1": 1}):
        assert multi.grade(question, empty).fraction == 0.0
    assert multi.check_response(question, ["o1", "o5"]) is None
    assert multi.check_response(question, ["o1", "o99"])
    assert multi.check_response(question, "o1")
    assert multi.right_answer_view(question)["option_ids"] == ["o1", "o2"]


def test_multi_choice_thirds_reach_full_marks():
    third = round(1 / 3, 7)
    question = q("multi", {"options": [opt(1, "A", third), opt(2, "B", third), opt(3, "C", third), opt(4, "D", -1)]})
    multi = get_type("multi")
    assert multi.validate(question) == []
    assert multi.grade(question, ["o1", "o2", "o3"]).fraction == 1.0


def test_multi_choice_validation():
    multi = get_type("multi")
    assert multi.validate(multi_q()) == []
    short = q("multi", {"options": [opt(1, "A", 0.5), opt(2, "B", 0.3)]})
    assert "Tổng điểm các phương án đúng phải bằng 100% (hiện là 80%)." in multi.validate(short)
    no_right = q("multi", {"options": [opt(1, "A", 0.0), opt(2, "B", -0.5)]})
    assert any("ít nhất một phương án đúng" in e for e in multi.validate(no_right))
    out_of_range = q("multi", {"options": [opt(1, "A", 1.0), opt(2, "B", -2)]})
    assert "Điểm của phương án 2 phải là một số từ -100% đến 100%." in multi.validate(out_of_range)
    assert any("ít nhất 2 phương án" in e for e in multi.validate(q("multi", {"options": [opt(1, "A", 1.0)]})))


# --------------------------------------------------------------------------- true/false
def test_true_false():
    tf = get_type("truefalse")
    assert tf.grade(tf_q(True), "true") == Grade(1.0, ["FB-CHỌN-ĐÚNG"])
    assert tf.grade(tf_q(True), "false") == Grade(0.0, ["FB-CHỌN-SAI"])
    assert tf.grade(tf_q(False), "false").fraction == 1.0
    assert tf.grade(tf_q(True), None) == Grade(0.0, [])
    assert tf.check_response(tf_q(), "true") is None
    assert tf.check_response(tf_q(), "đúng")
    assert tf.validate(tf_q()) == []
    assert tf.right_answer_view(tf_q(False))["answers"] == ["Sai"]


# --------------------------------------------------------------------------- short answer
def test_short_answer_best_match_case_and_whitespace():
    sa = get_type("shortanswer")
    question = sa_q([("Hà Nội", 1.0, "FB-THỦ-ĐÔ"), ("Hà*", 0.5, "FB-GẦN-ĐÚNG"), ("*", 0.0, "FB-THỬ-LẠI")])
    assert sa.grade(question, "  hà   NỘI ") == Grade(1.0, ["FB-THỦ-ĐÔ"])
    assert sa.grade(question, "Hà Giang") == Grade(0.5, ["FB-GẦN-ĐÚNG"])
    assert sa.grade(question, "Huế") == Grade(0.0, ["FB-THỬ-LẠI"])       # "*" matches anything
    assert sa.grade(question, "Ha Noi").fraction == 0.0                 # diacritics count by default
    assert sa.grade(question, "Hà Nội thủ đô").fraction == 0.5          # whole-string match for "Hà Nội"
    for empty in (None, "", "   ", ["Hà Nội"]):
        assert sa.grade(question, empty) == Grade(0.0, [])


def test_short_answer_wildcard_escapes_other_regex_characters():
    sa = get_type("shortanswer")
    question = sa_q([("Điều 1.2 (a)*", 1.0, ""), ("a+b", 0.8, ""), (r"5\*3", 0.6, "")])
    assert sa.grade(question, "Điều 1.2 (a) khoản 3").fraction == 1.0
    assert sa.grade(question, "Điều 1x2 (a)").fraction == 0.0      # "." is not a wildcard
    assert sa.grade(question, "a+b").fraction == 0.8
    assert sa.grade(question, "aab").fraction == 0.0               # "+" is literal
    assert sa.grade(question, "5*3").fraction == 0.6               # "\*" is a literal star
    assert sa.grade(question, "5x3").fraction == 0.0
    middle = sa_q([("chữ * số", 1.0, "")])
    assert sa.grade(middle, "Chữ ký số").fraction == 1.0
    assert sa.grade(middle, "chữ ký điện tử").fraction == 0.0


def test_short_answer_case_sensitive_and_diacritics_option():
    sa = get_type("shortanswer")
    strict = sa_q([("UBND", 1.0, "")], case_sensitive=True)
    assert sa.grade(strict, "UBND").fraction == 1.0
    assert sa.grade(strict, "ubnd").fraction == 0.0
    loose = sa_q([("Đà Nẵng", 1.0, "")], ignore_diacritics=True)
    for typed in ("Da Nang", "đà nẵng", "DA NẴNG", "Đa Nang", "  da   nang "):
        assert sa.grade(loose, typed).fraction == 1.0, typed
    assert sa.grade(loose, "Da Lat").fraction == 0.0
    plain_answer = sa_q([("Nguyen Van A", 1.0, "")], ignore_diacritics=True)
    assert sa.grade(plain_answer, "Nguyễn Văn A").fraction == 1.0   # folded on both sides
    both = sa_q([("Đà Nẵng", 1.0, "")], ignore_diacritics=True, case_sensitive=True)
    assert sa.grade(both, "Da Nang").fraction == 1.0
    assert sa.grade(both, "da nang").fraction == 0.0
    # NFD input from a Mac keyboard is the same text
    import unicodedata
    assert sa.grade(sa_q([("Đà Nẵng", 1.0, "")]), unicodedata.normalize("NFD", "Đà Nẵng")).fraction == 1.0


def test_short_answer_validation_and_response_check():
    sa = get_type("shortanswer")
    assert sa.validate(sa_q([("Hà Nội", 1.0, "")])) == []
    assert sa.validate(sa_q([])) == ["Câu trả lời ngắn cần ít nhất một đáp án."]
    errors = sa.validate(sa_q([("  ", 1.0, ""), ("Huế", 0.5, "")]))
    assert "Đáp án 1 đang để trống." in errors
    assert "Cần ít nhất một đáp án được 100% điểm." in sa.validate(sa_q([("Huế", 0.5, "")]))
    assert sa.check_response(sa_q([("a", 1.0, "")]), "văn bản") is None
    assert sa.check_response(sa_q([("a", 1.0, "")]), 5)
    assert sa.check_response(sa_q([("a", 1.0, "")]), "x" * 5000)


# --------------------------------------------------------------------------- numerical
def test_numerical_parses_vietnamese_decimals_and_rejects_words():
    num = get_type("numerical")
    question = num_q([(3.5, 0.0, 1.0, "FB-ĐÚNG-SỐ")])
    for typed in ("3,5", " 3.5 ", "3.50", "+3.5", "35e-1", 3.5):
        assert num.grade(question, typed) == Grade(1.0, ["FB-ĐÚNG-SỐ"]), typed
        assert num.check_response(question, typed) is None
    for bad in ("ba phẩy năm", "3,5,1", "1.000,5", "", "nan", "inf", True, ["3.5"], None):
        assert num.check_response(question, bad) == "Hãy nhập một số.", bad
        assert num.grade(question, bad) == Grade(0.0, [])
    negative = num_q([(-2, 0, 1.0, "")])
    assert num.grade(negative, "-2").fraction == 1.0
    assert num.grade(negative, "−2").fraction == 1.0   # typographic minus


def test_numerical_tolerance_boundaries_are_inclusive_and_ranges_work():
    num = get_type("numerical")
    question = num_q([(3.5, 0.1, 1.0, "")])
    for inside in ("3.4", "3.6", "3,45", "3.5"):
        assert num.grade(question, inside).fraction == 1.0, inside
    for outside in ("3.39", "3.61", "-3.5"):
        assert num.grade(question, outside).fraction == 0.0, outside
    # A range 10..20 is stored as value 15 ± 5 (spec).
    ranged = num_q([(15.0, 5.0, 1.0, "")])
    assert [num.grade(ranged, x).fraction for x in ("10", "20", "9.99", "20.01", "12,5")] == [1, 1, 0, 0, 1]


def test_numerical_best_answer_wins_and_star_matches_anything():
    num = get_type("numerical")
    question = num_q([(None, 0, 0.0, "FB-SAI-SỐ"), (100, 10, 0.5, "FB-GẦN"), (100, 0, 1.0, "FB-CHÍNH-XÁC")], unit="km")
    assert num.grade(question, "100") == Grade(1.0, ["FB-CHÍNH-XÁC"])
    assert num.grade(question, "95") == Grade(0.5, ["FB-GẦN"])
    assert num.grade(question, "7") == Grade(0.0, ["FB-SAI-SỐ"])
    assert num.grade(question, "100 km").fraction == 1.0
    assert num.right_answer_view(question)["answers"] == ["100 km"]
    assert num.learner_view(question, {})["unit"] == "km"


def test_numerical_validation():
    num = get_type("numerical")
    assert num.validate(num_q([(3.5, 0.1, 1.0, ""), (None, 0, 0.0, "")])) == []
    errors = num.validate(num_q([("ba", "nhỏ", 1.0, ""), (1, -1, 0.5, "")]))
    assert "Giá trị của đáp án 1 phải là một số." in errors
    assert "Sai số của đáp án 1 phải là một số không âm." in errors
    assert "Sai số của đáp án 2 phải là một số không âm." in errors
    assert "Cần ít nhất một đáp án được 100% điểm." in num.validate(num_q([(1, 0, 0.5, "")]))
    assert num.validate(num_q([])) == ["Câu trả lời số cần ít nhất một đáp án."]


# --------------------------------------------------------------------------- matching
def test_matching_options_are_distinct_answers_and_distractors():
    view = get_type("matching").learner_view(match_q(), {})
    assert [i["id"] for i in view["items"]] == ["i1", "i2", "i3"]
    assert [(o["id"], o["text_html"]) for o in view["options"]] == [
        ("a1", "Xác thực người ký"), ("a2", "Giữ bí mật nội dung"), ("a3", "Khôi phục dữ liệu"),
        ("a4", "Tăng tốc máy tính"), ("a5", "In tài liệu")]
    shared = q("matching", {"pairs": [pair("i1", "A", "X"), pair("i2", "B", "X"), pair("i3", "C", "Y")],
                            "distractors": ["X"]})
    assert [o["id"] for o in get_type("matching").learner_view(shared, {})["options"]] == ["a1", "a2"]
    assert get_type("matching").grade(shared, {"i1": "a1", "i2": "a1", "i3": "a2"}).fraction == 1.0


def test_matching_grades_the_share_of_items_right():
    matching, question = get_type("matching"), match_q()
    assert matching.grade(question, {"i1": "a1", "i2": "a2", "i3": "a3"}) == Grade(1.0, [])
    assert matching.grade(question, {"i1": "a1", "i2": "a3", "i3": "a2"}).fraction == pytest.approx(1 / 3)
    assert matching.grade(question, {"i1": "a1", "i2": "a2"}).fraction == pytest.approx(2 / 3)  # unanswered = wrong
    assert matching.grade(question, {"i1": "a4", "i2": "a5"}).fraction == 0.0
    for empty in (None, {}, [], "a1"):
        assert matching.grade(question, empty).fraction == 0.0
    assert matching.check_response(question, {"i1": "a1", "i2": ""}) is None
    assert matching.check_response(question, {"i9": "a1"})
    assert matching.check_response(question, {"i1": "a9"})
    assert matching.check_response(question, {"i4": "a4"})     # a pair without text is not an item
    assert matching.check_response(question, ["a1"])
    assert matching.right_answer_view(question)["pairs"][1] == {"item_id": "i2", "option_id": "a2"}


def test_matching_validation_follows_moodle():
    matching = get_type("matching")
    assert matching.validate(match_q()) == []
    two = q("matching", {"pairs": [{"id": "i1", "text": "A", "answer": "X"}, {"id": "i2", "text": "B", "answer": "Y"}]})
    assert matching.validate(two) == ["Câu ghép đôi cần ít nhất hai câu hỏi và ba câu trả lời."]
    two.data["distractors"] = ["Z"]
    assert matching.validate(two) == []
    one = q("matching", {"pairs": [{"id": "i1", "text": "A", "answer": "X"}, {"id": "i2", "text": "", "answer": "Y"},
                                   {"id": "i3", "text": "", "answer": "Z"}]})
    assert matching.validate(one) == ["Câu ghép đôi cần ít nhất hai câu hỏi và ba câu trả lời."]
    missing = q("matching", {"pairs": [pair("i1", "A", "X"), pair("i2", "B", " "), pair("i3", "C", "Y"),
                                       pair("i4", "", "Z")]})
    assert matching.validate(missing) == ["Mục 2 chưa có câu trả lời để ghép."]


# --------------------------------------------------------------------------- non-graded
def test_non_graded_types_show_text_and_never_grade():
    cloze_text = "Thủ đô là {1:SHORTANSWER:=Hà Nội#FB-CLOZE-ĐÚNG~Huế#FB-CLOZE-SAI} và {:NUMERICAL:=1010:0}."
    for name, text in (("essay", "Trình bày quy trình ký số."), ("description", "Phần này nói về chữ ký số."),
                       ("cloze", cloze_text)):
        qtype, question = get_type(name), q(name, {}, text=text)
        view = qtype.learner_view(question, {})
        assert view["type"] == name and view["options"] == []
        assert qtype.grade(question, "bất kỳ").fraction == 0.0 and qtype.grade(question, "bất kỳ").feedback
        assert qtype.check_response(question, "x")
        assert qtype.validate(question) == []
    cloze_view = get_type("cloze").learner_view(q("cloze", {}, text=cloze_text), {})
    assert cloze_view["text_html"] == "Thủ đô là […] và […]."


# --------------------------------------------------------------------------- the key never leaks
def _all_questions():
    return [single_q(True), multi_q(True), tf_q(), sa_q([("Hà Nội", 1.0, "FB-THỦ-ĐÔ"), ("*", 0.0, "FB-THỬ-LẠI")]),
            num_q([(3.5, 0.1, 1.0, "FB-ĐÚNG-SỐ"), (None, 0, 0.0, "FB-SAI-SỐ")]), match_q(True),
            q("essay", {}), q("description", {}),
            q("cloze", {}, text="Điền: {1:SHORTANSWER:=Hà Nội#FB-CLOZE-ĐÚNG}")]


def test_every_type_is_covered_by_the_leak_test():
    assert {question.qtype for question in _all_questions()} == set(QTYPES)


def _keys(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


@pytest.mark.parametrize("question", _all_questions(), ids=lambda question: question.qtype)
def test_learner_view_never_contains_the_key(question):
    qtype = get_type(question.qtype)
    order = qtype.initial_order(question, random.Random(7))
    dumped = json.dumps(qtype.learner_view(question, order), ensure_ascii=False)
    for key in _keys(json.loads(dumped)):
        assert not any(word in key.lower() for word in KEY_WORDS), key
    assert "FB-" not in dumped                          # no feedback text of any option or answer
    assert "Hà Nội" not in dumped and "3.5" not in dumped and "3,5" not in dumped
    view = json.loads(dumped)
    for entry in view.get("options", []) + view.get("items", []):
        assert set(entry) == {"id", "text_html"}
    assert set(view) <= {"type", "text_html", "options", "items", "numbering", "unit"}


# --------------------------------------------------------------------------- order and shuffling
@pytest.mark.parametrize("make", [single_q, multi_q, match_q])
def test_shuffle_is_reproducible_with_the_same_seed(make):
    question = make(True)
    qtype = get_type(question.qtype)
    first = qtype.initial_order(question, random.Random(2025))
    assert first == qtype.initial_order(question, random.Random(2025))
    orders = {json.dumps(qtype.initial_order(question, random.Random(seed))) for seed in range(30)}
    assert len(orders) > 1                               # it really shuffles
    assert sorted(first["options"]) == sorted(qtype.initial_order(make(False), random.Random(0))["options"])
    view = qtype.learner_view(question, first)
    assert [o["id"] for o in view["options"]] == first["options"]
    if first["items"]:
        assert [i["id"] for i in view["items"]] == first["items"]


def test_without_shuffle_the_source_order_is_kept():
    rng = random.Random(1)
    assert get_type("single").initial_order(single_q(False), rng) == {"options": ["o1", "o2", "o3", "o4"], "items": []}
    assert get_type("multi").initial_order(multi_q(False), rng)["options"] == ["o1", "o2", "o3", "o4", "o5"]
    assert get_type("matching").initial_order(match_q(False), rng) == {
        "items": ["i1", "i2", "i3"], "options": ["a1", "a2", "a3", "a4", "a5"]}
    assert get_type("truefalse").initial_order(tf_q(), rng)["options"] == ["true", "false"]


def test_learner_view_tolerates_a_stale_order():
    view = get_type("single").learner_view(single_q(), {"options": ["o3", "o9", "o1"]})
    assert [o["id"] for o in view["options"]] == ["o3", "o1", "o2", "o4"]


# --------------------------------------------------------------------------- rich text
def test_html_is_sanitised():
    dirty = ('<p onclick="x()">Chữ ký <b>số</b></p><script>alert(1)</script>'
             '<img src="x" onerror="alert(2)"><a href="javascript:alert(3)">bấm</a>'
             '<img src="@@PLUGINFILE@@/h.png" alt="a"><img src="https://example.vn/a.png" alt="Sơ đồ">'
             '<img src="//example.vn/b.png"><img src="data:image/svg+xml;base64,AAAA"><style>p{}</style>'
             '<img src="/static/so-do.png" alt="Sơ đồ nội bộ"><img src="data:image/png;base64,AAAA" alt="Ảnh">')
    clean = to_safe_html(dirty, "html")
    for bad in ("<script", "alert", "onerror", "onclick", "javascript:", "@@PLUGINFILE@@", "example.vn", "svg",
                "<style"):
        assert bad not in clean, bad
    assert "<p>Chữ ký <b>số</b></p>" in clean
    # images only from this site or inline (issue 14): never another host
    assert re.findall(r"<img[^>]*>", clean) == ['<img src="/static/so-do.png" alt="Sơ đồ nội bộ">',
                                               '<img src="data:image/png;base64,AAAA" alt="Ảnh">']


def test_vietnamese_survives_in_nfc():
    import unicodedata
    decomposed = unicodedata.normalize("NFD", "Nghị định số 30/2020")
    for fmt in ("html", "plain", "moodle", "markdown"):
        out = to_safe_html(decomposed, fmt)
        assert "Nghị định số 30/2020" in out and out == unicodedata.normalize("NFC", out), fmt


def test_plain_text_is_escaped_with_line_breaks():
    for fmt in ("plain", "unknown"):
        assert to_safe_html("a < b & <b>c</b>\nDòng 2", fmt) == "a &lt; b &amp; &lt;b&gt;c&lt;/b&gt;<br>\nDòng 2"
    assert to_safe_html(None, "plain") == ""


def test_moodle_auto_format_keeps_its_html_as_moodle_renders_it():
    # Moodle's text_to_html: HTML kept, line breaks as <br> except next to a tag, then cleaned
    assert to_safe_html("a < b & <b>c</b>\nDòng 2\nDòng 3", "moodle") == "a &lt; b &amp; <b>c</b> Dòng 2<br>Dòng 3"
    assert to_safe_html("Chọn:\n<ul>\n  <li>Một</li>\n</ul>", "moodle") == "Chọn: <ul><li>Một</li></ul>"
    assert to_safe_html('<b onclick="x()">Đậm</b><script>alert(1)</script>', "moodle") == "<b>Đậm</b>"


def test_markdown_is_rendered_then_sanitised():
    out = to_safe_html("**Đậm** [x](javascript:alert(1)) <script>bad()</script>", "markdown")
    assert "<strong>Đậm</strong>" in out
    assert "javascript:" not in out and "<script" not in out


def test_option_and_feedback_html_is_sanitised_too():
    question = q("single", {"options": [opt(1, "<b>Đúng</b><script>x()</script>", 1.0, '<img src=x onerror="y()">Hay',
                                            format="html"), opt(2, "<i>Sai</i>", 0.0, format="plain")]},
                 text_format="html", text="<p>Hỏi<script>z()</script></p>")
    single = get_type("single")
    view = single.learner_view(question, {})
    assert view["text_html"] == "<p>Hỏi</p>"
    assert view["options"][0]["text_html"] == "<b>Đúng</b>"
    assert view["options"][1]["text_html"] == "&lt;i&gt;Sai&lt;/i&gt;"
    assert single.grade(question, "o1").feedback == ["Hay"]
