"""Health check, API tokens, language switch, Vietnamese order and search."""
import sqlalchemy as sa

from training import create_app
from training.extensions import db
from training.models import CompetencyRecord
from training.vntext import collation_key, fold, name_sort_key


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_database_down(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "no" / "db.sqlite")})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "down"


def test_api_token_by_password_and_use(client, make_user, org):
    make_user("lan@example.vn", "Trần Thị Lan", unit=org["ward_a"], position=org["position"])
    response = client.post("/api/v1/token", json={"email": "lan@example.vn", "password": "Mat-khau-2025"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["token"] and body["expires_at"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"}).get_json()
    assert me["full_name"] == "Trần Thị Lan" and me["unit"] == "HCM-COL"
    assert {c["code"] for c in me["competencies"]} == {"digital_signature", "e_documents", "info_security",
                                                        "online_services", "ai"}
    assert all(c["state"] == "missing" for c in me["competencies"])


def test_api_errors_are_json(client, make_user):
    make_user("lan@example.vn")
    bad = client.post("/api/v1/token", json={"email": "lan@example.vn", "password": "sai"})
    assert bad.status_code == 401
    assert set(bad.get_json()["error"]) == {"code", "message"}
    assert client.post("/api/v1/token", data="not json").status_code == 422
    assert client.get("/api/v1/me").get_json()["error"]["code"] == "unauthorized"
    invalid = client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert invalid.status_code == 401 and invalid.get_json()["error"]["code"] == "invalid_token"
    assert client.get("/api/v1/nothing-here").get_json()["error"]["code"] == "not_found"


def test_token_endpoint_is_throttled_like_login(client, make_user):
    make_user("lan@example.vn")
    for _ in range(5):
        client.post("/api/v1/token", json={"email": "lan@example.vn", "password": "sai"})
    response = client.post("/api/v1/token", json={"email": "lan@example.vn", "password": "Mat-khau-2025"})
    assert response.status_code == 429


def test_api_token_cli(runner, client, make_user):
    make_user("hr@example.vn", roles=("hr",))
    result = runner.invoke(args=["api-token", "create", "--user", "hr@example.vn"])
    assert result.exit_code == 0
    token = result.stdout.strip().splitlines()[0]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()["roles"] == ["hr"]
    missing = runner.invoke(args=["api-token", "create", "--user", "nobody@example.vn"])
    assert missing.exit_code == 1 and "không có tài khoản" in missing.output


def test_language_switch_is_honoured_everywhere(client, make_user):
    assert "Đăng nhập" in client.get("/auth/login").get_data(as_text=True)
    client.get("/lang/en?next=/auth/login")
    page = client.get("/auth/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign in" in page and "Đăng nhập" not in page
    assert "Page or data not found" in client.get("/no-such-page").get_data(as_text=True)
    client.get("/lang/vi")
    assert "Không tìm thấy trang" in client.get("/no-such-page").get_data(as_text=True)


def test_language_switch_refuses_external_next(client):
    assert client.get("/lang/en?next=https://evil.example/").headers["Location"] == "/"


def test_vietnamese_collation_and_accent_free_search():
    names = ["Đỗ Văn Đức", "Nguyễn Thị Ánh", "Trần Văn An", "Lê Thị Ăn", "Phạm Dũng", "Hồ Ơn", "Lý Ô", "Vũ Ư", "Tô U"]
    assert sorted(names, key=name_sort_key) == [
        "Trần Văn An", "Nguyễn Thị Ánh", "Lê Thị Ăn", "Phạm Dũng", "Đỗ Văn Đức", "Lý Ô", "Hồ Ơn", "Tô U", "Vũ Ư"]
    assert sorted(["Bến Thành", "Bàn Cờ", "Ấp Đông", "An Khánh"], key=collation_key) == [
        "An Khánh", "Ấp Đông", "Bàn Cờ", "Bến Thành"]
    assert fold("Nguyễn Đức Ánh") == "nguyen duc anh"


def test_admin_user_list_search_and_order(client, auth, make_user, org):
    make_user("admin@example.vn", "Quản Trị Viên", roles=("admin",))
    for name in ("Đỗ Văn Đức", "Trần Văn An", "Lê Thị Ăn"):
        make_user(None, name, unit=org["ward_a"])
    auth.login("admin@example.vn")
    page = client.get("/admin/users?unit=HCM-COL").get_data(as_text=True)
    assert page.index("Trần Văn An") < page.index("Lê Thị Ăn") < page.index("Đỗ Văn Đức")
    found = client.get("/admin/users?q=duc").get_data(as_text=True)
    assert "Đỗ Văn Đức" in found and "Trần Văn An" not in found
    assert "Đỗ Văn Đức" in client.get("/admin/users?q=Đức").get_data(as_text=True)


def test_admin_creates_account_which_must_change_password(client, auth, make_user, org, app):
    make_user("admin@example.vn", roles=("admin",))
    auth.login("admin@example.vn")
    response = client.post("/admin/users/new", data={
        "email": "Moi@Example.vn", "full_name": "  Bùi  Thị Mới ", "unit_id": org["ward_a"].id,
        "position_id": org["position"].id, "roles": ["learner", "hr"], "active": "y"})
    assert response.status_code == 302
    flashes = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Mật khẩu tạm thời" in flashes
    password = flashes.split("Mật khẩu tạm thời: ")[1].split(" ")[0]
    auth.logout()
    assert auth.login("moi@example.vn", password).headers["Location"] == "/auth/password"


def test_admin_user_form_rejects_duplicate_email(client, auth, make_user, org):
    make_user("admin@example.vn", roles=("admin",))
    make_user("lan@example.vn")
    auth.login("admin@example.vn")
    response = client.post("/admin/users/new", data={"email": "lan@example.vn", "full_name": "Lan Khác",
                                                      "unit_id": 0, "position_id": 0, "roles": ["learner"]})
    assert response.status_code == 400
    assert "đã được dùng" in response.get_data(as_text=True)


def test_admin_cannot_remove_own_admin_role(client, auth, make_user):
    admin = make_user("admin@example.vn", roles=("admin",))
    auth.login("admin@example.vn")
    response = client.post(f"/admin/users/{admin.id}", data={"email": "admin@example.vn", "full_name": "A",
                                                              "unit_id": 0, "position_id": 0, "roles": ["learner"]})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 200


def test_admin_unit_tree_and_move_refusal(client, auth, make_user, org):
    make_user("admin@example.vn", roles=("admin",))
    auth.login("admin@example.vn")
    response = client.post("/admin/units/new", data={"code": "hcm-col-kt", "name": "Phòng Kinh tế",
                                                      "unit_type": "department", "parent_id": org["ward_a"].id})
    assert response.status_code == 302
    page = client.get("/admin/units").get_data(as_text=True)
    assert "HCM-COL-KT" in page
    # A ward cannot be moved under its own department.
    response = client.post(f"/admin/units/{org['ward_a'].id}", data={
        "code": "HCM-COL", "name": "Phường Cầu Ông Lãnh", "unit_type": "ward", "parent_id": org["dept_a"].id})
    assert response.status_code == 200  # the form comes back; the department is not a valid parent
    assert 'class="error"' in response.get_data(as_text=True)
    db.session.refresh(org["ward_a"])
    assert org["ward_a"].parent_id == org["city"].id


def test_position_requires_core_competencies_by_default(client, auth, make_user, org):
    make_user("admin@example.vn", roles=("admin",))
    auth.login("admin@example.vn")
    form = client.get("/admin/positions/new").get_data(as_text=True)
    assert form.count("checked") == 5
    assert len(org["position"].required_competencies) == 5


def test_competency_record_validity(app, make_user, org):
    from datetime import datetime, timedelta, timezone

    from training.services.standing import competency_standing

    user = make_user(position=org["position"])
    now = datetime.now(timezone.utc)
    signature = org["position"].required_competencies[0]
    db.session.add(CompetencyRecord(user=user, competency=signature, achieved_at=now - timedelta(days=700),
                                    expires_at=now + timedelta(days=10), score=90))
    db.session.commit()
    states = {s.competency.code: s.state for s in competency_standing(user)}
    assert states["digital_signature"] == "expiring"
    assert states["info_security"] == "missing"
    stored = db.session.scalar(sa.select(CompetencyRecord))
    assert stored.expires_at.tzinfo is not None
