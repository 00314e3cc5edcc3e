"""The life of an identity (issue 14): one identity per request, logins that end, throttling a ward can
live with, passwords, audit, safe defaults and no 500 for what a user can send."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from training.extensions import db
from training.models import ApiToken, AuditEntry, LoginFailure, Position, User

from tests.conftest import TEST_PASSWORD


def token_for(client, email: str, password: str = TEST_PASSWORD) -> str:
    response = client.post("/api/v1/token", json={"email": email, "password": password})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def staff(make_user, org):
    return {
        "city": make_user("hr.city@example.vn", "Lê Thị Thành", roles=("hr",), unit=org["city"]),
        "ward_b": make_user("hr.b@example.vn", "Phạm Văn Bến", roles=("hr",), unit=org["ward_b"]),
        "trainer": make_user("gv@example.vn", "Đỗ Văn Giảng", roles=("trainer",)),
        "learner": make_user("lan@example.vn", "Trần Thị Lan", unit=org["dept_a"], position=org["position"]),
        "admin": make_user("admin@example.vn", "Quản Trị", roles=("admin",)),
    }


# --------------------------------------------------------------------------- one identity per request
def test_a_token_is_the_whole_identity_whatever_cookie_comes_with_it(app, client, auth, staff):
    """A trainer's cookie plus a ward HR token reads only that ward; an admin's cookie plus a learner
    token reaches nothing an admin could."""
    ward_token = token_for(client, "hr.b@example.vn")
    learner_token = token_for(client, "lan@example.vn")
    auth.login("gv@example.vn")
    listing = client.get("/hr/officials", headers=bearer(ward_token)).get_data(as_text=True)
    assert "Trần Thị Lan" not in listing  # Lan is in ward A; the token's HR sees ward B only
    assert client.get("/hr/officials").status_code == 403  # the cookie alone is a trainer
    auth.logout()
    auth.login("admin@example.vn")
    for url in ("/admin/users", "/hr/", "/certificates/manage", "/quizzes/manage/", "/api/v1/officials",
                "/api/v1/units/HCM/summary"):
        assert client.get(url, headers=bearer(learner_token)).status_code == 403, url
    assert client.get("/admin/users").status_code == 200


def test_a_bad_token_is_nobody_even_with_a_good_cookie(client, auth, staff):
    auth.login("admin@example.vn")
    for headers in (bearer("not-a-token"), {"Authorization": "Bearer "}):
        api = client.get("/api/v1/me", headers=headers)
        assert api.status_code == 401 and api.get_json()["error"]["code"] == "invalid_token"
        page = client.get("/admin/users", headers=headers)
        assert page.status_code == 302 and "/auth/login" in page.headers["Location"]


def test_the_audit_names_the_token_user_not_the_cookie(app, client, auth, staff, org):
    from certificates.issuing import issue_certificate
    from tests.certificates.test_issuing import qualify

    app.config.update(PUBLIC_BASE_URL="https://ccs.example.vn")
    qualify(staff["learner"])
    certificate = issue_certificate(staff["learner"])
    db.session.commit()
    hr_a = token_for(client, "hr.city@example.vn")
    auth.login("lan@example.vn")
    client.post(f"/certificates/manage/{certificate.serial}", data={"reason": "Cấp nhầm"}, headers=bearer(hr_a))
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "certificate.revoke"))
    assert entry.actor_id == staff["city"].id


# --------------------------------------------------------------------------- logins that end
def test_logout_ends_the_session_on_the_server(app, client, auth, staff):
    auth.login("lan@example.vn")
    saved = client.get_cookie("session").value
    auth.logout()
    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert "/auth/login" in replay.get("/quizzes/").headers["Location"]


def test_a_password_change_ends_other_sessions_and_revokes_every_token(app, client, auth, staff):
    token = token_for(client, "lan@example.vn")
    other = app.test_client()
    other.post("/auth/login", data={"email": "lan@example.vn", "password": TEST_PASSWORD})
    assert other.get("/quizzes/").status_code == 200
    auth.login("lan@example.vn")
    changed = client.post("/auth/password", data={"current": TEST_PASSWORD, "new": "Bến Nghé sáng thứ Hai",
                                                  "confirm": "Bến Nghé sáng thứ Hai"})
    assert changed.status_code == 302
    assert client.get("/quizzes/").status_code == 200  # this session stays
    assert "/auth/login" in other.get("/quizzes/").headers["Location"]
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "auth.sessions_ended"))
    assert entry.details["tokens"] == 1 and entry.details["sessions"] == 1


def test_an_admin_reset_ends_everything(app, client, auth, staff):
    token = token_for(client, "lan@example.vn")
    learner = app.test_client()
    learner.post("/auth/login", data={"email": "lan@example.vn", "password": TEST_PASSWORD})
    auth.login("admin@example.vn")
    client.post(f"/admin/users/{staff['learner'].id}/reset-password")
    assert "/auth/login" in learner.get("/quizzes/").headers["Location"]
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_users_see_and_revoke_their_tokens_and_admins_anyones(app, client, auth, staff):
    first = token_for(client, "lan@example.vn")
    second = token_for(client, "lan@example.vn")
    assert client.get("/api/v1/me", headers=bearer(first)).status_code == 200
    rows = db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)).all()
    assert rows[0].last_used_at is not None  # its last use is recorded
    lifetime = rows[0].expires_at - rows[0].created_at
    assert timedelta(days=6) < lifetime <= timedelta(days=7)  # configurable, short by default
    auth.login("lan@example.vn")
    page = client.get("/auth/security").get_data(as_text=True)
    assert page.count("Thu hồi mã") == 2 and "Phiên này" in page
    client.post(f"/auth/security/tokens/{rows[0].id}/revoke")
    assert client.get("/api/v1/me", headers=bearer(first)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200
    auth.logout()
    auth.login("admin@example.vn")
    assert "Thu hồi mã" in client.get(f"/admin/users/{staff['learner'].id}").get_data(as_text=True)
    client.post(f"/admin/users/{staff['learner'].id}/tokens/{rows[1].id}/revoke")
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 401
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"token.create", "token.revoke"} <= actions


def test_a_temporary_password_opens_nothing_until_changed(client, auth, make_user, org):
    make_user("moi@example.vn", must_change_password=True)
    refused = client.post("/api/v1/token", json={"email": "moi@example.vn", "password": TEST_PASSWORD})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "password_change_required"
    auth.login("moi@example.vn")
    api = client.get("/api/v1/quizzes")
    assert api.status_code == 403 and api.get_json()["error"]["code"] == "password_change_required"
    assert client.get("/quizzes/").headers["Location"] == "/auth/password"


# --------------------------------------------------------------------------- throttling a ward can live with
def test_75_officials_of_one_ward_get_their_tokens_in_a_minute(client, make_user, org):
    for n in range(75):
        make_user(f"o{n}@example.vn", unit=org["ward_a"])
    statuses = [client.post("/api/v1/token", json={"email": f"o{n}@example.vn", "password": TEST_PASSWORD})
                .status_code for n in range(75)]
    assert statuses.count(201) == 75


def test_trusted_proxies_make_the_forwarded_address_count(app, client, make_user):
    make_user("lan@example.vn")

    def fail(address):
        return client.post("/auth/login", data={"email": "lan@example.vn", "password": "sai"},
                           headers={"X-Forwarded-For": address})

    for _ in range(5):
        fail("203.0.113.1")
    # Without TRUSTED_PROXIES the header is ignored: every failure came from the proxy's own address.
    assert {row.address for row in db.session.scalars(sa.select(LoginFailure))} == {"127.0.0.1"}


def test_behind_one_proxy_each_client_is_counted_apart(make_user):
    from training import create_app

    make_user("lan@example.vn")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db.engine.url.render_as_string(hide_password=False),
                      "TRUSTED_PROXIES": 1})
    client = app.test_client()
    for _ in range(5):
        client.post("/auth/login", data={"email": "lan@example.vn", "password": "sai"},
                    headers={"X-Forwarded-For": "203.0.113.1"})
    blocked = client.post("/auth/login", data={"email": "lan@example.vn", "password": TEST_PASSWORD},
                          headers={"X-Forwarded-For": "203.0.113.1"})
    other = client.post("/auth/login", data={"email": "lan@example.vn", "password": TEST_PASSWORD},
                        headers={"X-Forwarded-For": "198.51.100.7"})
    assert blocked.status_code == 429 and other.status_code == 302


def test_two_app_servers_share_the_counts(make_user):
    """Counts live in the database: what one server (or worker) saw, the other sees."""
    from training import create_app

    make_user("lan@example.vn")
    url = db.engine.url.render_as_string(hide_password=False)
    first, second = (create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url}).test_client() for _ in range(2))
    for _ in range(5):
        first.post("/auth/login", data={"email": "lan@example.vn", "password": "sai"})
    assert second.post("/auth/login", data={"email": "lan@example.vn", "password": TEST_PASSWORD}).status_code == 429


def test_unknown_and_known_accounts_cost_the_same_hash(monkeypatch, make_user, app):
    """No timing oracle: an unknown e-mail still checks a password hash of the same kind."""
    from training.services import throttle

    make_user("lan@example.vn")
    calls = []
    real = throttle.check_password_hash
    monkeypatch.setattr(throttle, "check_password_hash", lambda h, p: calls.append(h.split("$")[0]) or real(h, p))
    with app.test_request_context():
        assert throttle.authenticate("khong-co@example.vn", "sai").error == "invalid"
    assert calls and calls[0].split(":")[0] == app.config["PASSWORD_HASH_METHOD"].split(":")[0]


# --------------------------------------------------------------------------- passwords
@pytest.mark.parametrize("weak", ["password12", "aaaaaaaaa1", "congchucso1", "matkhau123", "1234567890",
                                  "tranthilan2026", "lan@example.vn!"])
def test_weak_passwords_are_refused_in_vietnamese(client, auth, make_user, weak):
    make_user("lan@example.vn", "Trần Thị Lan")
    auth.login("lan@example.vn")
    response = client.post("/auth/password", data={"current": TEST_PASSWORD, "new": weak, "confirm": weak})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Mật khẩu" in page and ("phổ biến" in page or "họ tên hoặc email" in page)
    auth.logout()
    assert auth.login("lan@example.vn").status_code == 302  # unchanged


# --------------------------------------------------------------------------- audit
def test_logins_are_audited_with_the_client_address(client, auth, make_user):
    make_user("lan@example.vn")
    auth.login("lan@example.vn", "sai")
    auth.login("lan@example.vn")
    entries = {e.action: e for e in db.session.scalars(sa.select(AuditEntry))}
    assert entries["auth.login_failed"].target == "lan@example.vn"
    assert entries["auth.login"].address == "127.0.0.1"


def test_user_update_records_what_changed(client, auth, staff, org):
    auth.login("admin@example.vn")
    learner = staff["learner"]
    client.post(f"/admin/users/{learner.id}", data={
        "email": learner.email, "full_name": "Trần Thị Lan Anh", "unit_id": org["ward_b"].id, "position_id": 0,
        "roles": ["learner", "trainer"], "active": "y", "roles-shown": "1", "active-shown": "1"})
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.update"))
    changes = entry.details["changes"]
    assert changes["full_name"] == {"old": "Trần Thị Lan", "new": "Trần Thị Lan Anh"}
    assert changes["unit"]["new"] == "HCM-BT" and changes["roles"]["new"] == ["learner", "trainer"]
    assert "email" not in changes


# --------------------------------------------------------------------------- no 500 for what users send
def test_huge_page_numbers_and_ids_are_not_errors(client, auth, staff):
    auth.login("admin@example.vn")
    for url in ("/admin/users", "/admin/units", "/admin/positions", "/admin/audit", "/hr/officials", "/hr/gaps",
                "/courses/manage/", "/courses/assignments", "/quizzes/bank/", "/quizzes/manage/",
                "/certificates/manage", "/courses/notifications"):
        response = client.get(f"{url}?page=99999999999999999999")
        assert response.status_code in (200, 400), (url, response.status_code)
        assert client.get(f"{url}?page=-3").status_code in (200, 302), url
    assert client.get("/admin/users/99999999999999999999").status_code == 404
    token = token_for(client, "hr.city@example.vn")
    assert client.get("/hr/", headers=bearer(token)).status_code == 200  # a token on a web page is no 500


def test_a_form_that_omits_a_field_changes_nothing_it_did_not_name(client, auth, staff, org):
    position = org["position"]
    before = sorted(c.code for c in position.required_competencies)
    assert before
    auth.login("admin@example.vn")
    assert client.post(f"/admin/positions/{position.id}", data={"code": position.code, "name": "Chuyên viên VP"}
                       ).status_code == 302
    position = db.session.get(Position, position.id)
    db.session.refresh(position)
    assert position.name == "Chuyên viên VP" and sorted(c.code for c in position.required_competencies) == before
    # A real form with every box unticked says so with its marker, and empties the list.
    client.post(f"/admin/positions/{position.id}", data={"code": position.code, "name": "Chuyên viên VP",
                                                         "competencies-shown": "1"})
    db.session.refresh(position)
    assert position.required_competencies == []


def test_the_csrf_token_changes_at_login(app, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    make_user("lan@example.vn")
    client = app.test_client()

    def csrf(page):
        return page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]

    before = csrf(client.get("/auth/login").get_data(as_text=True))
    login = client.post("/auth/login", data={"email": "lan@example.vn", "password": TEST_PASSWORD,
                                             "csrf_token": before})
    assert login.status_code == 302, login.get_data(as_text=True)[-500:]
    after = csrf(client.get("/auth/password").get_data(as_text=True))
    assert after != before


# --------------------------------------------------------------------------- safe by default
def test_without_a_configuration_no_published_secret_signs_sessions(monkeypatch):
    from itsdangerous import URLSafeTimedSerializer

    from training import create_app
    from training.config import KNOWN_SECRETS

    monkeypatch.delenv("TRAINING_CONFIG", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app()
    secret = app.config["SECRET_KEY"]
    assert secret not in KNOWN_SECRETS and len(secret) >= 32
    assert create_app().config["SECRET_KEY"] == secret  # every process of this instance agrees
    # A cookie forged with the old published development key is nobody.
    forged = URLSafeTimedSerializer("dev-only-not-secret", salt="cookie-session", signer_kwargs={
        "key_derivation": "hmac", "digest_method": __import__("hashlib").sha1}).dumps({"_user_id": "1"})
    client = app.test_client()
    client.set_cookie("session", forged)
    assert "/auth/login" in client.get("/admin/users").headers.get("Location", "/auth/login")


def test_headers_on_every_page(client, auth, staff):
    page = client.get("/auth/login")
    headers = page.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"] and "unsafe-inline" not in headers[
        "Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin" and headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in headers  # plain http here
    assert "<script>" not in page.get_data(as_text=True)  # no inline script for the CSP to refuse
    with client.get("/static/css/app.css") as static:
        assert static.headers.get("Cache-Control") != "no-store"
    assert client.get("/auth/login", base_url="https://localhost").headers["Strict-Transport-Security"]


# --------------------------------------------------------------------------- the gaps a review found
def test_the_wait_grows_with_each_failure_and_a_guess_from_many_addresses_slows_the_account(app):
    """Per (address, account): free tries, then a wait that doubles. Per account: past the free count
    from any addresses, every further try waits, also from an address that never failed."""
    from training.services import throttle

    now = datetime.now(timezone.utc)
    email = "lan@example.vn"

    def fail(address, count, email=email):
        for _ in range(count):
            db.session.add(LoginFailure(email=email, address=address, failed_at=now))
        db.session.commit()

    fail("10.0.0.1", throttle.PAIR_FREE - 1)
    assert throttle.wait_seconds(email, "10.0.0.1", now) == 0
    waits = []
    for _ in range(3):
        fail("10.0.0.1", 1)
        waits.append(throttle.wait_seconds(email, "10.0.0.1", now))
    assert waits == [throttle.PAIR_BASE_DELAY_S, 2 * throttle.PAIR_BASE_DELAY_S, 4 * throttle.PAIR_BASE_DELAY_S]
    assert throttle.wait_seconds(email, "10.0.0.2", now) == 0  # another address: not this pair's wait

    admin = "admin@example.vn"
    for n in range(throttle.ACCOUNT_FREE - 1):  # a distributed guesser, one try per address
        fail(f"10.1.0.{n}", 1, admin)
    assert throttle.wait_seconds(admin, "10.9.9.9", now) == 0
    fail("10.1.1.1", 1, admin)
    first = throttle.wait_seconds(admin, "10.9.9.9", now)
    fail("10.1.1.2", 1, admin)
    second = throttle.wait_seconds(admin, "10.9.9.9", now)
    assert 0 < first < second <= throttle.ACCOUNT_MAX_DELAY_S
    later = now + timedelta(seconds=throttle.ACCOUNT_MAX_DELAY_S + 1)
    assert throttle.wait_seconds(admin, "10.9.9.9", later) == 0  # slowed, never locked out


def test_password_change_question_export_certificate_issue_and_zip_are_audited(app, client, auth, staff):
    from certificates.issuing import issue_certificate
    from tests.certificates.test_issuing import qualify

    def actions():
        return {entry.action for entry in db.session.scalars(sa.select(AuditEntry))}

    auth.login("gv@example.vn")
    assert client.get("/quizzes/manage/export?format=gift").status_code == 200
    assert "questions.export" in actions()
    new_password = "Đồng hồ bên cửa sổ 2026"
    answer = client.post("/auth/password", data={"current": TEST_PASSWORD, "new": new_password,
                                                 "confirm": new_password})
    assert answer.status_code == 302
    assert "auth.password_change" in actions()
    auth.logout()

    app.config.update(PUBLIC_BASE_URL="https://ccs.example.vn")
    qualify(staff["learner"])
    certificate = issue_certificate(staff["learner"])
    db.session.commit()
    issued = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "certificate.issue"))
    assert issued is not None and issued.target == certificate.serial
    auth.login("hr.city@example.vn")
    with client.get("/certificates/manage/export.zip") as download:
        assert download.status_code == 200 and download.headers["Cache-Control"] == "no-store"
        download.get_data()
    assert "certificate.export_zip" in actions()


def test_personal_data_pages_and_downloads_are_not_cached(client, auth, staff, org):
    auth.login("hr.city@example.vn")
    for url in ("/hr/", "/hr/officials", f"/hr/officials/{staff['learner'].id}",
                "/hr/export/officials.csv", f"/hr/export/units/{org['city'].code}/report.pdf"):
        with client.get(url) as response:
            assert response.status_code == 200, url
            assert response.headers["Cache-Control"] == "no-store", url
            response.get_data()


def test_on_attempt_routes_the_token_is_the_identity_whatever_cookie_comes_with_it(client, auth, make_user, org):
    from tests.quizzes.helpers import make_quiz

    make_user("lan@example.vn", "Trần Thị Lan", unit=org["dept_a"], position=org["position"])
    make_user("binh@example.vn", "Lê Văn Bình", unit=org["dept_a"], position=org["position"])
    quiz = make_quiz()
    lan = token_for(client, "lan@example.vn")
    auth.login("binh@example.vn")  # Bình's cookie rides along with Lan's token
    started = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=bearer(lan))
    assert started.status_code == 201, started.get_json()
    attempt = started.get_json()
    attempt_id = attempt["attempt_id"]
    assert client.get(f"/api/v1/attempts/{attempt_id}", headers=bearer(lan)).status_code == 200
    assert client.get(f"/api/v1/attempts/{attempt_id}").status_code == 404  # Bình's cookie alone
    binh = token_for(client, "binh@example.vn")
    slot = attempt["questions"][0]
    choice = slot["options"][0]["id"]
    refused = client.put(f"/api/v1/attempts/{attempt_id}/answers/{slot['slot']}",
                         json={"response": choice}, headers=bearer(binh))
    assert refused.status_code == 404
    saved = client.put(f"/api/v1/attempts/{attempt_id}/answers/{slot['slot']}",
                       json={"response": choice}, headers=bearer(lan))
    assert saved.status_code == 200, saved.get_json()
    assert client.post(f"/api/v1/attempts/{attempt_id}/submit", headers=bearer(binh)).status_code == 404
    assert client.post(f"/api/v1/attempts/{attempt_id}/submit", headers=bearer(lan)).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(lan)).get_json()["email"] == "lan@example.vn"
