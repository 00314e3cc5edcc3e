"""Forms for trainers: quiz settings, quiz rules, bank import and export."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (BooleanField, DateTimeLocalField, FloatField, HiddenField, IntegerField, StringField,
                     SubmitField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import HiddenInput

from quizzes.models import GRADING_METHODS, REVIEW_WHEN
from training.forms import BaseForm, ChoiceField, strip_filter

QUIZ_STATUS_LABELS = {
    "draft": _l("Bản nháp (học viên chưa thấy)"),
    "published": _l("Đã xuất bản"),
}
GRADING_LABELS = {
    "highest": _l("Lần cao điểm nhất"),
    "last": _l("Lần làm cuối cùng"),
    "first": _l("Lần làm đầu tiên"),
    "average": _l("Điểm trung bình các lần"),
}
REVIEW_LABELS = {
    "never": _l("Không bao giờ"),
    "after_submit": _l("Ngay sau khi nộp bài"),
    "after_close": _l("Sau khi bài kiểm tra đóng"),
}
FORMAT_LABELS = {
    "gift": _l("GIFT (Moodle)"),
    "moodlexml": _l("Moodle XML"),
    "aiken": _l("Aiken"),
}
EXPORT_FORMAT_LABELS = {key: FORMAT_LABELS[key] for key in ("gift", "moodlexml")}
UPLOAD_EXTENSIONS = ["txt", "gift", "xml"]
DATETIME_LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

assert set(GRADING_LABELS) == set(GRADING_METHODS) and set(REVIEW_LABELS) == set(REVIEW_WHEN)






class NumberField(FloatField):
    """A number that may be typed the Vietnamese way, with a decimal comma (1,5)."""

    def process_formdata(self, valuelist):
        if valuelist and isinstance(valuelist[0], str):
            valuelist = [valuelist[0].strip().replace(",", ".")]
        super().process_formdata(valuelist)


def _review_field(label):
    return ChoiceField(label, choices=list(REVIEW_LABELS.items()))


class QuizForm(BaseForm):
    title = StringField(_l("Tên bài kiểm tra"), filters=[strip_filter],
                        validators=[DataRequired(_l("Vui lòng nhập tên bài kiểm tra.")), Length(max=300)])
    description = TextAreaField(_l("Mô tả"), validators=[Optional(), Length(max=10_000)], render_kw={"rows": 3})
    course_id = ChoiceField(_l("Thuộc khóa học"), coerce=int, default=0)
    competency_id = ChoiceField(_l("Năng lực được công nhận khi đạt"), coerce=int, default=0)
    status = ChoiceField(_l("Trạng thái"), choices=list(QUIZ_STATUS_LABELS.items()), default="draft")
    pass_percent = NumberField(_l("Điểm đạt (%)"), default=70.0,
                              validators=[InputRequired(_l("Vui lòng nhập điểm đạt.")),
                                          NumberRange(min=0, max=100,
                                                      message=_l("Điểm đạt phải là số phần trăm từ 0 đến 100."))])
    time_limit_min = IntegerField(_l("Thời gian làm bài (phút)"),
                                  validators=[Optional(), NumberRange(min=1, max=1440,
                                                                      message=_l("Từ 1 đến 1440 phút."))])
    opens_at = DateTimeLocalField(_l("Mở từ (giờ Việt Nam)"), format=DATETIME_LOCAL, validators=[Optional()])
    closes_at = DateTimeLocalField(_l("Đóng lúc (giờ Việt Nam)"), format=DATETIME_LOCAL, validators=[Optional()])
    max_attempts = IntegerField(_l("Số lần làm tối đa"), default=0,
                                validators=[InputRequired(_l("Vui lòng nhập số lần làm tối đa.")),
                                            NumberRange(min=0, max=100, message=_l("Từ 0 đến 100 lần."))])
    attempt_delay_min = IntegerField(_l("Thời gian chờ giữa hai lần làm (phút)"), default=0,
                                     validators=[InputRequired(_l("Vui lòng nhập thời gian chờ.")),
                                                 NumberRange(min=0, max=525_600,
                                                             message=_l("Từ 0 đến 525600 phút (một năm)."))])
    grading_method = ChoiceField(_l("Cách tính điểm khi làm nhiều lần"), choices=list(GRADING_LABELS.items()),
                                 default="highest")
    shuffle_questions = BooleanField(_l("Xáo trộn thứ tự câu hỏi"), default=True)
    shuffle_options = BooleanField(_l("Xáo trộn thứ tự phương án trả lời"), default=True)
    questions_per_page = IntegerField(_l("Số câu mỗi trang"), default=5,
                                      validators=[InputRequired(_l("Vui lòng nhập số câu mỗi trang.")),
                                                  NumberRange(min=1, max=50, message=_l("Từ 1 đến 50 câu."))])
    review_correctness = _review_field(_l("Cho xem câu nào đúng, câu nào sai"))
    review_right_answers = _review_field(_l("Cho xem đáp án đúng"))
    review_feedback = _review_field(_l("Cho xem phản hồi, giải thích"))
    submit = SubmitField(_l("Lưu"))

    def validate_closes_at(self, field):
        if field.data is not None and self.opens_at.data is not None and field.data <= self.opens_at.data:
            raise ValidationError(_l("Thời điểm đóng phải sau thời điểm mở."))


class MarkField(NumberField):
    def __init__(self, label=None, **kwargs):
        kwargs.setdefault("default", 1.0)
        kwargs.setdefault("validators", [
            InputRequired(_l("Vui lòng nhập điểm của câu.")),
            NumberRange(min=0.01, max=100, message=_l("Điểm mỗi câu từ 0,01 đến 100."))])
        super().__init__(label or _l("Điểm mỗi câu"), **kwargs)


class RandomRuleForm(BaseForm):
    category_id = ChoiceField(_l("Danh mục"), coerce=int,
                              validators=[DataRequired(_l("Vui lòng chọn danh mục."))])
    count = IntegerField(_l("Số câu ngẫu nhiên"), default=1,
                         validators=[InputRequired(_l("Vui lòng nhập số câu.")),
                                     NumberRange(min=1, max=500, message=_l("Từ 1 đến 500 câu."))])
    include_subcategories = BooleanField(_l("Gồm cả danh mục con"), default=True)
    mark = MarkField()
    submit = SubmitField(_l("Thêm câu ngẫu nhiên"))


class FixedRuleForm(BaseForm):
    """One "Thêm" button of the question picker: the question comes from the result it sits in (a hidden
    field), never typed; the mark is the result's own field."""

    question_id = IntegerField(_l("Câu hỏi"), widget=HiddenInput(),
                               validators=[InputRequired(_l("Hãy tìm câu hỏi rồi bấm “Thêm” ở câu muốn thêm.")),
                                           NumberRange(min=1, max=2_147_483_647,
                                                       message=_l("Mã số câu hỏi không hợp lệ."))])
    mark = MarkField()
    submit = SubmitField(_l("Thêm"))


class ImportForm(BaseForm):
    file = FileField(_l("Tệp ngân hàng câu hỏi"),
                     validators=[FileRequired(_l("Vui lòng chọn tệp.")),
                                 FileAllowed(UPLOAD_EXTENSIONS, _l("Chỉ nhận tệp .txt, .gift (GIFT, Aiken) "
                                                                   "hoặc .xml (Moodle XML)."))])
    format = ChoiceField(_l("Định dạng"), choices=list(FORMAT_LABELS.items()), default="gift")
    category = StringField(_l("Nhập vào danh mục (không bắt buộc)"), filters=[strip_filter],
                           validators=[Optional(), Length(max=1000)])
    competency_id = ChoiceField(_l("Gắn năng lực cho danh mục (không bắt buộc)"), coerce=int, default=0)
    preview = SubmitField(_l("Xem trước"))

    def validate_file(self, field):
        name = (getattr(field.data, "filename", "") or "").lower()
        expected = ("xml",) if self.format.data == "moodlexml" else ("txt", "gift")
        if name and name.rsplit(".", 1)[-1] not in expected:
            raise ValidationError(_l("Phần mở rộng của tệp không khớp với định dạng đã chọn: Moodle XML cần tệp "
                                     ".xml, GIFT và Aiken cần tệp .txt hoặc .gift."))


class ApplyImportForm(BaseForm):
    token = HiddenField()
    apply = SubmitField(_l("Nhập vào ngân hàng"))
