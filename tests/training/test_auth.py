"""Login, logout, throttling, open redirects, first-login password change."""
from training.extensions import db
from training.models import User

from tests.conftest import TEST_PASSWORD


def test_login_and_logout(client, auth, make_user, org):
    make_user("lan@example.vn", "Trần Thị Lan", unit=org["ward_a"])
    response = auth.login("lan@example.vn")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Xin chào, Trần Thị Lan" in page
    assert "Phường Cầu Ông Lãnh" in page
    auth.logout()
    assert "Xin chào" not in client.get("/").get_data(as_text=True)


def test_login_is_case_insensitive_on_email(client, auth, make_user):
    make_user("lan@example.vn")
    assert auth.login("LAN@Example.VN").status_code == 302


def test_wrong_password_gives_clear_message(client, auth, make_user):
    make_user("lan@example.vn")
    response = auth.login("lan@example.vn", "sai-mat-khau")
    assert response.status_code == 401
    assert "Email hoặc mật khẩu không đúng." in response.get_data(as_text=True)


def test_inactive_account_cannot_log_in(client, auth, make_user):
    user = make_user("lan@example.vn")
    user.active = False
    db.session.commit()
    assert auth.login("lan@example.vn").status_code == 401


def test_password_is_hashed_with_a_kdf(make_user):
    user = make_user("lan@example.vn")
    assert TEST_PASSWORD not in user.password_hash
    assert user.password_hash.split(":")[0] in ("scrypt", "pbkdf2")


def test_throttle_after_repeated_failures_per_address_and_account(client, auth, make_user):
    make_user("lan@example.vn")
    make_user("binh@example.vn")
    for _ in range(5):
        assert auth.login("lan@example.vn", "sai-mat-khau").status_code == 401
    # From this address, even the right password now waits, with a clear message and Retry-After.
    response = auth.login("lan@example.vn")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "Vui lòng thử lại sau" in response.get_data(as_text=True)
    # Another official in the same office (same address) is not held up.
    assert auth.login("binh@example.vn").status_code == 302
    auth.logout()
    # The owner, from another address, still gets in: a guesser cannot lock the account for everyone.
    other = client.post("/auth/login", data={"email": "lan@example.vn", "password": TEST_PASSWORD},
                        environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 302


def test_success_resets_the_account_count(client, auth, make_user):
    make_user("lan@example.vn")
    for _ in range(4):
        auth.login("lan@example.vn", "sai")
    assert auth.login("lan@example.vn").status_code == 302
    auth.logout()
    for _ in range(4):
        assert auth.login("lan@example.vn", "sai").status_code == 401


def test_failures_for_other_accounts_never_refuse_a_right_password(client, auth, make_user):
    """A ward behind one NAT address: many mistyped e-mails do not lock everyone out."""
    make_user("lan@example.vn")
    for n in range(120):
        auth.login(f"khong-co-{n}@example.vn", "sai")
    assert auth.login("lan@example.vn").status_code == 302


def test_next_redirects_only_to_local_paths(client, auth, make_user):
    make_user("admin@example.vn", roles=("admin",))
    assert auth.login("admin@example.vn", next_url="/admin/users").headers["Location"] == "/admin/users"
    auth.logout()
    for evil in ("https://evil.example/phish", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        response = auth.login("admin@example.vn", next_url=evil)
        assert response.headers["Location"] == "/", evil
        auth.logout()


def test_login_page_carries_next_from_protected_page(client):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert "/auth/login?next=" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="/admin/users"' in page


def test_first_login_forces_password_change(client, auth, make_user):
    make_user("moi@example.vn", must_change_password=True)
    response = auth.login("moi@example.vn")
    assert response.headers["Location"] == "/auth/password"
    # Every other page sends them back until they change it.
    assert client.get("/").headers["Location"] == "/auth/password"
    response = client.post("/auth/password", data={"current": TEST_PASSWORD, "new": "Mat-khau-moi-2026",
                                                   "confirm": "Mat-khau-moi-2026"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    user = db.session.scalar(db.select(User).where(User.email == "moi@example.vn"))
    assert not user.must_change_password
    auth.logout()
    assert auth.login("moi@example.vn", "Mat-khau-moi-2026").status_code == 302


def test_password_change_rejects_bad_input(client, auth, make_user):
    make_user("lan@example.vn")
    auth.login("lan@example.vn")
    page = client.post("/auth/password", data={"current": "sai", "new": "Mat-khau-moi-2026",
                                               "confirm": "Mat-khau-moi-2026"}).get_data(as_text=True)
    assert "Mật khẩu hiện tại không đúng." in page
    page = client.post("/auth/password", data={"current": TEST_PASSWORD, "new": "1234567890",
                                               "confirm": "1234567890"}).get_data(as_text=True)
    assert "quá phổ biến hoặc dễ đoán" in page
    page = client.post("/auth/password", data={"current": TEST_PASSWORD, "new": "Mat-khau-moi-2026",
                                               "confirm": "khac-han-2026"}).get_data(as_text=True)
    assert "không khớp" in page
    auth.logout()
    assert auth.login("lan@example.vn").status_code == 302  # the old password still works


def test_logout_requires_post(client, auth, make_user):
    make_user("lan@example.vn")
    auth.login("lan@example.vn")
    assert client.get("/auth/logout").status_code == 405
