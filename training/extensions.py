"""Extensions, created unbound and bound to the app in create_app."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Beyond this page nobody reads a list; a larger number would overflow the database's OFFSET.
MAX_PAGE = 100_000


class Database(SQLAlchemy):
    """Flask-SQLAlchemy whose `paginate` never lets a typed page number reach the database unchecked
    (?page=99999999999999999999 is an empty last page, not a 500)."""

    def paginate(self, select, *, page=None, per_page=None, max_per_page=None, error_out=True, count=True):
        if page is None:
            from flask import has_request_context, request

            page = request.args.get("page", 1, type=int) if has_request_context() else 1
        page = min(max(int(page or 1), 1), MAX_PAGE)
        return super().paginate(select, page=page, per_page=per_page, max_per_page=max_per_page,
                                error_out=error_out, count=count)


db = Database(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Signed-in actions are limited per account (see training.access.rate_key); anonymous ones per IP.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
