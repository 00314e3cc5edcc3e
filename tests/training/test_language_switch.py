"""The language switch: a POST from the header saves the choice on the account, a GET (old links)
changes only this session, and `next` never leads off the site or to a 500."""
import re

import pytest
import sqlalchemy as sa

from training.extensions import db
from training.models import User


def _stored_locale(app, email: str):
    # A context of its own: a fresh session that reads what was committed, not what a request left behind.
    with app.app_context():
        return db.session.scalar(sa.select(User.locale).where(User.email == email))


def _header_form(page: str, code: str) -> dict:
    """The hidden fields of the header's form that switches to `code`."""
    form = re.search(rf'<form method="post" action="/lang/{code}"[^>]*>(.*?)</form>', page, re.S)
    assert form, f"no POST form for /lang/{code} in the header"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(1)))


def test_header_switch_posts_and_saves_the_language_on_the_account(app, client, auth, make_user):
    make_user("lan@example.vn")
    auth.login("lan@example.vn")
    app.config["WTF_CSRF_ENABLED"] = True  # the real form, token and all
    page = client.get("/courses/?page=1").get_data(as_text=True)
    assert 'href="/lang/' not in page  # no GET link that could change the account
    fields = _header_form(page, "en")
    assert fields["next"] == "/courses/?page=1" and fields["csrf_token"]

    response = client.post("/lang/en", data=fields)
    assert response.status_code == 302 and response.headers["Location"] == "/courses/?page=1"
    assert _stored_locale(app, "lan@example.vn") == "en"
    assert '<html lang="en">' in client.get("/courses/").get_data(as_text=True)


def test_switch_without_the_csrf_token_changes_nothing(app, client, auth, make_user):
    make_user("lan@example.vn")
    auth.login("lan@example.vn")
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/lang/en", data={"next": "/"}).status_code == 400
    assert _stored_locale(app, "lan@example.vn") is None
    assert '<html lang="vi">' in client.get("/").get_data(as_text=True)


def test_get_changes_the_session_but_never_the_account(app, client, auth, make_user):
    make_user("lan@example.vn")
    auth.login("lan@example.vn")
    response = client.get("/lang/en?next=/courses/")
    assert response.headers["Location"] == "/courses/"
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)
    assert _stored_locale(app, "lan@example.vn") is None
    # The next login, in another browser, is still in Vietnamese.
    other = app.test_client()
    other.post("/auth/login", data={"email": "lan@example.vn", "password": "Mat-khau-2025"})
    assert '<html lang="vi">' in other.get("/").get_data(as_text=True)


def test_saved_language_follows_the_official_to_the_next_login(app, client, auth, make_user):
    make_user("lan@example.vn")
    auth.login("lan@example.vn")
    client.post("/lang/en", data={"next": "/"})
    other = app.test_client()
    other.post("/auth/login", data={"email": "lan@example.vn", "password": "Mat-khau-2025"})
    assert '<html lang="en">' in other.get("/").get_data(as_text=True)


def test_anonymous_switch_uses_the_session_only(client):
    response = client.post("/lang/en", data={"next": "/auth/login"})
    assert response.headers["Location"] == "/auth/login"
    assert "Sign in" in client.get("/auth/login").get_data(as_text=True)


def test_unknown_language_is_refused_with_a_message(app, client, auth, make_user):
    make_user("lan@example.vn")
    auth.login("lan@example.vn")
    response = client.post("/lang/fr", data={"next": "/courses/"}, follow_redirects=True)
    assert response.status_code == 200
    assert "Ngôn ngữ này chưa được hỗ trợ." in response.get_data(as_text=True)
    assert _stored_locale(app, "lan@example.vn") is None


@pytest.mark.parametrize("target", [
    "/courses/\r\nSet-Cookie: x=1", "/\r\n", "/\n/evil.example", "/\t/evil.example", "/\x00", "//[evil",
    "https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)",
])
def test_next_that_is_not_a_plain_local_path_falls_back_home(client, target):
    for response in (client.get("/lang/en", query_string={"next": target}),
                     client.post("/lang/en", data={"next": target})):
        assert response.status_code == 302
        assert response.headers["Location"] == "/"


def test_login_next_with_crlf_is_not_a_500(client, make_user):
    make_user("lan@example.vn")
    response = client.post("/auth/login", data={"email": "lan@example.vn", "password": "Mat-khau-2025",
                                                "next": "/courses/\r\nLocation: https://evil.example/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_local_next_with_vietnamese_query_is_followed(client):
    response = client.post("/lang/en", data={"next": "/hr/officials?q=Nguyễn&page=2"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/hr/officials?q=")
