"""Forms for trainers writing the question bank: categories, and one form per graded question type.

Options, answers and pairs are FieldLists of small row forms with a few blank rows; a row left
entirely blank is ignored. Fractions are typed as percents (100, 50, -50) and numbers may use the
Vietnamese decimal comma. The forms check what WTForms can (numbers are numbers, ranges); the
question type's own `validate` runs afterwards on the QuestionData that `question_data()` builds.
"""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import (BooleanField, FieldList, Form, FormField, RadioField, StringField, SubmitField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, StopValidation, ValidationError

from quizzes.qdata import QuestionData, default_name
from quizzes.qtypes.numerical import parse_number
from quizzes.richtext import to_safe_html
from training.forms import BaseForm, ChoiceField, ChoiceMessages, strip_filter

BLANK_ROWS = 2          # blank rows offered after the existing ones when editing
MORE_ROWS = 3           # rows added by the "more rows" button
MAX_ROWS = 50
TEXT_MAX = 20_000




def _lines(value):
    """Browsers send textarea newlines as CRLF; store LF only."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def show_number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.10g}"


def to_fraction(percent: float | None) -> float:
    return round((percent or 0.0) / 100.0, 7)


def to_percent(fraction) -> float | None:
    try:
        return round(float(fraction) * 100.0, 5)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- fields and validators
class NumberField(StringField):
    """A number typed as "3,5" or "3.5" (or "*" when `allow_star`); `data` is a float, "*" or None when blank."""

    def __init__(self, label=None, validators=None, allow_star: bool = False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.allow_star = allow_star

    def process_formdata(self, valuelist):
        self.data = None
        raw = valuelist[0].strip() if valuelist and isinstance(valuelist[0], str) else ""
        if not raw:
            return
        if self.allow_star and raw == "*":
            self.data = "*"
            return
        value = parse_number(raw)
        if value is None:
            raise ValueError(_l("Giá trị này không phải là số (ví dụ hợp lệ: 2 hoặc 3,5).") if not self.allow_star
                             else _l("Giá trị này không phải là số (ví dụ hợp lệ: 2, 3,5 hoặc * cho mọi số)."))
        self.data = value

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data == "*":
            return "*"
        return show_number(self.data) if isinstance(self.data, (int, float)) else ""

    def is_blank(self) -> bool:
        if self.raw_data is not None:
            return not (self.raw_data and str(self.raw_data[0]).strip())
        return self.data is None


class Between:
    """A range check for a NumberField that says nothing when the value did not parse (that error is shown)."""

    def __init__(self, low: float | None = None, high: float | None = None, message=None):
        self.low, self.high, self.message = low, high, message

    def __call__(self, form, field):
        value = field.data
        if not isinstance(value, (int, float)):
            return
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise ValidationError(self.message)




class ParentField(ChoiceField):
    """The parent of a category; a category cannot move under itself or one of its subcategories."""

    forbidden: set[int] = set()

    def pre_validate(self, form):
        if self.data in self.forbidden:
            raise StopValidation(str(_l("Không thể chọn chính danh mục này hoặc một danh mục con của nó "
                                        "làm danh mục cha.")))
        super().pre_validate(form)


PERCENT_RANGE = Between(-100, 100, _l("Điểm phải từ -100% đến 100%."))


def percent_field():
    return NumberField(_l("Điểm (%)"), validators=[Optional(), PERCENT_RANGE],
                       render_kw={"inputmode": "decimal", "autocomplete": "off"})


# --------------------------------------------------------------------------- categories
class CategoryForm(BaseForm):
    name = StringField(_l("Tên danh mục"), filters=[strip_filter],
                       validators=[DataRequired(_l("Vui lòng nhập tên danh mục.")), Length(max=255)])
    parent_id = ParentField(_l("Danh mục cha"), coerce=int)
    competency_id = ChoiceField(_l("Năng lực"), coerce=int)
    description = TextAreaField(_l("Mô tả"), filters=[_lines], validators=[Optional(), Length(max=5000)],
                                render_kw={"rows": 3})
    idnumber = StringField(_l("Mã danh mục (ID number)"), filters=[strip_filter], validators=[Optional(), Length(max=100)])
    submit = SubmitField(_l("Lưu"))


# --------------------------------------------------------------------------- rows
class RowForm(Form):
    """A row of a FieldList; blank when every visible input is empty."""

    def is_blank(self) -> bool:
        for field in self:
            if isinstance(field, NumberField):
                if not field.is_blank():
                    return False
            elif isinstance(field.data, str) and field.data.strip():
                return False
        return True


class OptionRow(RowForm):
    text = TextAreaField(_l("Nội dung phương án"), filters=[_lines], validators=[Optional(), Length(max=TEXT_MAX)],
                         render_kw={"rows": 2})
    percent = percent_field()
    feedback = TextAreaField(_l("Phản hồi khi chọn phương án này"), filters=[_lines],
                             validators=[Optional(), Length(max=TEXT_MAX)], render_kw={"rows": 1})


class ShortAnswerRow(RowForm):
    text = StringField(_l("Đáp án được chấp nhận"), validators=[Optional(), Length(max=1000)],
                       render_kw={"autocomplete": "off"})
    percent = percent_field()
    feedback = TextAreaField(_l("Phản hồi"), filters=[_lines], validators=[Optional(), Length(max=TEXT_MAX)],
                             render_kw={"rows": 1})


class NumericalRow(RowForm):
    value = NumberField(_l("Giá trị đúng"), allow_star=True, validators=[Optional()],
                        render_kw={"inputmode": "decimal", "autocomplete": "off"})
    tolerance = NumberField(_l("Sai số cho phép (±)"),
                            validators=[Optional(), Between(0, None, _l("Sai số phải là một số không âm."))],
                            render_kw={"inputmode": "decimal", "autocomplete": "off"})
    percent = percent_field()
    feedback = TextAreaField(_l("Phản hồi"), filters=[_lines], validators=[Optional(), Length(max=TEXT_MAX)],
                             render_kw={"rows": 1})


class PairRow(RowForm):
    text = TextAreaField(_l("Mục (vế trái)"), filters=[_lines], validators=[Optional(), Length(max=TEXT_MAX)],
                         render_kw={"rows": 1})
    answer = StringField(_l("Câu trả lời ghép với mục (vế phải)"), filters=[strip_filter],
                         validators=[Optional(), Length(max=1000)])


def _rows(row_form, label, count: int = 5):
    return FieldList(FormField(row_form), label=label, min_entries=count, max_entries=MAX_ROWS)


# --------------------------------------------------------------------------- questions
def split_tags(raw: str | None) -> list[str]:
    return [t.strip() for t in re.split(r"[,;]", raw or "") if t.strip()]


class QuestionForm(BaseForm):
    """Fields every graded type shares; subclasses add the type's own fields and conversions."""

    qtype = ""
    row_lists: tuple[str, ...] = ()

    category_id = ChoiceField(_l("Danh mục"), coerce=int)
    name = StringField(_l("Tên câu hỏi"), filters=[strip_filter], validators=[Optional(), Length(max=255)])
    text = TextAreaField(_l("Nội dung câu hỏi"), filters=[_lines],
                         validators=[DataRequired(_l("Vui lòng nhập nội dung câu hỏi.")), Length(max=TEXT_MAX)],
                         render_kw={"rows": 6})
    general_feedback = TextAreaField(_l("Nhận xét chung (hiện sau khi làm bài)"), filters=[_lines],
                                     validators=[Optional(), Length(max=TEXT_MAX)], render_kw={"rows": 3})
    default_mark = NumberField(_l("Điểm mặc định"), default=1.0,
                               validators=[InputRequired(_l("Vui lòng nhập điểm mặc định.")),
                                           Between(0, 1000, _l("Điểm mặc định phải từ 0 đến 1000."))],
                               render_kw={"inputmode": "decimal"})
    tags = StringField(_l("Thẻ"), validators=[Optional(), Length(max=1000)])
    idnumber = StringField(_l("Mã câu hỏi (ID number)"), filters=[strip_filter], validators=[Optional(), Length(max=100)])
    submit = SubmitField(_l("Lưu"))
    preview = SubmitField(_l("Xem trước"))
    more = SubmitField(_l("Thêm dòng trống"))

    # ------------------------------------------------------------------ validation
    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for tag in split_tags(self.tags.data):
            if len(tag) > 100:
                self.tags.errors = list(self.tags.errors) + [_l("Mỗi thẻ dài tối đa 100 ký tự.")]
                ok = False
                break
        for name in self.row_lists:
            for row in getattr(self, name):
                if not row.form.is_blank() and not self.check_row(row.form):
                    ok = False
        return ok

    def check_row(self, row) -> bool:
        """Errors of one filled row that only make sense together (shown on the row's fields)."""
        return True

    @staticmethod
    def require(field, message) -> bool:
        value = field.data
        if (isinstance(field, NumberField) and field.is_blank()) or (isinstance(value, str) and not value.strip()) \
                or value is None:
            field.errors = list(field.errors) + [message]
            return False
        return True

    def filled(self, name: str) -> list:
        return [row.form for row in getattr(self, name) if not row.form.is_blank()]

    def add_rows(self, count: int = MORE_ROWS) -> None:
        for name in self.row_lists:
            rows = getattr(self, name)
            for _ in range(count):
                if len(rows) < MAX_ROWS:
                    rows.append_entry()

    # ------------------------------------------------------------------ conversion
    def question_data(self, text_format: str = "markdown", penalty: float = 0.3333333,
                      option_format: str | None = None) -> QuestionData:
        """The QuestionData the form describes (tolerant: fields that did not parse count as empty)."""
        text = self.text.data or ""
        mark = self.default_mark.data if isinstance(self.default_mark.data, (int, float)) else 1.0
        # A blank name is made from the text as the learner reads it (Markdown and tags removed), as Moodle does.
        name = (self.name.data or "").strip() or default_name(to_safe_html(text, text_format))
        return QuestionData(qtype=self.qtype, name=name,
                            text=text, text_format=text_format, general_feedback=self.general_feedback.data or "",
                            default_mark=float(mark), penalty=penalty, idnumber=self.idnumber.data or "",
                            tags=split_tags(self.tags.data),
                            data=self.type_data(option_format or text_format))

    def type_data(self, fmt: str) -> dict:
        """The type's `data` dict from the form's fields; each question form defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define type_data")

    @classmethod
    def initial(cls, q: QuestionData, category_id: int) -> dict:
        """Form data for editing `q` (rows padded with blank ones)."""
        data = {"category_id": category_id, "name": q.name, "text": q.text, "general_feedback": q.general_feedback,
                "default_mark": q.default_mark, "tags": ", ".join(q.tags), "idnumber": q.idnumber}
        data.update(cls.initial_type_data(q.data or {}))
        for name in cls.row_lists:
            rows = data.get(name, [])
            data[name] = rows + [{}] * max(BLANK_ROWS, 5 - len(rows))
        return data

    @classmethod
    def initial_type_data(cls, data: dict) -> dict:
        return {}


def _dicts(value) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


class ChoiceQuestionForm(QuestionForm):
    row_lists = ("options",)
    options = _rows(OptionRow, _l("Các phương án"))
    shuffle = BooleanField(_l("Xáo trộn thứ tự phương án"), default=True)

    def check_row(self, row) -> bool:
        return self.require(row.text, _l("Hãy nhập nội dung phương án, hoặc để trống cả dòng."))

    def type_data(self, fmt: str) -> dict:
        options = []
        for n, row in enumerate(self.filled("options"), start=1):
            options.append({"id": f"o{n}", "text": row.text.data or "", "format": fmt,
                            "fraction": to_fraction(row.percent.data if isinstance(row.percent.data, float) else 0),
                            "feedback": row.feedback.data or ""})
        return {"options": options, "shuffle": bool(self.shuffle.data), "numbering": "abc"}

    @classmethod
    def initial_type_data(cls, data: dict) -> dict:
        return {"shuffle": bool(data.get("shuffle", True)),
                "options": [{"text": o.get("text") or "", "percent": to_percent(o.get("fraction", 0)),
                             "feedback": o.get("feedback") or ""} for o in _dicts(data.get("options"))]}


class SingleForm(ChoiceQuestionForm):
    qtype = "single"


class MultiForm(ChoiceQuestionForm):
    qtype = "multi"


class TrueFalseChoice(ChoiceMessages, RadioField):
    message = _l("Hãy chọn đáp án đúng: “Đúng” hoặc “Sai”.")


class TrueFalseForm(QuestionForm):
    qtype = "truefalse"
    correct = TrueFalseChoice(_l("Đáp án đúng"), choices=[("true", _l("Đúng")), ("false", _l("Sai"))])
    feedback_true = TextAreaField(_l("Phản hồi khi học viên chọn “Đúng”"), filters=[_lines],
                                  validators=[Optional(), Length(max=TEXT_MAX)], render_kw={"rows": 2})
    feedback_false = TextAreaField(_l("Phản hồi khi học viên chọn “Sai”"), filters=[_lines],
                                   validators=[Optional(), Length(max=TEXT_MAX)], render_kw={"rows": 2})

    def type_data(self, fmt: str) -> dict:
        correct = {"true": True, "false": False}.get(self.correct.data)
        return {"correct": correct, "feedback_true": self.feedback_true.data or "",
                "feedback_false": self.feedback_false.data or ""}

    @classmethod
    def initial_type_data(cls, data: dict) -> dict:
        correct = data.get("correct")
        return {"correct": "true" if correct is True else "false" if correct is False else None,
                "feedback_true": data.get("feedback_true") or "", "feedback_false": data.get("feedback_false") or ""}


class ShortAnswerForm(QuestionForm):
    qtype = "shortanswer"
    row_lists = ("answers",)
    answers = _rows(ShortAnswerRow, _l("Các đáp án được chấp nhận"))
    case_sensitive = BooleanField(_l("Phân biệt chữ hoa, chữ thường"))
    ignore_diacritics = BooleanField(_l("Bỏ qua dấu tiếng Việt khi so sánh (“ha noi” khớp “Hà Nội”)"))

    def check_row(self, row) -> bool:
        return self.require(row.text, _l("Hãy nhập đáp án, hoặc để trống cả dòng."))

    def type_data(self, fmt: str) -> dict:
        answers = [{"text": (row.text.data or "").strip(),
                    "fraction": to_fraction(row.percent.data if isinstance(row.percent.data, float) else 0),
                    "feedback": row.feedback.data or ""} for row in self.filled("answers")]
        return {"answers": answers, "case_sensitive": bool(self.case_sensitive.data),
                "ignore_diacritics": bool(self.ignore_diacritics.data)}

    @classmethod
    def initial_type_data(cls, data: dict) -> dict:
        return {"case_sensitive": bool(data.get("case_sensitive")),
                "ignore_diacritics": bool(data.get("ignore_diacritics")),
                "answers": [{"text": a.get("text") or "", "percent": to_percent(a.get("fraction", 0)),
                             "feedback": a.get("feedback") or ""} for a in _dicts(data.get("answers"))]}


class NumericalForm(QuestionForm):
    qtype = "numerical"
    row_lists = ("answers",)
    answers = _rows(NumericalRow, _l("Các đáp án"))
    unit = StringField(_l("Đơn vị (không bắt buộc)"), filters=[strip_filter], validators=[Optional(), Length(max=50)])

    def check_row(self, row) -> bool:
        return self.require(row.value, _l("Hãy nhập giá trị đúng (hoặc * để chấp nhận mọi số), "
                                          "hoặc để trống cả dòng."))

    def type_data(self, fmt: str) -> dict:
        answers = []
        for row in self.filled("answers"):
            value = row.value.data
            answers.append({"value": value if isinstance(value, float) else None,
                            "tolerance": abs(row.tolerance.data) if isinstance(row.tolerance.data, float) else 0.0,
                            "fraction": to_fraction(row.percent.data if isinstance(row.percent.data, float) else 0),
                            "feedback": row.feedback.data or ""})
        return {"answers": answers, "unit": self.unit.data or ""}

    @classmethod
    def initial_type_data(cls, data: dict) -> dict:
        rows = []
        for a in _dicts(data.get("answers")):
            value = a.get("value")
            rows.append({"value": "*" if value is None else value, "tolerance": a.get("tolerance") or 0.0,
                         "percent": to_percent(a.get("fraction", 0)), "feedback": a.get("feedback") or ""})
        return {"unit": data.get("unit") or "", "answers": rows}


class MatchingForm(QuestionForm):
    qtype = "matching"
    row_lists = ("pairs",)
    pairs = _rows(PairRow, _l("Các cặp ghép"))
    distractors = TextAreaField(_l("Câu trả lời gây nhiễu (mỗi dòng một câu, không ghép với mục nào)"),
                                filters=[_lines], validators=[Optional(), Length(max=TEXT_MAX)],
                                render_kw={"rows": 3})
    shuffle = BooleanField(_l("Xáo trộn thứ tự"), default=True)

    def check_row(self, row) -> bool:
        if (row.text.data or "").strip():
            return self.require(row.answer, _l("Hãy nhập câu trả lời ghép với mục này."))
        return True

    def type_data(self, fmt: str) -> dict:
        pairs = [{"id": f"i{n}", "text": (row.text.data or "").strip(), "answer": (row.answer.data or "").strip()}
                 for n, row in enumerate(self.filled("pairs"), start=1)]
        distractors = [line.strip() for line in (self.distractors.data or "").split("\n") if line.strip()]
        return {"pairs": pairs, "distractors": distractors, "shuffle": bool(self.shuffle.data)}

    @classmethod
    def initial_type_data(cls, data: dict) -> dict:
        return {"shuffle": bool(data.get("shuffle", True)),
                "distractors": "\n".join(d for d in data.get("distractors") or [] if isinstance(d, str)),
                "pairs": [{"text": p.get("text") or "", "answer": p.get("answer") or ""}
                          for p in _dicts(data.get("pairs"))]}


QUESTION_FORMS: dict[str, type[QuestionForm]] = {
    form.qtype: form for form in (SingleForm, MultiForm, TrueFalseForm, ShortAnswerForm, NumericalForm, MatchingForm)
}
