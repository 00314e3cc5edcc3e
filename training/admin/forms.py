from flask_babel import lazy_gettext as _l
from training.forms import BaseForm as FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (BooleanField, EmailField, HiddenField, IntegerField, SelectField, SelectMultipleField,
                     StringField, SubmitField, TextAreaField, widgets)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from training.labels import ROLE_LABELS, UNIT_TYPE_LABELS

CODE_PATTERN = Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Mã chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang, gạch dưới."))


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class UnitForm(FlaskForm):
    code = StringField(_l("Mã đơn vị"), validators=[DataRequired(_l("Vui lòng nhập mã đơn vị.")), Length(max=40),
                                                   CODE_PATTERN])
    name = StringField(_l("Tên đơn vị"), validators=[DataRequired(_l("Vui lòng nhập tên đơn vị.")), Length(max=200)])
    unit_type = SelectField(_l("Loại đơn vị"), choices=list(UNIT_TYPE_LABELS.items()))
    parent_id = SelectField(_l("Đơn vị cấp trên"), coerce=int)
    submit = SubmitField(_l("Lưu"))


class PositionForm(FlaskForm):
    code = StringField(_l("Mã vị trí việc làm"), validators=[DataRequired(_l("Vui lòng nhập mã.")), Length(max=40),
                                                            CODE_PATTERN])
    name = StringField(_l("Tên vị trí việc làm"), validators=[DataRequired(_l("Vui lòng nhập tên.")), Length(max=200)])
    description = TextAreaField(_l("Mô tả"), validators=[Optional(), Length(max=2000)])
    competencies = MultiCheckboxField(_l("Năng lực yêu cầu"), coerce=int)
    submit = SubmitField(_l("Lưu"))


class UserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Vui lòng nhập email.")), Length(max=254)])
    full_name = StringField(_l("Họ và tên"), validators=[DataRequired(_l("Vui lòng nhập họ và tên.")), Length(max=200)])
    unit_id = SelectField(_l("Đơn vị"), coerce=int)
    position_id = SelectField(_l("Vị trí việc làm"), coerce=int)
    roles = MultiCheckboxField(_l("Vai trò"), choices=list(ROLE_LABELS.items()),
                               validators=[DataRequired(_l("Chọn ít nhất một vai trò."))])
    active = BooleanField(_l("Đang hoạt động"), default=True)
    submit = SubmitField(_l("Lưu"))


class CompetencyForm(FlaskForm):
    name_vi = StringField(_l("Tên tiếng Việt"), validators=[DataRequired(_l("Vui lòng nhập tên.")), Length(max=200)])
    name_en = StringField(_l("Tên tiếng Anh"), validators=[DataRequired(_l("Vui lòng nhập tên.")), Length(max=200)])
    description = TextAreaField(_l("Mô tả"), validators=[Optional(), Length(max=2000)])
    validity_months = IntegerField(_l("Thời hạn hiệu lực (tháng)"),
                                   validators=[DataRequired(_l("Vui lòng nhập số tháng.")),
                                               NumberRange(min=1, max=120, message=_l("Từ 1 đến 120 tháng."))])
    is_core = BooleanField(_l("Năng lực cốt lõi (mặc định yêu cầu cho vị trí mới)"))
    submit = SubmitField(_l("Lưu"))


class SettingsForm(FlaskForm):
    grant_min_pass_percent = IntegerField(
        _l("Điểm đạt tối thiểu của bài kiểm tra cấp năng lực (%)"),
        validators=[DataRequired(_l("Vui lòng nhập điểm đạt tối thiểu.")),
                    NumberRange(min=50, max=100, message=_l("Từ 50 đến 100."))])
    grant_min_questions = IntegerField(
        _l("Số câu hỏi có chấm điểm tối thiểu của bài kiểm tra cấp năng lực"),
        validators=[DataRequired(_l("Vui lòng nhập số câu tối thiểu.")),
                    NumberRange(min=5, max=200, message=_l("Từ 5 đến 200 câu."))])
    submit = SubmitField(_l("Lưu"))


class RosterForm(FlaskForm):
    """Step 1: check a file. Nothing is written; a clean file is kept for step 2."""

    file = FileField(_l("Tệp danh sách (CSV hoặc XLSX)"),
                     validators=[FileRequired(_l("Vui lòng chọn tệp.")),
                                 FileAllowed(["csv", "xlsx"], _l("Chỉ nhận tệp .csv hoặc .xlsx."))])
    submit = SubmitField(_l("Kiểm tra tệp"))


class RosterApplyForm(FlaskForm):
    """Step 2: import the file just checked, kept on the server under this token."""

    token = HiddenField()
    apply = SubmitField(_l("Nhập ngay"))


class ConfirmForm(FlaskForm):
    """An empty form: a POST button with its CSRF token."""

    submit = SubmitField(_l("Xác nhận"))
