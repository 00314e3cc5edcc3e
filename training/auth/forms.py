from flask_babel import lazy_gettext as _l
from training.forms import BaseForm as FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Vui lòng nhập email."))],
                       render_kw={"autocomplete": "username", "inputmode": "email"})
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(_l("Vui lòng nhập mật khẩu."))],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()
    submit = SubmitField(_l("Đăng nhập"))


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Mật khẩu hiện tại"), validators=[DataRequired(_l("Vui lòng nhập mật khẩu hiện tại."))],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("Mật khẩu mới"),
                        validators=[DataRequired(_l("Vui lòng nhập mật khẩu mới.")),
                                    Length(min=10, message=_l("Mật khẩu phải có ít nhất 10 ký tự."))],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Nhập lại mật khẩu mới"),
                            validators=[DataRequired(_l("Vui lòng nhập lại mật khẩu mới.")),
                                        EqualTo("new", _l("Hai lần nhập mật khẩu mới không khớp."))],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Đổi mật khẩu"))
