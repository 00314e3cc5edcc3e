"""Forms of the staffing pages (Flask-WTF: CSRF on every one, messages in the user's language)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, DateField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from training.forms import BaseForm, ChoiceField, ChoiceMessages, strip_filter


class PopulationForm(BaseForm):
    """Load units' populations from a CSV or XLSX file (all or nothing)."""

    file = FileField(_l("Tệp số dân (CSV hoặc XLSX)"),
                     validators=[FileRequired(_l("Vui lòng chọn tệp.")),
                                 FileAllowed(["csv", "xlsx"], _l("Chỉ nhận tệp .csv hoặc .xlsx."))])
    dry_run = BooleanField(_l("Chỉ kiểm tra tệp, chưa ghi"))
    submit = SubmitField(_l("Nhập số dân"))


class ReviewOpenForm(BaseForm):
    """Open a position fit review of a unit's subtree, judged on a day."""

    unit = StringField(_l("Đơn vị rà soát (tên hoặc mã)"), filters=[strip_filter],
                       validators=[DataRequired(_l("Vui lòng nhập đơn vị.")), Length(max=100)])
    as_of = DateField(_l("Đánh giá năng lực tại ngày"), validators=[InputRequired(_l("Vui lòng chọn ngày."))])
    note = StringField(_l("Ghi chú (không bắt buộc)"), filters=[strip_filter], validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Mở đợt rà soát"))


class RadioChoice(ChoiceMessages, RadioField):
    """A radio group with its messages in the user's language."""

    message = _l("Vui lòng chọn một quyết định.")


class DecisionForm(BaseForm):
    """HR's decision for one official of a review."""

    decision = RadioChoice(_l("Quyết định"), choices=[("keep", _l("Giữ nguyên vị trí")),
                                                     ("train", _l("Bồi dưỡng theo hạn")),
                                                     ("move", _l("Đề xuất điều chuyển"))])
    due_on = DateField(_l("Hạn hoàn thành khóa học"), validators=[Optional()])
    course = ChoiceField(_l("Khóa học giao"), coerce=int, validators=[Optional()])
    move_unit = StringField(_l("Đơn vị đề xuất chuyển đến (tên hoặc mã)"), filters=[strip_filter],
                            validators=[Optional(), Length(max=100)])
    move_position = ChoiceField(_l("Vị trí việc làm đề xuất"), coerce=int, validators=[Optional()])
    note = TextAreaField(_l("Ghi chú"), filters=[strip_filter], validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Lưu quyết định"))


class ConfirmForm(BaseForm):
    """A POST button with its CSRF token."""

    submit = SubmitField(_l("Chốt đợt rà soát"))
