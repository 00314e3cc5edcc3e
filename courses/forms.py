from flask_babel import lazy_gettext as _l
from training.forms import BaseForm as FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional


class AssignmentForm(FlaskForm):
    course_id = SelectField(_l("Khóa học"), coerce=int, validators=[DataRequired(_l("Hãy chọn khóa học."))])
    target = RadioField(_l("Giao cho"), choices=[("group", _l("Đơn vị (gồm cả đơn vị cấp dưới), có thể chọn vị trí")),
                                                 ("person", _l("Một cán bộ (theo email)"))], default="group")
    unit_id = SelectField(_l("Đơn vị"), coerce=int)
    position_id = SelectField(_l("Vị trí việc làm"), coerce=int)
    email = StringField(_l("Email của cán bộ"), validators=[Optional(), Length(max=254)])
    due_on = DateField(_l("Hạn hoàn thành"), validators=[DataRequired(_l("Hãy nhập hạn hoàn thành (ngày/tháng/năm)."))])
    note = StringField(_l("Ghi chú"), validators=[Optional(), Length(max=500)])
    requires_lessons = BooleanField(_l("Bắt buộc học hết các bài (không chỉ đạt bài kiểm tra năng lực)"))
    submit = SubmitField(_l("Giao khóa học"))
