"""GIFT, Moodle XML and Aiken: what Moodle 4.5 does with its own test files, our banks, and round trips."""
from __future__ import annotations

import copy
import re
import unicodedata
from pathlib import Path

import pytest

from quizzes.formats import (ImportIssue, ImportResult, ParsedCategory, ParsedQuestion, clean_name, export_gift,
                             export_moodle_xml, parse_aiken, parse_gift, parse_moodle_xml)
from quizzes.qdata import QuestionData
from tests.conftest import shared_dir

ROOT = Path(__file__).parents[2]
FIXTURES = shared_dir() / "fixtures"
CONTENT = ROOT / "quizzes" / "content"
DEFAULT = ["Mặc định"]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def gift(text: str, category=None) -> ImportResult:
    return parse_gift(text.encode("utf-8"), list(category or DEFAULT))


def qtypes(result: ImportResult) -> list[str]:
    return [p.question.qtype for p in result.questions]


def lines(issues: list[ImportIssue]) -> list[int | None]:
    return [i.line for i in issues]


def opts(q: QuestionData) -> list[tuple]:
    return [(o["text"], o["fraction"], o["feedback"]) for o in q.data["options"]]


# =========================================================================== GIFT fixtures
def test_gift_questions_fixture_imports_nine_questions_as_moodle_does():
    result = parse_gift(fixture("gift/questions.gift.txt"), DEFAULT)
    assert not result.errors and not result.refused
    assert qtypes(result) == ["essay", "matching", "single", "multi", "numerical", "shortanswer",
                              "truefalse", "truefalse", "truefalse"]
    essay, match, mc, multi, num, short, tf, tsl1, tsl2 = [p.question for p in result.questions]
    assert (essay.name, essay.text, essay.data) == ("Q8", "How are you?", {})
    assert {p.category == DEFAULT for p in result.questions} == {True}

    # matching: [html] text, per-pair formats stripped, "= -> Chat" is a distractor
    assert (match.name, match.text_format, match.text) == ("Moodle activities", "html",
                                                           "Match the <b>activity</b> to the description.")
    assert [(p["id"], p["answer"]) for p in match.data["pairs"]] == [("i1", "Forum"), ("i2", "Choice"),
                                                                      ("i3", "Database"), ("i4", "Wiki")]
    assert match.data["pairs"][0]["text"] == "An activity supporting asynchronous discussions."
    assert match.data["distractors"] == ["Chat"]

    # MC with feedback; an answer or feedback may carry its own format
    assert opts(mc) == [("yellow", 1.0, "right; good!"), ("red", 0.0, "wrong, it's yellow"),
                        ("blue", 0.0, "wrong, it's yellow")]
    assert [o["format"] for o in mc.data["options"]] == ["moodle", "moodle", "plain"]
    assert [o["id"] for o in mc.data["options"]] == ["o1", "o2", "o3"]

    # no "=" at all: multiple answers, weights %50% and %-100%
    assert opts(multi) == [("yellow", 0.5, "right; good!"), ("red", -1.0, "wrong"),
                           ("off-beige", 0.5, "right; good!"), ("blue", -1.0, "wrong")]

    # {#3:2~#Completely wrong}, then a stray '";' which makes it "missing word" style
    assert num.text == 'What is a number from 1 to 5? _____";'
    assert num.data["answers"] == [
        {"value": 3.0, "tolerance": 2.0, "fraction": 1.0, "feedback": ""},
        {"value": None, "tolerance": 0.0, "fraction": 0.0, "feedback": "Completely wrong"}]

    assert [(a["text"], a["fraction"], a["feedback"]) for a in short.data["answers"]] == [
        ("Frog", 1.0, "Good!"), ("Cat", 0.5, "What is it with Moodlers and cats?"), ("*", 0.0, "Completely wrong")]
    assert short.data["case_sensitive"] is False

    # FALSE#wrong#right####general over several lines
    assert tf.text == "42 is the Absolute Answer to everything._____\";"
    assert tf.data == {"correct": False, "feedback_true": "42 is the Ultimate Answer.",
                       "feedback_false": "You gave the right answer."}
    assert tf.general_feedback == "This is, of course, a Hitchiker's Guide to the Galaxy reference."
    assert tf.penalty == 1.0
    assert tsl1.data["correct"] is True and tsl2.data["correct"] is True
    assert (tsl1.name, tsl1.text) == ("2-08 TSL", "TSL is blablabla.")
    # the essay is brought in as a non-graded item, with a message
    assert any("tự luận" in w.message and w.question == "Q8" for w in result.warnings)


def test_gift_questions_in_category():
    result = parse_gift(fixture("gift/questions_in_category.gift.txt"), DEFAULT)
    assert not result.errors
    assert [c.path for c in result.categories] == [["Default for New Features"]]
    assert qtypes(result) == ["matching", "single", "shortanswer", "truefalse"]
    assert {tuple(p.category) for p in result.questions} == {("Default for New Features",)}
    greeting = result.questions[1].question
    # \= and \: inside HTML attributes are plain characters
    assert greeting.text.startswith('<a href="http://demo.moodle.net/file.php/5/media/bonjour.mp3">'
                                    'Listen to this greeting:</a>')
    assert [o["fraction"] for o in greeting.data["options"]] == [0.0, 1.0, 0.0, 0.0]
    user = result.questions[2].question
    assert user.data["answers"] == [{"text": "Moodler", "fraction": 1.0, "feedback": ""}]
    acronym = result.questions[3].question
    assert 'style="font-style: italic;"' in acronym.text and acronym.data["correct"] is True


def test_gift_windows_1252_file_is_refused_whole():
    result = parse_gift(fixture("gift/questions_encoding_windows-1252.gift.txt"), DEFAULT)
    assert result.refused
    assert result.questions == []
    assert len(result.errors) == 1 and "UTF-8" in result.errors[0].message
    assert "GIFT" in result.errors[0].message


EXAMPLES_TYPES = (
    ["single", "single", "truefalse", "shortanswer", "numerical"]                      # class description
    + ["single", "single", "single", "single", "shortanswer", "shortanswer", "truefalse", "truefalse",
       "matching", "matching", "numerical", "numerical", "numerical", "numerical", "numerical"]
    + ["shortanswer", "single", "single", "shortanswer", "shortanswer", "truefalse", "single", "single",
       "shortanswer", "multi", "multi", "single", "single"]                               # options
    + ["single", "single", "truefalse", "shortanswer", "numerical", "matching"]          # from format.php
    + ["single", "single", "shortanswer", "numerical"])                                  # more complicated


def test_gift_examples_every_documented_form():
    result = parse_gift(fixture("gift/examples.txt"), DEFAULT)
    assert not result.errors and not result.warnings and not result.refused
    assert qtypes(result) == EXAMPLES_TYPES
    qs = {p.line: p.question for p in result.questions}

    # missing word: the answers become a blank
    assert qs[10].text == "Grant is _____ in Grant's tomb."
    assert qs[29].text == "The American holiday of Thanksgiving is celebrated on the _____ Thursday of November."
    assert qs[45].text == "Two plus two equals _____."
    # answers at the end are simply removed, even after a line break; answers over several lines
    assert qs[35].text == "Japanese characters originally came from what country?"
    assert opts(qs[35])[1] == ("China", 1.0, "")
    # the name is made from the text when there is no title; multi-line text keeps its line break
    assert qs[8].name == "Who's buried in Grant's tomb?"
    assert (qs[90].name, qs[90].text) == ("Kanji Origins", "Japanese characters originally\ncame from what country?")
    assert qs[90].qtype == "shortanswer" and qs[90].data["answers"][0]["text"] == "China"
    # true/false forms
    assert qs[12].data["correct"] is False and qs[51].data["correct"] is True
    assert qs[113].data == {"correct": False, "feedback_true": "No one is buried in Grant's tomb.",
                            "feedback_false": ""}
    # matching with and without spaces around ->
    assert [(p["text"], p["answer"]) for p in qs[61].data["pairs"]][1] == ("Italy", "Rome")
    assert [(p["text"], p["answer"]) for p in qs[177].data["pairs"]] == [("Canada", "Ottawa"), ("Italy", "Rome"),
                                                                          ("Japan", "Tokyo")]
    # numerical: exact, value:tolerance, min..max, several weighted answers
    assert qs[70].data["answers"] == [{"value": 1822.0, "tolerance": 0.0, "fraction": 1.0, "feedback": ""}]
    assert qs[72].data["answers"][0] | {} == {"value": 3.1415, "tolerance": 0.0005, "fraction": 1.0, "feedback": ""}
    assert (qs[74].data["answers"][0]["value"], qs[74].data["answers"][0]["tolerance"]) == (3.1415, 0.0005)
    assert [(a["value"], a["tolerance"], a["fraction"]) for a in qs[76].data["answers"]] == [(1822.0, 0.0, 1.0),
                                                                                          (1822.0, 2.0, 0.5)]
    assert qs[203].name == "Numerical example"
    assert [a["feedback"] for a in qs[203].data["answers"]] == [
        "Correct! 100% credit", "He was born in 1822.\nYou get 50% credit for being close."]
    # [markdown] format
    assert (qs[108].text_format, qs[108].text) == ("markdown", "Who's buried in **Grant's tomb**?")
    # percentage weights, on MC and short answer
    assert opts(qs[117]) == [("Jerusalem", 0.0, "This was an important city, but the wrong answer."),
                             ("Bethlehem", 0.25, "He was born here, but not raised here."),
                             ("Galilee", 0.5, "You need to be more specific."),
                             ("Nazareth", 1.0, "Yes! That's right!")]
    assert qs[117].text == "Jesus Christ was from _____."
    assert [a["fraction"] for a in qs[123].data["answers"]] == [1.0, 0.75, 0.25]
    # multiple answers (no "="), including negative weights
    assert [o["fraction"] for o in qs[130].data["options"]] == [0.0, 0.5, 0.5, 0.0]
    assert [o["fraction"] for o in qs[136].data["options"]] == [-0.5, 0.5, 0.5, -0.5]
    # escapes \= \~ \# \{ \} \\
    assert [o["text"] for o in qs[143].data["options"]] == ["= 2 + 2", "= 2 + 3", "= 2 + 4"]
    control = qs[149]
    assert control.name == "GIFT Control Characters"
    assert [o["text"] for o in control.data["options"]] == ["~", "=", "#", "{", "}", "\\"]
    assert control.data["options"][5]["fraction"] == 1.0
    assert control.data["options"][5]["feedback"].startswith("Correct! \\ (backslash) is not a control character.")
    assert control.data["options"][0]["feedback"] == "~ is a control character."


# =========================================================================== GIFT rules
def test_gift_comments_id_tags_titles_and_formats():
    result = gift("// một chú thích\n"
                  "// [id:CKS-01] [tag:phap-ly] [tag:a\\]b]\n"
                  "::Tiêu đề::[html]<p>Chữ ký số</p> là gì?{\n"
                  "// chú thích ở giữa\n"
                  "  =[plain]Dữ liệu <điện tử>#[markdown]**Đúng**\n"
                  "  ~Ảnh chữ ký tay\n"
                  "  ####[html]<b>Chung</b>\n"
                  "}\n"
                  "// chú thích cuối\n\n"
                  "// chỉ có chú thích\n// không tạo câu hỏi\n")
    assert not result.errors
    [parsed] = result.questions
    q = parsed.question
    assert (q.idnumber, q.tags) == ("CKS-01", ["phap-ly", "a]b"])
    assert (q.name, q.text, q.text_format) == ("Tiêu đề", "<p>Chữ ký số</p> là gì?", "html")
    assert q.data["options"][0] == {"id": "o1", "text": "Dữ liệu <điện tử>", "format": "plain", "fraction": 1.0,
                                    "feedback": "**Đúng**"}
    assert q.data["options"][1]["format"] == "html"           # answers take the question's format
    assert q.general_feedback == "<b>Chung</b>"
    assert parsed.line == 3


def test_gift_escapes_everywhere():
    result = gift("$CATEGORY: $course$/top/Công chức số/Tỷ lệ 1\\:2\n\n"
                  "::Tiêu đề \\: có \\{ngoặc\\} và \\#::Dấu \\= và \\~ và \\# và \\\\ và xuống\\ndòng? {\n"
                  "  =Đúng \\= hẳn#Phản hồi \\{1\\} \\~\n"
                  "  ~Sai \\: không\n"
                  "}\n")
    assert not result.errors and not result.warnings
    [parsed] = result.questions
    q = parsed.question
    assert parsed.category == ["Công chức số", "Tỷ lệ 1:2"]
    assert q.name == "Tiêu đề : có {ngoặc} và #"
    assert q.text == "Dấu = và ~ và # và \\ và xuống\ndòng?"
    assert opts(q) == [("Đúng = hẳn", 1.0, "Phản hồi {1} ~"), ("Sai : không", 0.0, "")]


def test_gift_type_detection_order_and_unclosed_title():
    result = gift("Mô tả, không có ngoặc\n\n"
                  "Tự luận {}\n\n"
                  "Tự luận có gợi ý {####Gợi ý chấm}\n\n"
                  "Số {#5}\n\n"
                  "Chọn {=a ~b}\n\n"
                  "Ghép {=a -> 1 =b -> 2 =c -> 3}\n\n"
                  "Đúng sai {T#sai rồi#đúng rồi}\n\n"
                  "Ngắn {Hà Nội}\n\n"
                  "::Tiêu đề không đóng {=x}\n")
    assert not result.errors
    assert qtypes(result) == ["description", "essay", "essay", "numerical", "single", "matching", "truefalse",
                              "shortanswer", "shortanswer"]
    described = result.questions[0].question
    assert described.default_mark == 0.0 and described.data == {}
    assert result.questions[2].question.general_feedback == "Gợi ý chấm"
    tf = result.questions[6].question
    assert tf.data == {"correct": True, "feedback_true": "đúng rồi", "feedback_false": "sai rồi"}
    assert result.questions[7].question.data["answers"] == [{"text": "Hà Nội", "fraction": 1.0, "feedback": ""}]
    unclosed = result.questions[8].question
    assert (unclosed.name, unclosed.text) == ("Tiêu đề không đóng", "Tiêu đề không đóng")
    # essay and description come in as non-graded items, each with its own message
    assert lines(result.warnings) == [1, 3, 5]


def test_gift_numerical_forms():
    result = gift("::a:: Pi âm? {#-3.142..-3.141}\n\n"
                  "::b:: Năm? {#=1822:0#Đúng =%50%1822:2#Gần đúng ~#Sai hẳn}\n\n"
                  "::c:: Số bất kỳ {#*}\n\n"
                  "::d:: Số? {# =%33.33333%2:1 =%100%3:0.5}\n\n"
                  "::e:: Nghìn? {#1e3:5}\n")
    assert not result.errors
    a, b, c, d, e = [p.question.data["answers"] for p in result.questions]
    assert (a[0]["value"], a[0]["tolerance"]) == (-3.1415, 0.0005)
    assert b == [{"value": 1822.0, "tolerance": 0.0, "fraction": 1.0, "feedback": "Đúng"},
                 {"value": 1822.0, "tolerance": 2.0, "fraction": 0.5, "feedback": "Gần đúng"},
                 {"value": None, "tolerance": 0.0, "fraction": 0.0, "feedback": "Sai hẳn"}]
    assert c == [{"value": None, "tolerance": 0.0, "fraction": 1.0, "feedback": ""}]      # "*": any answer
    assert [x["fraction"] for x in d] == [0.3333333, 1.0]
    assert e[0]["value"] == 1000.0


def test_gift_errors_are_reported_by_line_while_valid_questions_parse():
    result = gift("::Tốt 1:: Câu hỏi {=a ~b}\n"
                  "\n"
                  "// câu lỗi\n"
                  "::Lỗi 1:: Thiếu đóng {\n"
                  "=a\n"
                  "~b\n"
                  "\n"
                  "::Lỗi 2:: Thiếu mở =a ~b}\n"
                  "\n"
                  "::Lỗi 3:: Một phương án {~a}\n"
                  "\n"
                  "::Lỗi 4:: Ghép sai {=a -> 1 =b}\n"
                  "\n"
                  "::Lỗi 5:: Số sai {#abc}\n"
                  "\n"
                  "::Lỗi 6:: Số thập phân phẩy {#3,14}\n"
                  "\n"
                  "::Tốt 2:: Câu hỏi {T}\n")
    assert not result.refused
    assert [p.question.name for p in result.questions] == ["Tốt 1", "Tốt 2"]
    assert lines(result.errors) == [4, 8, 10, 12, 14, 16]
    assert result.errors[0].message == "thiếu dấu đóng ngoặc }"
    assert str(result.errors[0]) == "Dòng 4: thiếu dấu đóng ngoặc }"
    assert "{" in result.errors[1].message
    assert [e.question for e in result.errors] == ["Lỗi 1", "Lỗi 2", "Lỗi 3", "Lỗi 4", "Lỗi 5", "Lỗi 6"]
    assert "dấu chấm" in result.errors[5].message
    assert not any(e.message.startswith("Dòng") for e in result.errors)


def test_gift_error_line_points_at_the_open_brace():
    result = gift("::A:: Câu? {=a ~b}\n\n::B::\nDòng hai\nDòng ba {\n=a\n~b\n")
    assert lines(result.errors) == [5]


def test_gift_grade_not_allowed_by_moodle_refuses_the_file():
    result = gift("::Tốt:: {=a ~b}\n\n::Sai:: Chọn {~%33%a ~%67%b}\n")
    assert result.refused and result.questions == []
    assert lines(result.errors) == [3] and result.errors[0].question == "Sai"


def test_gift_questions_stuck_together_get_a_warning():
    result = gift("::A:: Một {=a ~b}\n::B:: Hai {=c ~d}\n")
    assert len(result.questions) == 1                  # Moodle reads one question, as here
    assert len(result.warnings) == 1 and "dòng trống" in result.warnings[0].message


def test_gift_category_paths():
    result = gift("$CATEGORY: $course$/top/Default for Unit 1: Topic\n\n::A:: {=a ~b}\n\n"
                  "$CATEGORY: $system$/A//B/C\n\n::B:: {=a ~b}\n\n"
                  "$CATEGORY: $course$/top\n\n::C:: {=a ~b}\n", category=["Gốc"])
    assert [p.category for p in result.questions] == [["Default for Unit 1: Topic"], ["A/B", "C"], ["Gốc"]]
    assert [c.path for c in result.categories] == [["Default for Unit 1: Topic"], ["A/B", "C"]]


def test_gift_vietnamese_is_kept_in_nfc():
    text = ("::Chữ ký số::Văn bản điện tử có chữ ký số của người có thẩm quyền có giá trị như bản gốc không? {\n"
            "=Có, theo Luật Giao dịch điện tử#Đúng rồi, rất tốt.\n~Không#Chưa đúng.\n}\n")
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text
    for source in (text, decomposed):
        [parsed] = gift(source).questions
        q = parsed.question
        assert q.name == "Chữ ký số"
        assert q.text == "Văn bản điện tử có chữ ký số của người có thẩm quyền có giá trị như bản gốc không?"
        assert opts(q)[0] == ("Có, theo Luật Giao dịch điện tử", 1.0, "Đúng rồi, rất tốt.")
        assert unicodedata.is_normalized("NFC", q.text + q.name + q.data["options"][0]["feedback"])


def test_gift_bom_and_windows_line_ends():
    data = "\ufeff::A::Câu {=a ~b}\r\n\r\n::B::Câu {T}\r\n".encode("utf-8")
    result = parse_gift(data, DEFAULT)
    assert [p.question.name for p in result.questions] == ["A", "B"] and not result.errors


# =========================================================================== the project's own banks
BANKS = sorted(CONTENT.glob("*.gift"))


@pytest.mark.parametrize("path", BANKS, ids=[p.name for p in BANKS])
def test_project_bank_parses_cleanly(path):
    data = path.read_bytes()
    result = parse_gift(data, ["Ngân hàng"])
    assert not result.refused
    assert result.errors == []
    assert result.warnings == []
    expected = len(re.findall(r"\[id:", data.decode("utf-8")))
    assert len(result.questions) == expected
    assert 45 <= expected <= 80  # at least 45 per competency (issue 13); banks grow with new lessons
    assert len(result.categories) == 1 and result.categories[0].path[0] == "Công chức số"
    assert len({p.question.idnumber for p in result.questions}) == expected
    for parsed in result.questions:
        assert parsed.question.qtype in ("single", "multi", "truefalse", "shortanswer", "numerical", "matching")
        assert unicodedata.is_normalized("NFC", parsed.question.text)


def test_project_banks_exist():
    assert len(BANKS) >= 5


# =========================================================================== Aiken
def test_aiken_questions_fixture():
    result = parse_aiken(fixture("aiken/questions.aiken.txt"), DEFAULT)
    assert not result.errors
    assert qtypes(result) == ["single", "single"]
    first, second = [p.question for p in result.questions]
    assert first.text == "The Moodle project was started by:"
    assert [(o["text"], o["fraction"]) for o in first.data["options"]] == [
        ("Petr Skoda", 0.0), ("Martin Dougiamas", 1.0), ("Eloy Lafuente", 0.0), ("Tim Hunt", 0.0)]
    # shown as text, never rendered
    assert second.text == "Moodle's abilities include handling user input that includes <html class=\"cool\"> & images:"
    assert second.text_format == "plain"
    assert {o["format"] for o in second.data["options"]} == {"plain"}
    assert [o["fraction"] for o in second.data["options"]] == [1.0, 0.0]


def test_aiken_errors_fixture():
    result = parse_aiken(fixture("aiken/aiken_errors.txt"), DEFAULT)
    assert not result.refused
    assert [p.question.text for p in result.questions] == [
        "A good question", "A second good question", "A third good question with HTML chars such as > < &"]
    assert lines(result.errors) == [3, 5, 7, 18]
    second = result.questions[1].question
    assert [(o["text"], o["fraction"]) for o in second.data["options"]] == [("Incorrect (No space)", 0.0),
                                                                           ("Correct (No space)", 1.0)]
    assert result.questions[2].question.data["options"][0]["text"] == "Correct (< > &)"


def test_aiken_answer_letter_out_of_range_and_unfinished_last_question():
    result = parse_aiken("Câu một\nA) Có\nB) Không\nANSWER: C\n\nCâu hai\nA) X\nB) Y\n".encode(), DEFAULT)
    assert result.questions == [] and lines(result.errors) == [4, 6]


# =========================================================================== Moodle XML fixtures
def xml(name: str) -> ImportResult:
    return parse_moodle_xml(fixture(f"moodlexml/{name}"), DEFAULT)


def test_xml_truefalse_fixture_keeps_questions_drops_files():
    result = xml("truefalse.xml")
    assert not result.errors
    assert qtypes(result) == ["truefalse", "truefalse"]
    false_q, true_q = [p.question for p in result.questions]
    assert (false_q.name, false_q.data["correct"]) == ("Moodle acronym (False)", False)
    assert (true_q.name, true_q.data["correct"]) == ("Moodle acronym (True)", True)
    assert "Your answer is correct." in false_q.data["feedback_false"]
    assert false_q.text_format == "html" and false_q.penalty == 1.0
    assert [p.category for p in result.questions] == [["Default for testhead", "TrueFalse"]] * 2
    assert len(result.warnings) == 2 and all("tệp" in w.message for w in result.warnings)


def test_xml_multichoice_fixture():
    result = xml("multichoice.xml")
    assert not result.errors
    [parsed] = result.questions
    q = parsed.question
    assert (q.qtype, q.name, q.penalty) == ("single", "Greeting", 0.1)
    assert [o["fraction"] for o in q.data["options"]] == [0.0, 1.0, 0.0, 0.0]
    assert [o["feedback"] for o in q.data["options"]][1] == "<p>Yes, well done!</p>"
    assert q.data["shuffle"] is True and q.data["numbering"] == "abc"
    assert parsed.category == ["Default for testhead", "Multichoice"]
    assert len(result.warnings) == 1 and "5 tệp" in result.warnings[0].message


def test_xml_multianswer_fixture_is_a_non_graded_cloze_item():
    result = xml("multianswer.xml")
    assert not result.errors
    [parsed] = result.questions
    q = parsed.question
    assert (q.qtype, q.name, q.data) == ("cloze", "cloze with images", {})
    assert "{1:MULTICHOICE:=California#OK~Arizona#Wrong}" in q.text
    assert "{1:SHORTANSWER:%100%Paris#Congratulations!" in q.text
    assert q.default_mark == 5.0
    assert any("cloze" in w.message for w in result.warnings)


def test_xml_old_image_tag_fixture():
    result = xml("sample_questions_with_old_image_tag.xml")
    assert not result.errors
    assert qtypes(result) == ["cloze", "single"]
    mcq = result.questions[1].question
    assert opts(mcq) == [("wrong answer", 0.0, ""), ("another wrong answer", 0.0, ""), ("right answer", 1.0, "")]
    assert [p.category for p in result.questions] == [["Default for Test images in backup"]] * 2
    image_warnings = [w for w in result.warnings if "ảnh" in w.message]
    assert lines(image_warnings) == [16, 36]


def test_xml_broken_cloze_fixture_imports_nothing_with_five_errors():
    result = xml("broken_cloze_questions.xml")
    assert result.questions == []
    assert lines(result.errors) == [4, 20, 36, 52, 68]
    messages = [e.message for e in result.errors]
    assert "không có ô trả lời" in messages[0]
    assert "{1:MULTICHOICE}" in messages[1]
    assert "ít nhất 2 lựa chọn" in messages[2]
    assert "100%" in messages[3]
    assert "zero" in messages[4]
    assert result.errors[3].question == "Multichoice subquestion with no completely correct answer"


def test_xml_invalid_grades_fixture_is_refused_whole():
    result = xml("error_invalid_grades.xml")
    assert result.refused and result.questions == []
    assert len(result.errors) == 1
    assert "33%" in result.errors[0].message and result.errors[0].line == 4
    assert result.errors[0].question == "Question with invalid grades : x > 1 & x < 2"


@pytest.mark.parametrize("name", ["category_with_description.xml", "deprecated_category.xml",
                                  "export_category.xml"])
def test_xml_category_with_description(name):
    result = xml(name)
    assert not result.errors
    assert result.categories == [ParsedCategory(["Alpha"], "This is Alpha category for test", "alpha-idnumber")]
    [parsed] = result.questions
    assert (parsed.question.qtype, parsed.question.name, parsed.category) == ("truefalse", "Alpha Question", ["Alpha"])
    assert parsed.question.text == "<p>Testing Alpha Question</p>" and parsed.question.data["correct"] is True


def test_xml_nested_categories():
    result = xml("nested_categories.xml")
    assert [c.path for c in result.categories] == [["Delta"], ["Delta", "Epsilon"], ["Delta", "Epsilon", "Zeta"]]
    assert [c.description for c in result.categories] == ["This is Delta category for test",
                                                          "This is Epsilon category for test",
                                                          "This is Zeta category for test"]
    assert [(p.question.name, p.category) for p in result.questions] == [("Zeta Question",
                                                                           ["Delta", "Epsilon", "Zeta"])]


def test_xml_nested_categories_with_questions():
    result = xml("nested_categories_with_questions.xml")
    assert not result.errors
    assert [c.path for c in result.categories] == [["Iota"], ["Iota", "Kappa"], ["Iota", "Kappa", "Lambda"],
                                                   ["Iota", "Mu"]]
    assert [(p.question.name, p.category) for p in result.questions] == [
        ("Iota Question", ["Iota"]), ("Kappa Essay Question", ["Iota", "Kappa"]),
        ("Kappa Question", ["Iota", "Kappa"]), ("Lambda Question", ["Iota", "Kappa", "Lambda"]),
        ("Mu Question", ["Iota", "Mu"])]
    assert result.questions[1].question.qtype == "essay"


def test_xml_categories_in_reverse_order():
    result = xml("categories_reverse_order.xml")
    assert not result.errors
    assert [(c.path, c.description) for c in result.categories] == [
        (["Sigma", "Tau"], "This is Tau category for test"), (["Sigma"], "This is Sigma category for test")]
    assert [(p.question.name, p.question.qtype, p.category) for p in result.questions] == [
        ("Tau Question", "essay", ["Sigma", "Tau"]), ("Sigma Question", "shortanswer", ["Sigma"])]
    sigma = result.questions[1].question
    assert [(a["text"], a["fraction"]) for a in sigma.data["answers"]] == [("yes", 1.0), ("no", 0.0),
                                                                           ("may be", 0.0)]
    assert sigma.text_format == "moodle" and sigma.data["case_sensitive"] is False


def test_xml_old_format_categories():
    result = xml("old_format_file.xml")
    assert not result.errors
    assert result.categories == [ParsedCategory(["Pi"]), ParsedCategory(["Pi", "Rho"])]
    assert [(p.question.name, p.category) for p in result.questions] == [("Pi Question", ["Pi"]),
                                                                          ("Rho Question", ["Pi", "Rho"])]


def test_xml_html_chars_in_idnumbers():
    result = xml("html_chars_in_idnumbers.xml")
    assert result.categories[0].idnumber == "The inequalities < & >"
    assert result.questions[0].question.idnumber == "T & F"


def test_xml_export_of_category_alpha_matches_moodles_export():
    ours = xml("export_category.xml")
    out = export_moodle_xml(ours.questions, ours.categories)
    assert "<text>$course$/top/Alpha</text>" in out
    assert "<idnumber>alpha-idnumber</idnumber>" in out
    assert '<question type="truefalse">' in out and '<answer fraction="100" format="moodle_auto_format">' in out
    again = parse_moodle_xml(out.encode(), DEFAULT)
    assert again.categories == ours.categories
    assert [(p.category, p.question) for p in again.questions] == [(p.category, p.question) for p in ours.questions]

    html = xml("html_chars_in_idnumbers.xml")
    out = export_moodle_xml(html.questions, html.categories)
    assert "<idnumber>The inequalities &lt; &amp; &gt;</idnumber>" in out
    assert "<idnumber>T &amp; F</idnumber>" in out
    assert parse_moodle_xml(out.encode(), DEFAULT).questions[0].question.idnumber == "T & F"


def test_xml_every_supported_fixture_round_trips():
    for path in sorted((FIXTURES / "moodlexml").glob("*.xml")):
        first = parse_moodle_xml(path.read_bytes(), DEFAULT)
        if first.refused or not first.questions:
            continue
        again = parse_moodle_xml(export_moodle_xml(first.questions, first.categories).encode(), DEFAULT)
        assert [(p.category, p.question) for p in again.questions] == [(p.category, p.question)
                                                                        for p in first.questions], path.name
        assert sorted(c.path for c in again.categories) == sorted(c.path for c in first.categories), path.name


def test_xml_unsupported_types_malformed_files_and_dtds():
    data = ('<?xml version="1.0" encoding="UTF-8"?><quiz>'
            '<question type="calculated"><name><text>Tính</text></name></question>'
            '<question type="weird"><name><text>Lạ</text></name></question>'
            '<question type="truefalse"><name><text>Đ/S</text></name><questiontext format="html"><text>?</text>'
            '</questiontext><answer fraction="0"><text>true</text></answer>'
            '<answer fraction="100"><text>false</text></answer></question></quiz>').encode()
    result = parse_moodle_xml(data, DEFAULT)
    assert qtypes(result) == ["truefalse"] and result.questions[0].question.data["correct"] is False
    assert [e.question for e in result.errors] == ["Lạ"]
    assert any("Tính" in w.message for w in result.warnings)

    broken = parse_moodle_xml(b'<?xml version="1.0"?>\n<quiz>\n<question type="truefalse">\n</quiz>', DEFAULT)
    assert broken.refused and broken.errors[0].line == 4
    dtd = parse_moodle_xml(b'<?xml version="1.0"?><!DOCTYPE quiz [<!ENTITY a "b">]><quiz>&a;</quiz>', DEFAULT)
    assert dtd.refused
    assert parse_moodle_xml(b"<html></html>", DEFAULT).refused
    assert parse_moodle_xml("<quiz>é</quiz>".encode("latin-1"), DEFAULT).refused


def test_xml_question_before_any_category_goes_to_the_default_category():
    data = ('<quiz><question type="shortanswer"><name><text>Thủ đô</text></name>'
            '<questiontext format="moodle_auto_format"><text>Thủ đô của Việt Nam?</text></questiontext>'
            '<usecase>1</usecase><answer fraction="100"><text>Hà Nội</text></answer></question></quiz>').encode()
    [parsed] = parse_moodle_xml(data, ["Gốc", "Con"]).questions
    assert parsed.category == ["Gốc", "Con"] and parsed.question.data["case_sensitive"] is True
    assert parsed.line == 1


# =========================================================================== round trips
def option(n, text, fraction, feedback="", fmt="moodle"):
    return {"id": f"o{n}", "text": text, "format": fmt, "fraction": fraction, "feedback": feedback}


def graded_questions() -> list[ParsedQuestion]:
    """One question of every type, with the characters GIFT must escape and Vietnamese text."""
    tricky = "Ký tự đặc biệt: ~ = # { } \\ và ->? Dòng một\nDòng hai"
    qs = [
        (["Công chức số", "Chữ ký số"], QuestionData(
            "single", "Một lựa chọn: dấu ~ = # { } \\", tricky, general_feedback="Giải thích # chung {x}",
            idnumber="CKS-01", tags=["phap-ly", "co-ban"],
            data={"options": [option(1, "Đúng = 100%", 1.0, "Tốt: #1"), option(2, "Nửa ~ điểm", 0.5, "Gần"),
                              option(3, "Sai", 0.0), option(4, "%50% không phải trọng số", 0.0),
                              option(5, "<b>HTML</b>", -0.3333333, "Trừ", fmt="html"),
                              option(6, "[html] ở đầu", 0.0)],
                  "shuffle": True, "numbering": "abc"})),
        (["Công chức số", "Chữ ký số"], QuestionData(
            "multi", "Nhiều lựa chọn", "Chọn các ý đúng về <i>chữ ký số</i>", text_format="html",
            data={"options": [option(1, "A", 0.5, fmt="html"), option(2, "B", 0.5, "fb", fmt="html"),
                              option(3, "C", -1.0, fmt="plain"), option(4, "D", 0.0, fmt="html")],
                  "shuffle": True, "numbering": "abc"})),
        (["Công chức số"], QuestionData(
            "truefalse", "Đúng/sai", "Văn bản điện tử có giá trị như bản gốc.", penalty=1.0,
            data={"correct": True, "feedback_true": "Đúng # rồi", "feedback_false": "Sai: xem lại"})),
        (["Công chức số"], QuestionData(
            "truefalse", "Đúng/sai 2", "Câu sai.", penalty=1.0,
            data={"correct": False, "feedback_true": "", "feedback_false": "Chính xác"})),
        (["Công chức số"], QuestionData(
            "truefalse", "Đúng/sai 3", "Chỉ phản hồi khi đúng.", penalty=1.0,
            data={"correct": True, "feedback_true": "Hay", "feedback_false": ""})),
        (["Khác"], QuestionData(
            "shortanswer", "Trả lời ngắn", "Thủ đô của Việt Nam là _____ nhé.", general_feedback="Hà Nội",
            data={"answers": [{"text": "Hà Nội", "fraction": 1.0, "feedback": "Đúng"},
                              {"text": "Ha Noi", "fraction": 0.9, "feedback": ""},
                              {"text": "HN = Hà Nội?", "fraction": 0.5, "feedback": "Viết tắt"},
                              {"text": "*", "fraction": 0.0, "feedback": "Sai"}],
                  "case_sensitive": False, "ignore_diacritics": False})),
    ]
    qs += [
        (["Khác"], QuestionData(
            "numerical", "Số", "Luật có hiệu lực năm nào?", text_format="markdown",
            data={"answers": [{"value": 2024.0, "tolerance": 0.0, "fraction": 1.0, "feedback": "Đúng"},
                              {"value": 3.1415, "tolerance": 0.0005, "fraction": 0.5, "feedback": "Gần"},
                              {"value": -12.5, "tolerance": 1.5, "fraction": 0.1, "feedback": ""},
                              {"value": None, "tolerance": 0.0, "fraction": 0.0, "feedback": "Sai hẳn"}],
                  "unit": ""})),
        (["Khác"], QuestionData(
            "numerical", "Số bất kỳ", "Nhập số nào cũng được",
            data={"answers": [{"value": None, "tolerance": 0.0, "fraction": 1.0, "feedback": ""}], "unit": ""})),
        (["Khác", "Ghép/đôi"], QuestionData(
            "matching", "Ghép đôi", "Ghép văn bản với cơ quan ban hành:",
            data={"pairs": [{"id": "i1", "text": "Luật 20/2023/QH15", "answer": "Quốc hội"},
                            {"id": "i2", "text": "Nghị định 30/2020/NĐ-CP", "answer": "Chính phủ"},
                            {"id": "i3", "text": "Thông tư: số 01", "answer": "Bộ {Nội vụ}"}],
                  "distractors": ["UBND phường"], "shuffle": True})),
        (["Khác"], QuestionData("essay", "Tự luận", "Trình bày quy trình ký số.", general_feedback="Gợi ý chấm")),
        (["Khác"], QuestionData("description", "Mô tả", "Đọc kỹ đoạn sau: {không phải đáp án}", default_mark=0.0)),
    ]
    return [ParsedQuestion(category=list(cat), question=q) for cat, q in qs]


def comparable(items) -> list[tuple]:
    return [(p.category, p.question) for p in items]


def test_gift_round_trip_gives_the_same_questions():
    items = graded_questions()
    text = export_gift(items)
    assert "$CATEGORY: $course$/top/Công chức số/Chữ ký số" in text
    assert "$CATEGORY: $course$/top/Khác/Ghép//đôi" in text
    again = parse_gift(text.encode("utf-8"), ["Không dùng"])
    assert not again.errors and not again.refused
    assert comparable(again.questions) == comparable(items)


def test_moodle_xml_round_trip_gives_the_same_questions():
    items = graded_questions()
    # XML also carries marks, penalties, shuffling, case sensitivity, units and cloze items
    items[0].question.default_mark, items[0].question.penalty = 2.0, 0.1
    items[1].question.data["shuffle"], items[1].question.data["numbering"] = False, "123"
    items[5].question.data["case_sensitive"] = True
    items[5].question.data["ignore_diacritics"] = True
    items[6].question.data["unit"] = "năm"
    items[8].question.data["shuffle"] = False
    items.append(ParsedQuestion(["Khác"], QuestionData(
        "cloze", "Cloze", "Thủ đô là {1:SHORTANSWER:=Hà Nội} và {2:MULTICHOICE:=A~B} <b>&amp;</b>",
        text_format="html", default_mark=3.0)))
    categories = [ParsedCategory(["Công chức số"], "Mô tả <b>chung</b> & riêng", "CCS"),
                  ParsedCategory(["Rỗng"], "Danh mục chưa có câu hỏi")]
    text = export_moodle_xml(items, categories)
    assert "<text>$course$/top/Công chức số/Chữ ký số</text>" in text
    assert "<![CDATA[" in text
    again = parse_moodle_xml(text.encode("utf-8"), ["Không dùng"])
    assert not again.errors and not again.refused
    assert comparable(again.questions) == comparable(items)
    by_path = {tuple(c.path): c for c in again.categories}
    assert by_path[("Công chức số",)] == categories[0]
    assert by_path[("Rỗng",)] == categories[1]
    assert ("Khác", "Ghép/đôi") in by_path
    # parents come before children
    paths = [c.path for c in again.categories]
    assert paths.index(["Công chức số"]) < paths.index(["Công chức số", "Chữ ký số"])


def test_round_trip_of_parsed_fixtures_and_banks():
    """parse -> export -> parse gives the same questions, for every shipped bank and every fixture file."""
    sources = ([(p, parse_gift) for p in sorted((FIXTURES / "gift").glob("*.txt"))]
               + [(p, parse_aiken) for p in sorted((FIXTURES / "aiken").glob("*.txt"))]
               + [(p, parse_gift) for p in BANKS])
    assert len(sources) == 6 + len(BANKS) and len(BANKS) >= 5
    for path, parse in sources:
        first = parse(path.read_bytes(), DEFAULT)
        if first.refused:
            assert path.name == "questions_encoding_windows-1252.gift.txt"
            continue
        assert first.questions, path.name
        for exporter, reader in ((export_gift, parse_gift), (export_moodle_xml, parse_moodle_xml)):
            again = reader(exporter(copy.deepcopy(first.questions)).encode("utf-8"), DEFAULT)
            assert not again.errors, (path.name, again.errors)
            assert comparable(again.questions) == comparable(first.questions), path.name


def test_gift_export_skips_cloze_with_a_comment():
    items = [ParsedQuestion(["A"], QuestionData("cloze", "Cloze", "{1:SHORTANSWER:=x}")),
             ParsedQuestion(["A"], QuestionData("truefalse", "TF", "?", penalty=1.0,
                                                data={"correct": True, "feedback_true": "", "feedback_false": ""}))]
    text = export_gift(items)
    assert text.startswith("// Bỏ qua câu hỏi “Cloze”")
    again = parse_gift(text.encode(), ["B"])
    assert [(p.category, p.question.name) for p in again.questions] == [(["A"], "TF")]


# =========================================================================== every export imports back
def short(answers, name="Ngắn", text="Ký hiệu của phép ánh xạ?", fmt="moodle") -> QuestionData:
    return QuestionData("shortanswer", name, text, text_format=fmt,
                        data={"answers": [{"text": t, "fraction": f, "feedback": fb} for t, f, fb in answers],
                              "case_sensitive": False, "ignore_diacritics": False})


def test_gift_export_of_arrows_in_short_answers_and_matching_items_imports_back():
    items = [ParsedQuestion(["A"], q) for q in (
        short([("a->b", 1.0, "")]),                                             # one answer: written without "="
        short([("x -> y", 1.0, "Đúng -> tốt")], name="Phản hồi có mũi tên"),
        short([("f->g", 1.0, "->"), ("f→g", 0.5, "Gần đúng"), ("->", 0.0, "")], name="Nhiều đáp án"),
        short([("[html]<b>không phải định dạng</b>", 1.0, "")], name="Ngoặc vuông"),
        short([("T", 1.0, "")], name="Chữ T"),
        QuestionData("matching", "Ghép", "Ghép ký hiệu:", data={
            "pairs": [{"id": "i1", "text": "a->b", "answer": "ánh xạ -> đích"},
                      {"id": "i2", "text": "<=>", "answer": "tương đương"},
                      {"id": "i3", "text": "->", "answer": "->"}],
            "distractors": ["x->y"], "shuffle": True}),
        QuestionData("numerical", "Số", "Số bất kỳ, sai số 5", data={
            "answers": [{"value": None, "tolerance": 5.0, "fraction": 1.0, "feedback": "->"},
                        {"value": None, "tolerance": 2.0, "fraction": 0.0, "feedback": ""}], "unit": ""}),
    )]
    text = export_gift(items)
    assert "\t%100%a->b#\n" in text              # Moodle reads this one as short answer too
    again = parse_gift(text.encode(), DEFAULT)
    assert not again.errors and not again.warnings
    assert [p.question.qtype for p in again.questions] == [p.question.qtype for p in items]
    assert comparable(again.questions) == comparable(items)


GIFT_SPECIALS = ["~", "=", "#", "{", "}", ":", "\\", "->", "-", ">", "<", "%", "[", "]", "[html]", "[plain]", "//",
                 "::", "####", "\n", " ", "T", "*", "..", "%50%", "&", "<b>", "\\n", "\\:", "_____", "đ", "Ư", "1"]


def _tricky(rng, allow_empty=False) -> str:
    text = "".join(rng.choice(GIFT_SPECIALS) for _ in range(rng.randint(0 if allow_empty else 1, 8)))
    return text.strip()            # what a parser gives back: every text is trimmed


def test_gift_round_trip_holds_for_random_texts_full_of_control_characters():
    import random

    rng = random.Random(20261205)
    for round_ in range(300):
        qtype = rng.choice(["single", "multi", "truefalse", "shortanswer", "numerical", "matching", "essay",
                            "description"])
        fmt = rng.choice(["moodle", "html", "plain", "markdown"])
        name = clean_name(_tricky(rng)) or "Tên"          # as a parser leaves a name: no tags, trimmed
        q = QuestionData(qtype, name, _tricky(rng) or "Đề", text_format=fmt,
                         general_feedback="" if qtype == "description" else _tricky(rng, allow_empty=True),
                         idnumber=rng.choice(["", "ID-1", "a]b"]), tags=rng.choice([[], ["phap-ly"], ["a]b", "x y"]]))
        if qtype in ("single", "multi"):
            options = [option(n, _tricky(rng) or "x", f, _tricky(rng, allow_empty=True), rng.choice([fmt, "html"]))
                       for n, f in enumerate([1.0 if qtype == "single" else 0.5, 0.0, 0.5 if qtype == "multi" else 0.0,
                                              -0.5], start=1)]
            q.data = {"options": options, "shuffle": True, "numbering": "abc"}
        elif qtype == "truefalse":
            q.penalty = 1.0
            q.data = {"correct": rng.random() < 0.5, "feedback_true": _tricky(rng, allow_empty=True),
                      "feedback_false": _tricky(rng, allow_empty=True)}
        elif qtype == "shortanswer":
            q.data = {"answers": [{"text": _tricky(rng) or "a", "fraction": f, "feedback": _tricky(rng, True)}
                                  for f in rng.choice([[1.0], [1.0, 0.5], [0.5, 1.0, 0.0]])],
                      "case_sensitive": False, "ignore_diacritics": False}
        elif qtype == "numerical":
            q.data = {"answers": [{"value": rng.choice([None, 3.5, -2.0, 1e-05, 1822.0]),
                                   "tolerance": rng.choice([0.0, 0.5]), "fraction": f, "feedback": _tricky(rng, True)}
                                  for f in (1.0, 0.5, 0.0)], "unit": ""}
        elif qtype == "matching":
            q.data = {"pairs": [{"id": f"i{n}", "text": _tricky(rng) or "m", "answer": _tricky(rng) or "n"}
                                for n in (1, 2, 3)],
                      "distractors": [_tricky(rng) or "d"], "shuffle": True}
        elif qtype == "description":
            q.default_mark = 0.0
        items = [ParsedQuestion(["Vòng", f"Số {round_}"], q),
                 # a file of descriptions alone is refused as "not GIFT"; one more question keeps it a bank
                 ParsedQuestion(["Vòng"], QuestionData("truefalse", "Đ/S", "Đúng?", penalty=1.0, data={
                     "correct": True, "feedback_true": "", "feedback_false": ""}))]
        text = export_gift(items)
        again = parse_gift(text.encode(), DEFAULT)
        assert not again.errors, (round_, text, again.errors)
        assert comparable(again.questions) == comparable(items), (round_, text)


GIFT_CARRIES = ("qtype", "name", "text", "text_format", "idnumber", "tags")


def gift_view(q: QuestionData) -> tuple:
    """What a GIFT file carries of a question from Moodle XML (no marks, penalties, shuffling, units, case)."""
    data = copy.deepcopy(q.data)
    for key in ("shuffle", "numbering", "case_sensitive", "ignore_diacritics", "unit"):
        data.pop(key, None)
    general = "" if q.qtype == "description" else q.general_feedback
    return tuple(getattr(q, k) for k in GIFT_CARRIES) + (general, data)


def test_gift_export_of_every_moodle_xml_fixture_imports_back():
    checked = 0
    for path in sorted((FIXTURES / "moodlexml").glob("*.xml")):
        first = parse_moodle_xml(path.read_bytes(), DEFAULT)
        kept = [p for p in first.questions if p.question.qtype != "cloze"]     # cloze has no GIFT form
        if not kept:
            continue
        again = parse_gift(export_gift(copy.deepcopy(kept)).encode(), DEFAULT)
        assert not again.errors, (path.name, again.errors)
        assert [(p.category, gift_view(p.question)) for p in again.questions] == \
            [(p.category, gift_view(p.question)) for p in kept], path.name
        checked += len(kept)
    assert checked >= 10


# =========================================================================== a file of another format
def test_moodle_xml_read_as_gift_is_refused_naming_moodle_xml():
    for data in (fixture("moodlexml/truefalse.xml"), b"<quiz>\n<question type=\"truefalse\"></question></quiz>",
                 b"\xef\xbb\xbf  <?xml version=\"1.0\"?><quiz/>"):
        result = parse_gift(data, DEFAULT)
        assert result.refused and result.questions == []
        assert [str(e) for e in result.errors] == ["Tệp này có vẻ là tệp Moodle XML, không phải GIFT: toàn bộ tệp bị "
                                                   "từ chối. Hãy nhập lại với định dạng Moodle XML."]


def test_aiken_read_as_gift_and_gift_read_as_aiken_are_refused():
    as_gift = parse_gift(fixture("aiken/questions.aiken.txt"), DEFAULT)
    assert as_gift.refused and "có vẻ là tệp Aiken" in as_gift.errors[0].message
    as_aiken = parse_aiken(fixture("gift/examples.txt"), DEFAULT)
    assert as_aiken.refused and "có vẻ là tệp GIFT" in as_aiken.errors[0].message
    assert parse_aiken(fixture("moodlexml/multichoice.xml"), DEFAULT).refused
    as_xml = parse_moodle_xml(fixture("gift/questions.gift.txt"), DEFAULT)
    assert as_xml.refused and "có vẻ là tệp GIFT" in as_xml.errors[0].message


def test_text_without_any_answer_block_is_not_a_gift_bank():
    result = gift("Đoạn văn thứ nhất.\n\nĐoạn văn thứ hai, không có đáp án.\n")
    assert result.refused and "Không tìm thấy câu hỏi GIFT nào" in result.errors[0].message
    # a description beside real questions is still fine
    mixed = gift("::Mô tả::Đọc kỹ đoạn sau.\n\n::Câu::Đúng không? {T}\n")
    assert not mixed.errors and qtypes(mixed) == ["description", "truefalse"]


@pytest.mark.parametrize("data, words", [
    (b"", "Tệp rỗng"), (b"\n  \n", "Tệp rỗng"), ("\ufeff".encode(), "Tệp rỗng"),
    ("::Câu::Đúng? {T}\n".encode("utf-16"), "UTF-16"),
    ("::Câu::Đúng? {T}\n".encode("utf-16-le"), "NUL"),
    (b"PK\x03\x04\x14\x00", "ZIP"), (b"%PDF-1.7\n%\xe2\xe3", "PDF"), (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"::A::B {T}\n\x00\x01\x02", "NUL"),
])
def test_binary_empty_and_utf16_files_are_refused_by_every_parser(data, words):
    for parse in (parse_gift, parse_aiken, parse_moodle_xml):
        result = parse(data, DEFAULT)
        assert result.refused and result.questions == [], parse.__name__
        assert words in result.errors[0].message, (parse.__name__, result.errors)


def test_nul_byte_is_refused_with_its_line_and_a_file_of_comments_only_has_nothing_to_import():
    result = gift("::A::Đúng? {T}\n\n::B::Có\x00NUL? {T}\n")
    assert result.refused and lines(result.errors) == [3]
    comments = gift("// chỉ có chú thích\n")
    assert comments.refused and "không có câu hỏi nào" in comments.errors[0].message


# =========================================================================== what the bank can hold
def test_limits_of_the_bank_are_errors_with_lines_in_the_preview():
    result = gift("::Không đề::{=Có ~Không}\n\n"
                  "// [id:" + "M" * 101 + "] [tag:" + "t" * 101 + "]\n::Dài::Câu? {T}\n\n"
                  "$CATEGORY: $course$/top/" + "/".join(["C"] * 21) + "\n\n"
                  "::Sâu::Câu? {T}\n\n"
                  "$CATEGORY: " + "N" * 256 + "\n\n::Tên dài::Câu? {T}\n")
    assert lines(result.errors) == [1, 4, 6, 10]
    empty, long_ids, deep, long_name = [e.message for e in result.errors]
    assert "nội dung (đề bài)" in empty
    assert "ID number" in long_ids and "thẻ" in long_ids and "tối đa 100" in long_ids
    assert "lồng 21 cấp (tối đa 20 cấp" in deep
    assert "256 ký tự (tối đa 255)" in long_name
    # a title over 255 characters is shortened as Moodle does, not refused
    [titled] = gift("::" + "T" * 300 + "::Câu? {T}\n").questions
    assert titled.question.name == "T" * 252 + "..."


def test_tags_are_cleaned_as_moodle_cleans_them():
    [parsed] = gift("// [tag:  hai   từ ] [tag:<b>] [tag:a`b] [tag:\t]\n::A::Câu? {T}\n").questions
    assert parsed.question.tags == ["hai từ"]            # Moodle reads no tag with < > ` in it
    xml = ('<quiz><question type="truefalse"><name><text>Đ/S</text></name><questiontext format="html">'
           '<text>Đúng?</text></questiontext><answer fraction="100"><text>true</text></answer>'
           '<answer fraction="0"><text>false</text></answer><tags><tag><text><![CDATA[ <b>đậm</b>  '
           'thẻ ]]></text></tag><tag><text> </text></tag></tags></question></quiz>')
    [parsed] = parse_moodle_xml(xml.encode(), DEFAULT).questions
    assert parsed.question.tags == ["bđậm/b thẻ"]


def test_a_category_name_of_spaces_only_is_dropped_and_a_title_of_spaces_gets_a_name():
    result = gift("$CATEGORY: Gốc/\u00a0/Con\n\n::\u00a0::Văn bản điện tử là gì? {=Dữ liệu ~Giấy}\n")
    assert not result.errors
    [parsed] = result.questions
    assert parsed.category == ["Gốc", "Con"]
    assert parsed.question.name == "Văn bản điện tử là gì?"


# =========================================================================== Moodle's default text format
def test_gift_html_in_moodle_default_format_is_rendered_as_moodle_does():
    from quizzes.qtypes import get_type

    [parsed] = gift("::Đậm::Chữ ký số <b>bảo đảm</b> điều gì?\\nChọn một. {\n"
                    "=<i>Toàn vẹn</i> dữ liệu\n~Tốc độ <script>alert(1)</script>\n}\n").questions
    q = parsed.question
    assert q.text_format == "moodle"
    view = get_type(q.qtype).learner_view(q, {})
    assert view["text_html"] == "Chữ ký số <b>bảo đảm</b> điều gì?<br>Chọn một."
    assert [o["text_html"] for o in view["options"]] == ["<i>Toàn vẹn</i> dữ liệu", "Tốc độ "]
    # [plain] still shows the tags as text, as Moodle's FORMAT_PLAIN does
    [plain] = gift("::Thô::[plain]Chữ <b>thô</b> {T}\n").questions
    assert get_type("truefalse").learner_view(plain.question, {})["text_html"] == "Chữ &lt;b&gt;thô&lt;/b&gt;"


# =========================================================================== images: this site or data: only
IMAGES = {
    '<img src="/static/so-do.png" alt="Sơ đồ">': True,
    '<img src="/media/bai-1/anh.jpg" width="300" height="200" title="Ảnh">': True,
    '<img src="data:image/png;base64,iVBORw0KGgo=" alt="Ảnh nhúng">': True,
    '<img src="DATA:IMAGE/WEBP;BASE64,UklGRg==">': True,
    '<img src="https://example.vn/a.png">': False,
    '<img src="http://example.vn/a.png">': False,
    '<img src="//example.vn/a.png">': False,
    '<img src="/\\example.vn/a.png">': False,
    '<img src="&#47;&#47;example.vn/a.png">': False,
    '<img src="/\t/example.vn/a.png">': False,
    '<img src="@@PLUGINFILE@@/a.png">': False,
    '<img src="javascript:alert(1)">': False,
    '<img src="data:image/svg+xml;base64,PHN2Zz4=">': False,
    '<img src="data:text/html;base64,PHNjcmlwdD4=">': False,
    '<img src="anh.png">': False,
    '<img alt="không có nguồn">': False,
}


@pytest.mark.parametrize("tag", sorted(IMAGES))
def test_question_and_lesson_images_only_from_this_site_or_data(tag):
    from courses.markdown import render_markdown
    from quizzes.richtext import to_safe_html

    for out in (to_safe_html(f"Xem ảnh: {tag}", "html"), to_safe_html(f"Xem ảnh: {tag}", "moodle"),
                to_safe_html(f"Xem ảnh: {tag}", "markdown"), render_markdown(f"Xem ảnh: {tag}")):
        kept = re.findall(r"<img[^>]*>", out)
        assert bool(kept) is IMAGES[tag], (tag, out)
        assert "Xem ảnh:" in out
        if kept:
            assert 'src="' in kept[0] and "example.vn" not in out


def test_markdown_images_in_lessons_follow_the_same_rule():
    from courses.markdown import render_markdown

    out = render_markdown('![Sơ đồ quy trình](/media/quy-trinh.png "Quy trình") ![Ngoài](https://example.vn/x.png)\n\n'
                          '[tải về](data:text/html;base64,PHNjcmlwdD4=) [trang](https://dichvucong.gov.vn)')
    assert '<img alt="Sơ đồ quy trình" src="/media/quy-trinh.png" title="Quy trình">' in out
    assert "example.vn" not in out and "data:" not in out
    assert '<a href="https://dichvucong.gov.vn" rel="noopener noreferrer nofollow">trang</a>' in out
