"""The base form: Flask-WTF with WTForms' own messages in Vietnamese.

WTForms ships no Vietnamese catalogue, so its built-in messages ("Not a valid choice.") are
translated here for the default language; English keeps WTForms' originals.
"""
from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import ValidationError

WTFORMS_VI = {
    "This field is required.": "Trường này là bắt buộc.",
    "Not a valid choice.": "Lựa chọn không hợp lệ.",
    "Invalid Choice: could not coerce.": "Lựa chọn không hợp lệ.",
    "Choices cannot be None.": "Không có lựa chọn nào.",
    "'%(value)s' is not a valid choice for this field.": "“%(value)s” không phải là lựa chọn hợp lệ.",
    "'%(value)s' are not valid choices for this field.": "“%(value)s” không phải là các lựa chọn hợp lệ.",
    "Invalid choice(s): one or more data inputs could not be coerced.": "Có lựa chọn không hợp lệ.",
    "Not a valid date value.": "Ngày không hợp lệ.",
    "Not a valid datetime value.": "Thời điểm không hợp lệ.",
    "Not a valid time value.": "Giờ không hợp lệ.",
    "Not a valid integer value.": "Phải là số nguyên.",
    "Not a valid decimal value.": "Phải là số.",
    "Not a valid float value.": "Phải là số.",
    "Invalid email address.": "Địa chỉ email không hợp lệ.",
    "Invalid input.": "Dữ liệu không hợp lệ.",
    "Invalid value, must be one of: %(values)s.": "Giá trị phải là một trong: %(values)s.",
    "Field must be equal to %(other_name)s.": "Phải giống trường %(other_name)s.",
    "Number must be at least %(min)s.": "Số phải từ %(min)s trở lên.",
    "Number must be at most %(max)s.": "Số phải không quá %(max)s.",
    "Number must be between %(min)s and %(max)s.": "Số phải từ %(min)s đến %(max)s.",
    "Field must be between %(min)d and %(max)d characters long.": "Độ dài phải từ %(min)d đến %(max)d ký tự.",
    "Field must be at least %(min)d character long.": "Phải có ít nhất %(min)d ký tự.",
    "Field must be at least %(min)d characters long.": "Phải có ít nhất %(min)d ký tự.",
    "Field cannot be longer than %(max)d character.": "Không được dài quá %(max)d ký tự.",
    "Field cannot be longer than %(max)d characters.": "Không được dài quá %(max)d ký tự.",
    "The CSRF token is missing.": "Thiếu mã bảo vệ biểu mẫu; hãy tải lại trang.",
    "The CSRF token has expired.": "Biểu mẫu đã hết hạn; hãy tải lại trang.",
    "The CSRF token is invalid.": "Mã bảo vệ biểu mẫu không hợp lệ; hãy tải lại trang.",
    "The CSRF tokens do not match.": "Mã bảo vệ biểu mẫu không khớp; hãy tải lại trang.",
    "CSRF failed.": "Kiểm tra bảo vệ biểu mẫu thất bại; hãy tải lại trang.",
}


class _VietnameseWTForms:
    def gettext(self, string: str) -> str:
        return WTFORMS_VI.get(string, string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


class BaseForm(FlaskForm):
    """Every form of the app derives from this one."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            if str(get_locale()) == "vi":
                return _VietnameseWTForms()
            return super().get_translations(form)


def strip_filter(value):
    """A WTForms filter: surrounding spaces typed by mistake are not part of the value."""
    return value.strip() if isinstance(value, str) else value


class ChoiceMessages:
    """Mixin for choice fields: the error for a missing value or one outside the list (a tampered
    form) is in the user's language."""

    message = _l("Vui lòng chọn một giá trị trong danh sách.")

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(self.message) from exc

    def pre_validate(self, form):
        try:
            super().pre_validate(form)
        except ValidationError as exc:
            raise ValidationError(self.message) from exc


class ChoiceField(ChoiceMessages, SelectField):
    """A select with its messages in the user's language."""
