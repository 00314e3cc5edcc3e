"""Role-based access: one decorator on every view.

`@access("admin")` lets admins in; `@access()` any signed-in user; `@access(public=True)` anyone.
The decision is recorded on the view (`view.access`) so a test can walk every route and check it.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_login import current_user

PUBLIC = "public"
SIGNED_IN = "signed_in"


def access(*roles: str, public: bool = False):
    """Allow a view to anyone (public), to any signed-in user (no roles) or to holders of `roles`."""

    def decorator(view):
        if public:
            view.access = PUBLIC
            return view

        @wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user
            if not user.is_authenticated:
                if request.blueprint == "api" or request.path.startswith("/api/"):
                    abort(401)
                from training.extensions import login_manager

                return login_manager.unauthorized()
            if roles and not user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.access = tuple(roles) if roles else SIGNED_IN
        return wrapped

    return decorator


def rate_key() -> str:
    """Rate-limit key: the account when signed in (a ward shares one IP), else the address."""
    user = current_user
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.id}"
    return f"ip:{request.remote_addr}"
