"""Roster import, by the CLI and the admin page: upsert by email, all or nothing.

Hostile files (bombs, truncated or sheetless workbooks, formulas, NUL bytes ...) are built here,
in the test, with zipfile and openpyxl: no binary fixture is committed.
"""
import csv
import functools
import io
import os
import re
import stat
import time
import zipfile
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from training.extensions import db
from training.models import AuditEntry, User

HEADER = "full_name,email,unit_code,position_code,roles\n"
GOOD = (HEADER
        + "Nguyễn Thị Hồng Nhung,nhung@example.vn,HCM-COL,CV-VP,learner\n"
        + "Lê Văn Đức,duc@example.vn,HCM-COL-VP,,learner;hr\n"
        + "Phạm Minh Châu,chau@example.vn,hcm-bt,CV-VP,\n")
VI_HEADER = "Họ và tên;Email;Mã đơn vị;Mã vị trí việc làm;Vai trò\n"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def users_by_email(app):
    # Its own app context: what a request committed, not what this test's session remembers.
    with app.app_context():
        return {u.email: {"name": u.full_name, "unit": u.unit.code if u.unit else None,
                          "position": u.position.code if u.position else None, "roles": u.roles}
                for u in db.session.scalars(sa.select(User))}


@pytest.fixture(autouse=True)
def upload_folder(app, tmp_path):
    folder = tmp_path / "roster_uploads"
    app.config["ROSTER_UPLOAD_FOLDER"] = str(folder)
    return folder


@pytest.fixture
def roster_file(tmp_path):
    def write(content, name: str = "roster.csv", encoding: str = "utf-8") -> str:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return str(path)

    return write


@pytest.fixture
def admin(make_user, org, auth):
    user = make_user("admin@example.vn", "Quản Trị Viên", roles=("admin",), unit=org["city"])
    auth.login("admin@example.vn")
    return user


def check(client, content, name: str = "roster.csv"):
    """Step 1 on the page: upload a file and press "Kiểm tra tệp"."""
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    return client.post("/admin/roster", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def token_of(page: str) -> str | None:
    match = re.search(r'name="token" type="hidden" value="([^"]+)"', page)
    return match.group(1) if match else None


def import_now(client, token: str):
    """Step 2: press "Nhập ngay" (the form carries the token only, not the file)."""
    return client.post("/admin/roster", data={"token": token, "apply": "Nhập ngay"})


def xlsx_bytes(rows, title: str | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    if title:
        sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rezip(data: bytes, change) -> bytes:
    """The same workbook with its parts passed through change(name, bytes) -> bytes | None (None drops it)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = change(info.filename, source.read(info.filename))
            if content is not None:
                target.writestr(info.filename, content)
    return out.getvalue()


# --------------------------------------------------------------------------- CLI
def test_cli_imports_good_file(runner, app, org, roster_file):
    result = runner.invoke(args=["roster", "import", roster_file(GOOD)])
    assert result.exit_code == 0, result.output
    assert "tạo 3" in result.output
    users = users_by_email(app)
    assert users["nhung@example.vn"]["name"] == "Nguyễn Thị Hồng Nhung"
    assert users["nhung@example.vn"]["unit"] == "HCM-COL"
    assert users["duc@example.vn"]["roles"] == {"learner", "hr"}
    assert users["duc@example.vn"]["position"] is None
    assert users["chau@example.vn"]["roles"] == {"learner"}
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == "chau@example.vn")).must_change_password
        assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "roster.import")) is not None


def test_cli_upserts_by_email(runner, app, org, roster_file, make_user):
    make_user("nhung@example.vn", "Nguyen Nhung", unit=org["ward_b"], roles=("learner", "trainer"))
    result = runner.invoke(args=["roster", "import", roster_file(GOOD)])
    assert result.exit_code == 0, result.output
    assert "tạo 2, cập nhật 1" in result.output
    user = users_by_email(app)["nhung@example.vn"]
    assert user["name"] == "Nguyễn Thị Hồng Nhung"
    assert user["unit"] == "HCM-COL"
    assert user["roles"] == {"learner"}
    again = runner.invoke(args=["roster", "import", roster_file(GOOD)])
    assert "tạo 0, cập nhật 0, không đổi 3" in again.output


@pytest.mark.parametrize("row, reason", [
    ("Trần Văn Nam,nam@example.vn,HCM-KHONGCO,CV-VP,learner", 'không có đơn vị mã "HCM-KHONGCO"'),
    ("Trần Văn Nam,nhung@example.vn,HCM-COL,CV-VP,learner", "trùng với dòng 2"),
    ("Trần Văn Nam,nam@@example,HCM-COL,CV-VP,learner", "email không hợp lệ"),
    ("Trần Văn Nam,nam@example.vn,HCM-COL,CV-VP,learner;boss", 'vai trò không hợp lệ: "boss"'),
    ("Trần Văn Nam,nam@example.vn,HCM-COL,KHONGCO,learner", 'không có vị trí việc làm mã "KHONGCO"'),
    (",nam@example.vn,HCM-COL,CV-VP,learner", "thiếu họ và tên"),
])
def test_each_bad_row_is_reported_and_nothing_lands(runner, app, org, roster_file, row, reason):
    text = GOOD + row + "\n"
    result = runner.invoke(args=["roster", "import", roster_file(text)])
    assert result.exit_code == 1
    assert "Dòng 5: " in result.output
    assert reason in result.output
    assert "không có thay đổi nào được ghi" in result.output
    assert users_by_email(app) == {}


def test_several_bad_rows_each_with_line_number(runner, org, roster_file):
    text = (HEADER + "A,a@example.vn,HCM-COL,,learner\n"
            + "B,b-at-example,HCM-COL,,learner\n"
            + "C,c@example.vn,NOPE,,learner\n")
    result = runner.invoke(args=["roster", "import", roster_file(text)])
    assert "Dòng 3: email không hợp lệ" in result.output
    assert 'Dòng 4: không có đơn vị mã "NOPE"' in result.output
    assert "Dòng 2" not in result.output


def test_dry_run_reports_and_changes_nothing(runner, app, org, roster_file):
    result = runner.invoke(args=["roster", "import", roster_file(GOOD), "--dry-run"])
    assert result.exit_code == 0
    assert "sẽ tạo 3" in result.output
    assert users_by_email(app) == {}


def test_non_utf8_file_is_refused_clearly(runner, app, org, roster_file):
    result = runner.invoke(args=["roster", "import", roster_file(GOOD, encoding="utf-16")])
    assert result.exit_code == 1
    assert "UTF-8" in result.output
    assert users_by_email(app) == {}


@pytest.mark.parametrize("encoding", ["cp1258", "cp1252"])
def test_windows_encoded_csv_names_the_line_and_the_fix(runner, app, org, roster_file, encoding):
    # Windows-1258 writes tones as combining marks; cp1252 has no Vietnamese letters beyond Latin-1.
    name = "Lê Văn Đư\u0301c" if encoding == "cp1258" else "Lê Vàn Duc"
    text = HEADER + "Tran Van Nam,nam@example.vn,HCM-COL,,learner\n" + f"{name},duc@example.vn,HCM-COL,,learner\n"
    result = runner.invoke(args=["roster", "import", roster_file(text, encoding=encoding)])
    assert result.exit_code == 1
    assert "không được mã hóa UTF-8 (ký tự lạ ở dòng 3" in result.output
    assert "CSV UTF-8" in result.output
    assert "Traceback" not in result.output
    assert users_by_email(app) == {}


def test_vietnamese_headers_and_role_names(runner, app, org, roster_file):
    text = ("Họ và tên,Email,Mã đơn vị,Mã vị trí,Vai trò\n"
            "Đỗ Thị Yến,yen@example.vn,HCM-COL,CV-VP,Học viên;Nhân sự\n")
    result = runner.invoke(args=["roster", "import", roster_file(text)])
    assert result.exit_code == 0, result.output
    assert users_by_email(app)["yen@example.vn"]["roles"] == {"learner", "hr"}


def test_missing_header_column(runner, org, roster_file):
    result = runner.invoke(args=["roster", "import", roster_file("name,unit_code\nA,HCM-COL\n")])
    assert result.exit_code == 1
    assert "thiếu cột: email" in result.output
    assert "Họ và tên, Email, Mã đơn vị" in result.output


def test_title_rows_and_other_columns_are_reported_not_silent(runner, app, org, roster_file):
    text = ("DANH SÁCH CÁN BỘ PHƯỜNG CẦU ÔNG LÃNH;;;;;\n"
            ";;;;;\n"
            "STT;Họ và tên;Email;Mã đơn vị;Ghi chú;Vai trò\n"
            "1;Đỗ Thị Yến;yen@example.vn;HCM-COL;mới chuyển về;learner\n")
    result = runner.invoke(args=["roster", "import", roster_file(text)])
    assert result.exit_code == 0, result.output
    assert "Đã bỏ qua 1 dòng phía trên dòng tiêu đề (dòng 3)" in result.output
    assert "Các cột không dùng (bỏ qua): STT, Ghi chú" in result.output
    assert users_by_email(app)["yen@example.vn"]["unit"] == "HCM-COL"


def test_absent_position_column_keeps_positions_empty_cell_clears(runner, app, org, roster_file, make_user):
    make_user("yen@example.vn", "Đỗ Thị Yến", unit=org["ward_a"], position=org["position"])
    result = runner.invoke(args=["roster", "import", roster_file(
        "Họ và tên,Email,Mã đơn vị\nĐỗ Thị Yến,yen@example.vn,HCM-BT\n")])
    assert result.exit_code == 0, result.output
    assert users_by_email(app)["yen@example.vn"] == {"name": "Đỗ Thị Yến", "unit": "HCM-BT", "position": "CV-VP",
                                                     "roles": {"learner"}}
    runner.invoke(args=["roster", "import", roster_file(
        "Họ và tên,Email,Mã đơn vị,Mã vị trí việc làm\nĐỗ Thị Yến,yen@example.vn,HCM-BT,\n")])
    assert users_by_email(app)["yen@example.vn"]["position"] is None


def test_xlsx_import(runner, app, org, tmp_path):
    path = tmp_path / "danh-sach.xlsx"
    path.write_bytes(xlsx_bytes([
        ["full_name", "email", "unit_code", "position_code", "roles"],
        ["Hoàng Thị Ánh Tuyết", "tuyet@example.vn", "HCM-COL", "CV-VP", "learner"],
        [None, None, None, None, None],
        ["Vũ Quốc Hưng", "hung@example.vn", "HCM-BT", None, "trainer"],
    ]))
    result = runner.invoke(args=["roster", "import", str(path)])
    assert result.exit_code == 0, result.output
    users = users_by_email(app)
    assert users["tuyet@example.vn"]["name"] == "Hoàng Thị Ánh Tuyết"
    assert users["hung@example.vn"]["roles"] == {"trainer"}


def test_xlsx_bad_row_reports_sheet_row(runner, org, tmp_path):
    path = tmp_path / "danh-sach.xlsx"
    path.write_bytes(xlsx_bytes([
        ["full_name", "email", "unit_code", "position_code", "roles"],
        ["Hoàng Thị Ánh Tuyết", "tuyet@example.vn", "HCM-COL", "CV-VP", "learner"],
        ["Vũ Quốc Hưng", "hung@example.vn", "HCM-XX", None, "trainer"],
    ]))
    result = runner.invoke(args=["roster", "import", str(path)])
    assert result.exit_code == 1
    assert 'Dòng 3: không có đơn vị mã "HCM-XX"' in result.output


def test_broken_xlsx_is_refused(runner, org, roster_file):
    result = runner.invoke(args=["roster", "import", roster_file("not a zip", name="x.xlsx")])
    assert result.exit_code == 1
    assert "Không đọc được tệp XLSX" in result.output


def test_passwords_out_lists_new_accounts_readable_by_owner_only(runner, app, org, roster_file, tmp_path):
    out = tmp_path / "pw.csv"
    out.write_text("old content", encoding="utf-8")
    os.chmod(out, 0o644)  # a file left world-readable before must not stay so
    result = runner.invoke(args=["roster", "import", roster_file(GOOD), "--passwords-out", str(out)])
    assert result.exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "email,temporary_password"
    assert len(lines) == 4
    email, password = lines[1].split(",")
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == email)).check_password(password)


def test_new_passwords_file_is_created_private(runner, org, roster_file, tmp_path):
    out = tmp_path / "new-pw.csv"
    result = runner.invoke(args=["roster", "import", roster_file(GOOD), "--passwords-out", str(out)])
    assert result.exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_unwritable_passwords_file_changes_nothing(runner, app, org, roster_file, tmp_path):
    result = runner.invoke(args=["roster", "import", roster_file(GOOD), "--passwords-out",
                                 str(tmp_path / "missing-dir" / "pw.csv")])
    assert result.exit_code == 1
    assert "không có thay đổi nào được ghi" in result.output
    assert users_by_email(app) == {}


# --------------------------------------------------------------------------- ";" files keep every role
@pytest.mark.parametrize("roles_cell", ["learner;hr", '"learner;hr"', "learner,hr", "learner|hr", "Học viên; Nhân sự"])
def test_semicolon_csv_keeps_every_role(runner, app, org, roster_file, roles_cell):
    text = "\ufeff" + VI_HEADER + f"Lê Văn Đức;duc@example.vn;HCM-COL-VP;;{roles_cell}\n"
    result = runner.invoke(args=["roster", "import", roster_file(text)])
    assert result.exit_code == 0, result.output
    assert users_by_email(app)["duc@example.vn"]["roles"] == {"learner", "hr"}


def test_semicolon_csv_with_an_unknown_role_is_a_line_error(runner, app, org, roster_file):
    text = VI_HEADER + "Lê Văn Đức;duc@example.vn;HCM-COL-VP;;learner;boss\n"
    result = runner.invoke(args=["roster", "import", roster_file(text)])
    assert result.exit_code == 1
    assert 'Dòng 2: vai trò không hợp lệ: "boss"' in result.output
    assert users_by_email(app) == {}


def test_semicolon_csv_with_roles_not_last_refuses_the_split_row(runner, app, org, roster_file):
    text = ("Vai trò;Họ và tên;Email;Mã đơn vị\n"
            "learner;Đỗ Thị Yến;yen@example.vn;HCM-COL\n"
            "learner;hr;Lê Văn Đức;duc@example.vn;HCM-COL\n")
    result = runner.invoke(args=["roster", "import", roster_file(text)])
    assert result.exit_code == 1
    assert "Dòng 3: " in result.output
    assert "có dữ liệu ở cột E nhưng cột này không có tiêu đề" in result.output
    assert users_by_email(app) == {}


def test_semicolon_file_through_the_page_keeps_hr(client, app, admin):
    page = check(client, VI_HEADER + "Lê Văn Đức;duc@example.vn;HCM-COL-VP;;learner;hr\n").get_data(as_text=True)
    assert "vai trò learner, hr" in page or "vai trò hr, learner" in page
    assert import_now(client, token_of(page)).status_code == 200
    assert users_by_email(app)["duc@example.vn"]["roles"] == {"learner", "hr"}


# --------------------------------------------------------------------------- the admin page: check, then import now
def test_page_flow_is_check_then_import_now(client, app, admin):
    form = client.get("/admin/roster").get_data(as_text=True)
    assert "Kiểm tra tệp" in form
    assert "Chỉ kiểm tra, chưa ghi" not in form  # no checkbox to forget
    response = check(client, GOOD)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Tạo mới: 3" in page and "chỉ kiểm tra, chưa ghi" in page
    assert "Nguyễn Thị Hồng Nhung" in page  # what will change is shown before it is written
    assert "Nhập ngay" in page
    assert set(users_by_email(app)) == {"admin@example.vn"}
    token = token_of(page)
    response = import_now(client, token)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Đã nhập danh sách: 3 tạo mới" in page
    # Issue 18: new accounts get one-time activation links, shown once, instead of temporary passwords.
    assert "Đường dẫn kích hoạt của tài khoản mới" in page and "/activate/" in page
    assert "nhung@example.vn" in users_by_email(app)
    # The officials are now listed for their ward (department included in the subtree).
    listing = client.get("/admin/users?unit=HCM-COL").get_data(as_text=True)
    assert "Nguyễn Thị Hồng Nhung" in listing and "Lê Văn Đức" in listing
    assert "Phạm Minh Châu" not in listing


def test_import_now_works_once(client, app, admin, upload_folder):
    token = token_of(check(client, GOOD).get_data(as_text=True))
    assert import_now(client, token).status_code == 200
    assert list(upload_folder.iterdir()) == []  # deleted after use
    again = import_now(client, token)
    assert again.status_code == 400
    assert "Không tìm thấy tệp đã kiểm tra" in again.get_data(as_text=True)
    with app.app_context():
        imports = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "roster.import")).all()
    assert len(imports) == 1


def test_checked_file_is_private_to_its_admin(client, app, admin, make_user, upload_folder):
    token = token_of(check(client, GOOD).get_data(as_text=True))
    stored = [path for path in upload_folder.iterdir()]
    assert stored and all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in stored)
    make_user("admin2@example.vn", roles=("admin",))
    client.post("/auth/logout")
    client.post("/auth/login", data={"email": "admin2@example.vn", "password": "Mat-khau-2025"})
    response = import_now(client, token)
    assert response.status_code == 400
    assert "không phải của bạn" in response.get_data(as_text=True)
    assert "nhung@example.vn" not in users_by_email(app)


def test_checked_file_expires_after_an_hour(client, app, admin, upload_folder):
    token = token_of(check(client, GOOD).get_data(as_text=True))
    two_hours_ago = time.time() - 7200
    for path in upload_folder.iterdir():
        os.utime(path, (two_hours_ago, two_hours_ago))
    response = import_now(client, token)
    assert response.status_code == 400
    assert "quá 1 giờ" in response.get_data(as_text=True)
    assert "nhung@example.vn" not in users_by_email(app)
    assert list(upload_folder.iterdir()) == []


@pytest.mark.parametrize("token", ["", "../../etc/passwd", "x" * 32])
def test_forged_tokens_import_nothing(client, app, admin, token):
    response = import_now(client, token)
    assert response.status_code == 400
    assert set(users_by_email(app)) == {"admin@example.vn"}


def test_file_with_errors_offers_no_import(client, app, admin, upload_folder):
    response = check(client, GOOD + "X,x@example.vn,NOPE,,learner\n")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Không có thay đổi nào được ghi" in page
    assert "không có đơn vị mã &#34;NOPE&#34;" in page or 'không có đơn vị mã "NOPE"' in page
    assert 'value="Nhập ngay"' not in page and token_of(page) is None
    assert not upload_folder.exists() or list(upload_folder.iterdir()) == []
    assert set(users_by_email(app)) == {"admin@example.vn"}


def test_nothing_to_change_offers_no_import(client, admin, make_user, org):
    make_user("yen@example.vn", "Đỗ Thị Yến", unit=org["ward_a"])
    page = check(client, "Họ và tên,Email,Mã đơn vị\nĐỗ Thị Yến,yen@example.vn,HCM-COL\n").get_data(as_text=True)
    assert "Không thay đổi: 1" in page
    assert "Tệp không có gì cần thay đổi." in page
    assert token_of(page) is None


def test_admin_cannot_remove_own_admin_role(client, app, admin):
    response = check(client, "Họ và tên,Email,Mã đơn vị,Vai trò\nQuản Trị Viên,admin@example.vn,HCM,learner\n")
    assert response.status_code == 400
    assert "bỏ quyền quản trị của chính bạn" in response.get_data(as_text=True)
    assert users_by_email(app)["admin@example.vn"]["roles"] == {"admin"}


def test_admin_page_rejects_other_file_types(client, admin):
    response = check(client, "hello", name="roster.pdf")
    assert response.status_code == 400
    assert "Chỉ nhận tệp .csv hoặc .xlsx." in response.get_data(as_text=True)


def test_page_explains_vietnamese_and_english_column_names(client, admin):
    page = client.get("/admin/roster").get_data(as_text=True)
    for vietnamese, english in zip(("Họ và tên", "Email", "Mã đơn vị", "Mã vị trí việc làm", "Vai trò"),
                                   ("full_name", "email", "unit_code", "position_code", "roles")):
        assert f"<td>{vietnamese}</td><td><code>{english}</code></td>" in page
    assert "learner,hr" in page


# --------------------------------------------------------------------------- templates
def test_page_links_to_the_templates(client, admin):
    page = client.get("/admin/roster").get_data(as_text=True)
    for url in ("/admin/roster/template.xlsx", "/admin/roster/template.csv", "/admin/roster/codes.csv"):
        assert f'href="{url}"' in page
        assert client.get(url).status_code == 200


def test_xlsx_template_has_vietnamese_headers_and_codes_in_vietnamese_order(client, admin, make_unit, org):
    make_unit("HCM-BTH", "Phường Bình Thạnh", "ward", org["city"])
    make_unit("HCM-AP", "Phường Ân Phú", "ward", org["city"])  # Â sorts before B in Vietnamese, after it in Unicode
    response = client.get("/admin/roster/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype == XLSX_TYPE
    assert "mau-danh-sach-can-bo.xlsx" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames[0] == "Danh sách"
    assert [c.value for c in workbook["Danh sách"][1]] == ["Họ và tên", "Email", "Mã đơn vị", "Mã vị trí việc làm",
                                                           "Vai trò"]
    units = [row[1] for row in workbook["Mã đơn vị"].iter_rows(min_row=2, values_only=True)]
    assert units == ["Phường Ân Phú", "Phường Bến Thành", "Phường Bình Thạnh", "Phường Cầu Ông Lãnh",
                     "Thành phố Hồ Chí Minh", "Văn phòng HĐND và UBND"]
    department = [row for row in workbook["Mã đơn vị"].iter_rows(min_row=2, values_only=True)
                  if row[0] == "HCM-COL-VP"][0]
    assert department[3] == "Phường Cầu Ông Lãnh"  # a department says which ward it belongs to
    positions = list(workbook["Mã vị trí việc làm"].iter_rows(min_row=2, values_only=True))
    assert positions == [("CV-VP", "Chuyên viên Văn phòng")]


def test_filled_xlsx_template_imports(client, app, admin):
    workbook = load_workbook(io.BytesIO(client.get("/admin/roster/template.xlsx").data))
    sheet = workbook["Danh sách"]
    sheet.append(["Trần Thị Mai", "mai@example.vn", "HCM-COL", "CV-VP", "learner,hr"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    page = check(client, buffer.getvalue(), name="mau-danh-sach-can-bo.xlsx").get_data(as_text=True)
    assert "Tạo mới: 1" in page
    assert import_now(client, token_of(page)).status_code == 200
    assert users_by_email(app)["mai@example.vn"] == {"name": "Trần Thị Mai", "unit": "HCM-COL", "position": "CV-VP",
                                                     "roles": {"learner", "hr"}}


def test_csv_template_is_semicolon_utf8_with_bom_and_imports(client, runner, app, admin, roster_file):
    response = client.get("/admin/roster/template.csv")
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    text = response.data.decode("utf-8-sig")
    assert text == "Họ và tên;Email;Mã đơn vị;Mã vị trí việc làm;Vai trò\r\n"
    filled = "\ufeff" + text + "Trần Thị Mai;mai@example.vn;HCM-COL;CV-VP;learner,hr\r\n"
    result = runner.invoke(args=["roster", "import", roster_file(filled)])
    assert result.exit_code == 0, result.output
    assert users_by_email(app)["mai@example.vn"]["roles"] == {"learner", "hr"}


def test_codes_csv_lists_units_positions_and_roles(client, admin):
    response = client.get("/admin/roster/codes.csv")
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Danh mục", "Mã", "Tên", "Loại", "Thuộc đơn vị"]
    assert ["Đơn vị", "HCM-COL", "Phường Cầu Ông Lãnh", "Phường", "Thành phố Hồ Chí Minh"] in rows
    assert ["Vị trí việc làm", "CV-VP", "Chuyên viên Văn phòng", "", ""] in rows
    assert [row[1] for row in rows if row[0] == "Vai trò"] == ["learner", "trainer", "hr", "admin"]


def test_templates_are_for_admins_only(client, make_user, auth, org):
    make_user("hv@example.vn", roles=("learner",), unit=org["ward_a"])
    auth.login("hv@example.vn")
    assert client.get("/admin/roster/template.xlsx").status_code == 403
    assert client.get("/admin/roster/codes.csv").status_code == 403


# --------------------------------------------------------------------------- malformed and hostile XLSX
def good_xlsx() -> bytes:
    return xlsx_bytes([["Họ và tên", "Email", "Mã đơn vị", "Mã vị trí việc làm", "Vai trò"],
                       ["Trần Thị Mai", "mai@example.vn", "HCM-COL", "CV-VP", "learner"]])


def zip_not_xlsx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "xin chào")
    return out.getvalue()


def truncated_xlsx() -> bytes:
    data = good_xlsx()
    return data[:len(data) // 2]


def xlsx_without_sheets() -> bytes:
    return rezip(good_xlsx(), lambda name, content: re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", content)
                 if name == "xl/workbook.xml" else content)


@functools.lru_cache(maxsize=1)
def xlsx_bomb() -> bytes:
    """A sheet of 200 MB of spaces that deflates to a few hundred KB: over the 50 MB limit."""
    out = io.BytesIO()
    base = zipfile.ZipFile(io.BytesIO(good_xlsx()))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in base.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(info.filename, base.read(info.filename))
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b" " * (1024 * 1024)
            for _ in range(200):
                sheet.write(chunk)
    return out.getvalue()


def xlsx_dense_part() -> bytes:
    """Under the size limit, but one part inflates about 1,000 times: refused on the ratio."""
    return rezip(good_xlsx(), lambda name, content: content + b" " * (8 * 1024 * 1024)
                 if name == "xl/styles.xml" else content)


def xlsx_lying_sizes() -> bytes:
    """The central directory declares a 1,000-byte sheet; its data inflates far beyond that."""
    data = bytearray(rezip(good_xlsx(), lambda name, content: content + b" " * (5 * 1024 * 1024)
                           if name == "xl/worksheets/sheet1.xml" else content))
    position = data.find(b"PK\x01\x02")  # central directory headers: name length at +28, name at +46
    while data[position + 46:position + 46 + int.from_bytes(data[position + 28:position + 30], "little")] \
            != b"xl/worksheets/sheet1.xml":
        position = data.find(b"PK\x01\x02", position + 4)
    data[position + 24:position + 28] = (1000).to_bytes(4, "little")
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml").file_size == 1000
    return bytes(data)


def replace_text(data: bytes, old: str, new: bytes) -> bytes:
    """A workbook whose ASCII text `old` is replaced, byte for byte, wherever the XML keeps it."""
    return rezip(data, lambda name, content: content.replace(old.encode(), new)
                 if name in ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml") else content)


def xlsx_with_raw_nul() -> bytes:
    data = xlsx_bytes([["Họ và tên", "Email", "Mã đơn vị"], ["Tran NULHERE Mai", "mai@example.vn", "HCM-COL"]])
    return replace_text(data, "NULHERE", b"\x00")  # not even well-formed XML


@pytest.mark.parametrize("make, message", [
    (zip_not_xlsx, "không phải tệp Excel .xlsx hợp lệ"),
    (truncated_xlsx, "Không đọc được tệp XLSX"),
    (xlsx_without_sheets, "Tệp XLSX không có trang tính nào"),
    (xlsx_bomb, "vượt giới hạn 50 MB"),
    (xlsx_dense_part, "giải nén gấp"),
    (xlsx_lying_sizes, "Không đọc được tệp XLSX"),
    (xlsx_with_raw_nul, "Không đọc được tệp XLSX"),
    (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "Excel 97-2003"),
    (lambda: b"", "Tệp trống"),
], ids=["zip-not-xlsx", "truncated", "no-sheet", "bomb", "ratio", "lying-sizes", "raw-nul", "xls-or-password",
        "empty"])
def test_hostile_xlsx_is_refused_on_page_and_cli(client, runner, app, admin, roster_file, make, message):
    data = make()
    response = check(client, data, name="danh-sach.xlsx")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    result = runner.invoke(args=["roster", "import", roster_file(data, name="danh-sach.xlsx")])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert set(users_by_email(app)) == {"admin@example.vn"}


def test_bomb_is_refused_before_openpyxl_reads_it(client, admin, monkeypatch):
    import openpyxl

    def must_not_run(*args, **kwargs):
        raise AssertionError("openpyxl opened a decompression bomb")

    monkeypatch.setattr(openpyxl, "load_workbook", must_not_run)
    response = check(client, xlsx_bomb(), name="bom.xlsx")
    assert response.status_code == 400
    assert "vượt giới hạn 50 MB" in response.get_data(as_text=True)


def test_too_many_rows_is_refused(client, app, admin):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Họ và tên", "Email", "Mã đơn vị"])
    sheet.cell(row=250_000, column=1, value="Trần Thị Mai")
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = check(client, buffer.getvalue(), name="dai.xlsx")
    assert response.status_code == 400
    assert "Trang tính có hơn 200.000 dòng" in response.get_data(as_text=True)


@pytest.mark.parametrize("cells, message", [
    (["=LOWER(\"A\")", "mai@example.vn", "HCM-COL"], "cột “Họ và tên” chứa công thức"),
    (["Trần Thị Mai", "=B1", "HCM-COL"], "cột “Email” chứa công thức"),
    ([date(2025, 7, 1), "mai@example.vn", "HCM-COL"], "cột “Họ và tên” là ngày giờ (2025-07-01"),
    ([12345, "mai@example.vn", "HCM-COL"], "cột “Họ và tên” là số (12345), cần là chữ"),
    (["Trần Thị Mai", "mai@example.vn", 1.5], "cột “Mã đơn vị” là số (1.5)"),
    (["Trần Thị Mai", True, "HCM-COL"], "cột “Email” là giá trị đúng/sai"),
    (["Trần Thị " + "M" * 300, "mai@example.vn", "HCM-COL"], "họ và tên dài 309 ký tự, tối đa 200"),
    (["Trần_x0000_Mai", "mai@example.vn", "HCM-COL"], "cột “Họ và tên” có ký tự điều khiển không hợp lệ (U+0000)"),
    (["Trần Thị Mai", "mai@example.vn", "HCM-COL_x001B_"], "cột “Mã đơn vị” có ký tự điều khiển không hợp lệ (U+001B)"),
])
def test_odd_cells_are_line_errors(client, runner, app, admin, roster_file, cells, message):
    data = xlsx_bytes([["Họ và tên", "Email", "Mã đơn vị"], ["Lê Văn Đức", "duc@example.vn", "HCM-COL"], cells])
    response = check(client, data, name="danh-sach.xlsx")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "<td>3</td>" in page and message in page.replace("&#34;", '"')
    result = runner.invoke(args=["roster", "import", roster_file(data, name="danh-sach.xlsx")])
    assert result.exit_code == 1
    assert f"Dòng 3: {message}" in result.output
    assert set(users_by_email(app)) == {"admin@example.vn"}


def test_extremely_long_cell_is_a_line_error(client, app, admin):
    # openpyxl cuts a cell at Excel's 32,767 characters when writing; a hostile file need not.
    data = replace_text(xlsx_bytes([["Họ và tên", "Email", "Mã đơn vị"], ["LONGCELL", "mai@example.vn", "HCM-COL"]]),
                        "LONGCELL", b"M" * 500_000)
    response = check(client, data, name="danh-sach.xlsx")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "cột “Họ và tên” dài 500000 ký tự, quá giới hạn 1000" in page
    assert "M" * 100 not in page  # the page does not echo it
    assert set(users_by_email(app)) == {"admin@example.vn"}


def test_whole_numbers_are_codes_and_formulas_in_unused_columns_are_ignored(runner, app, make_unit, roster_file):
    make_unit("101", "Phường 1")
    data = xlsx_bytes([["STT", "Họ và tên", "Email", "Mã đơn vị"],
                       ["=ROW()-1", "Trần Thị Mai", "mai@example.vn", 101]])
    result = runner.invoke(args=["roster", "import", roster_file(data, name="danh-sach.xlsx")])
    assert result.exit_code == 0, result.output
    assert users_by_email(app)["mai@example.vn"]["unit"] == "101"


def test_csv_with_unclosed_quote_is_refused_not_swallowed(runner, app, org, roster_file):
    text = HEADER + '"Trần Thị Mai,mai@example.vn,HCM-COL,,learner\n' + "Lê Văn Đức,duc@example.vn,HCM-COL,,learner\n"
    result = runner.invoke(args=["roster", "import", roster_file(text)])
    assert result.exit_code == 1
    assert "Tệp CSV bị lỗi ở dòng 2" in result.output
    assert users_by_email(app) == {}


def test_csv_with_nul_byte_is_a_line_error(runner, app, org, roster_file):
    text = HEADER + "Trần\x00Mai,mai@example.vn,HCM-COL,,learner\n"
    result = runner.invoke(args=["roster", "import", roster_file(text)])
    assert result.exit_code == 1
    assert "Dòng 2: cột “full_name” có ký tự điều khiển không hợp lệ (U+0000)" in result.output
    assert users_by_email(app) == {}


def test_oversized_file_is_refused(client, runner, app, admin, roster_file):
    data = (GOOD + "#" * (21 * 1024 * 1024)).encode()
    result = runner.invoke(args=["roster", "import", roster_file(data)])
    assert result.exit_code == 1
    assert "Tệp quá lớn: tối đa 20 MB" in result.output
    assert set(users_by_email(app)) == {"admin@example.vn"}


def test_damaged_workbooks_never_give_a_500(client, app, admin):
    """Seeded random damage to a real workbook, as the fuzzing that found 548 error pages did."""
    import random

    base = xlsx_bytes([["Họ và tên", "Email", "Mã đơn vị", "Mã vị trí việc làm", "Vai trò"]]
                      + [[f"Nguyễn Văn {i}", f"a{i}@example.vn", "HCM-COL", "CV-VP", "learner"] for i in range(5)])
    inserts = [b"<", b"&", b'<row r="99999999">', b'<c r="XFD1" t="s"><v>99999</v></c>', b"\x00",
               b'<!DOCTYPE x [<!ENTITY a "aaaa">]>']
    statuses = set()
    for seed in range(120):
        rng = random.Random(seed)
        if seed % 2:
            damaged = bytearray(base)
            for _ in range(rng.randint(1, 20)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            data = bytes(damaged)
        else:
            def damage(name, content):
                if rng.random() < 0.05:
                    return None
                if rng.random() < 0.4:
                    position = rng.randrange(len(content) or 1)
                    return content[:position] + rng.choice(inserts) + content[position + rng.randint(0, 30):]
                return content
            data = rezip(base, damage)
        response = check(client, data, name="hong.xlsx")
        assert response.status_code in (200, 400), seed
        statuses.add(response.status_code)
    assert 400 in statuses
    assert set(users_by_email(app)) == {"admin@example.vn"}  # a check never writes
