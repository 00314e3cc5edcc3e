"""Forms for trainers writing courses and lessons in the browser."""
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, IntegerField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from courses.authoring import SLUG_MAX, SLUG_PATTERN
from courses.media import ACCEPT, ACCEPT_CAPTIONS, ALT_MAX, CAPTION_MAX
from training.forms import BaseForm as FlaskForm
from training.forms import ChoiceField, strip_filter

COURSE_STATUS_LABELS = {
    "draft": _l("Bản nháp"),
    "published": _l("Đã xuất bản"),
}
LESSON_STATUS_LABELS = {
    "draft": _l("Bản nháp"),
    "published": _l("Đã xuất bản"),
    "archived": _l("Lưu trữ (ẩn với học viên)"),
}
SOURCE_LABELS = {
    "file": _l("Tệp nội dung"),
    "web": _l("Soạn trên web"),
}

SLUG_FORMAT = Regexp(SLUG_PATTERN, message=_l("Đường dẫn chỉ gồm chữ thường không dấu (a–z), chữ số và dấu gạch "
                                              "ngang giữa các từ, ví dụ: chu-ky-so."))




class MinutesField(IntegerField):
    """An integer field whose parse error is in the user's language (WTForms has no Vietnamese)."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("Thời lượng phải là một số nguyên (phút).")) from exc




class CourseForm(FlaskForm):
    title = StringField(_l("Tên khóa học"), filters=[strip_filter],
                        validators=[DataRequired(_l("Vui lòng nhập tên khóa học.")), Length(max=300)])
    slug = StringField(_l("Đường dẫn (slug)"), filters=[strip_filter],
                       validators=[Optional(), Length(max=SLUG_MAX), SLUG_FORMAT])
    summary = TextAreaField(_l("Tóm tắt"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 3})
    intro_md = TextAreaField(_l("Giới thiệu (Markdown)"), validators=[Optional(), Length(max=50_000)],
                             render_kw={"rows": 8})
    competency_id = ChoiceField(_l("Năng lực được rèn luyện"), coerce=int)
    status = ChoiceField(_l("Trạng thái"), choices=list(COURSE_STATUS_LABELS.items()))
    submit = SubmitField(_l("Lưu"))
    preview = SubmitField(_l("Xem trước"))


class LessonForm(FlaskForm):
    title = StringField(_l("Tên bài học"), filters=[strip_filter],
                        validators=[DataRequired(_l("Vui lòng nhập tên bài học.")), Length(max=300)])
    slug = StringField(_l("Đường dẫn (slug)"), filters=[strip_filter],
                       validators=[Optional(), Length(max=SLUG_MAX), SLUG_FORMAT])
    estimated_minutes = MinutesField(
        _l("Thời lượng ước tính (phút)"), default=10,
        validators=[InputRequired(_l("Vui lòng nhập thời lượng ước tính.")),
                    NumberRange(min=1, max=240, message=_l("Thời lượng ước tính phải từ 1 đến 240 phút."))])
    body_md = TextAreaField(_l("Nội dung bài học (Markdown)"), validators=[Optional(), Length(max=200_000)],
                            render_kw={"rows": 20})
    status = ChoiceField(_l("Trạng thái"), choices=list(LESSON_STATUS_LABELS.items()), default="draft")
    # Where the trainer's cursor was in the text (set by lesson_editor.js): an upload goes there.
    insert_at = HiddenField()
    submit = SubmitField(_l("Lưu"))
    preview = SubmitField(_l("Xem trước"))


class MediaForm(FlaskForm):
    """The upload part of the lesson editor: it sits inside the lesson's own form (one CSRF token, and
    the text being written travels with the file), its fields prefixed "media-"."""

    class Meta:
        csrf = False  # the lesson form's token covers the whole <form>; manage_lesson checks it first

    file = FileField(_l("Tệp hình ảnh, video hoặc âm thanh"), render_kw={"accept": ACCEPT})
    alt_text = StringField(_l("Văn bản thay thế cho ảnh (bắt buộc với ảnh)"), filters=[strip_filter],
                           validators=[Optional(), Length(max=ALT_MAX)])
    caption = StringField(_l("Chú thích hoặc mô tả (không bắt buộc)"), filters=[strip_filter],
                          validators=[Optional(), Length(max=CAPTION_MAX)])
    captions = FileField(_l("Phụ đề cho video (tệp WebVTT .vtt, không bắt buộc)"),
                         render_kw={"accept": ACCEPT_CAPTIONS})
    upload = SubmitField(_l("Tải lên và chèn vào bài"))

