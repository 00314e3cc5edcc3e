"""Roster import, by the CLI and the admin page: upsert by email, all or nothing."""
import io

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from training.extensions import db
from training.models import AuditEntry, User

HEADER = "full_name,email,unit_code,position_code,roles\n"
GOOD = (HEADER
        + "Nguyễn Thị Hồng Nhung,nhung@example.vn,HCM-COL,CV-VP,learner\n"
        + "Lê Văn Đức,duc@example.vn,HCM-COL-VP,,learner;hr\n"
        + "Phạm Minh Châu,chau@example.vn,hcm-bt,CV-VP,\n")


def users_by_email():
    return {u.email: u for u in db.session.scalars(sa.select(User))}


@pytest.fixture
def roster_file(tmp_path):
    def write(text: str, name: str = "roster.csv", encoding: str = "utf-8") -> str:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return str(path)

    return write


def test_cli_imports_good_file(runner, org, roster_file):
    result = runner.invoke(args=["roster", "import", roster_file(GOOD)])
    assert result.exit_code == 0, result.output
    assert "tạo 3" in result.output
    users = users_by_email()
    assert users["nhung@example.vn"].full_name == "Nguyễn Thị Hồng Nhung"
    assert users["nhung@example.vn"].unit.code == "HCM-COL"
    assert users["duc@example.vn"].roles == {"learner", "hr"}
    assert users["duc@example.vn"].position is None
    assert users["chau@example.vn"].roles == {"learner"}
    assert users["chau@example.vn"].must_change_password
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "roster.import")) is not None


def test_cli_upserts_by_email(runner, org, roster_file, make_user):
    make_user("nhung@example.vn", "Nguyen Nhung", unit=org["ward_b"], roles=("learner", "trainer"))
    result = runner.invoke(args=["roster", "import", roster_file(GOOD)])
    assert result.exit_code == 0, result.output
    assert "tạo 2, cập nhật 1" in result.output
    user = users_by_email()["nhung@example.vn"]
    assert user.full_name == "Nguyễn Thị Hồng Nhung"
    assert user.unit.code == "HCM-COL"
    assert user.roles == {"learner"}
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
def test_each_bad_row_is_reported_and_nothing_lands(runner, org, roster_file, row, reason):
    text = GOOD + row + "\n"
    result = runner.invoke(args=["roster", "import", roster_file(text)])
    assert result.exit_code == 1
    assert "Dòng 5: " in result.output
    assert reason in result.output
    assert "không có thay đổi nào được ghi" in result.output
    assert users_by_email() == {}


def test_several_bad_rows_each_with_line_number(runner, org, roster_file):
    text = (HEADER + "A,a@example.vn,HCM-COL,,learner\n"
            + "B,b-at-example,HCM-COL,,learner\n"
            + "C,c@example.vn,NOPE,,learner\n")
    result = runner.invoke(args=["roster", "import", roster_file(text)])
    assert "Dòng 3: email không hợp lệ" in result.output
    assert 'Dòng 4: không có đơn vị mã "NOPE"' in result.output
    assert "Dòng 2" not in result.output


def test_dry_run_reports_and_changes_nothing(runner, org, roster_file):
    result = runner.invoke(args=["roster", "import", roster_file(GOOD), "--dry-run"])
    assert result.exit_code == 0
    assert "sẽ tạo 3" in result.output
    assert users_by_email() == {}


def test_csv_with_bom_and_semicolons(runner, org, roster_file):
    text = "\ufeff" + GOOD.replace(",", ";").replace("learner;hr", "learner,hr")
    result = runner.invoke(args=["roster", "import", roster_file(text)])
    assert result.exit_code == 0, result.output
    assert users_by_email()["duc@example.vn"].roles == {"learner", "hr"}


def test_non_utf8_file_is_refused_clearly(runner, org, roster_file):
    result = runner.invoke(args=["roster", "import", roster_file(GOOD, encoding="utf-16")])
    assert result.exit_code == 1
    assert "UTF-8" in result.output
    assert users_by_email() == {}


def test_vietnamese_headers_and_role_names(runner, org, roster_file):
    text = ("Họ và tên,Email,Mã đơn vị,Mã vị trí,Vai trò\n"
            "Đỗ Thị Yến,yen@example.vn,HCM-COL,CV-VP,Học viên;Nhân sự\n")
    result = runner.invoke(args=["roster", "import", roster_file(text)])
    assert result.exit_code == 0, result.output
    assert users_by_email()["yen@example.vn"].roles == {"learner", "hr"}


def test_missing_header_column(runner, org, roster_file):
    result = runner.invoke(args=["roster", "import", roster_file("name,unit_code\nA,HCM-COL\n")])
    assert result.exit_code == 1
    assert "thiếu cột: email" in result.output


def _xlsx_bytes(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_import(runner, org, tmp_path):
    path = tmp_path / "danh-sach.xlsx"
    path.write_bytes(_xlsx_bytes([
        ["full_name", "email", "unit_code", "position_code", "roles"],
        ["Hoàng Thị Ánh Tuyết", "tuyet@example.vn", "HCM-COL", "CV-VP", "learner"],
        [None, None, None, None, None],
        ["Vũ Quốc Hưng", "hung@example.vn", "HCM-BT", None, "trainer"],
    ]))
    result = runner.invoke(args=["roster", "import", str(path)])
    assert result.exit_code == 0, result.output
    users = users_by_email()
    assert users["tuyet@example.vn"].full_name == "Hoàng Thị Ánh Tuyết"
    assert users["hung@example.vn"].roles == {"trainer"}


def test_xlsx_bad_row_reports_sheet_row(runner, org, tmp_path):
    path = tmp_path / "danh-sach.xlsx"
    path.write_bytes(_xlsx_bytes([
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


def test_passwords_out_lists_new_accounts(runner, org, roster_file, tmp_path, app):
    out = tmp_path / "pw.csv"
    result = runner.invoke(args=["roster", "import", roster_file(GOOD), "--passwords-out", str(out)])
    assert result.exit_code == 0
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "email,temporary_password"
    email, password = lines[1].split(",")
    assert users_by_email()[email].check_password(password)


# --------------------------------------------------------------------------- the admin page
def _upload(client, text: str, dry_run: bool, name: str = "roster.csv"):
    data = {"file": (io.BytesIO(text.encode("utf-8")), name)}
    if dry_run:
        data["dry_run"] = "y"
    return client.post("/admin/roster", data=data, content_type="multipart/form-data")


def test_admin_page_dry_run_then_import(client, auth, org, make_user):
    make_user("admin@example.vn", roles=("admin",))
    auth.login("admin@example.vn")
    page = _upload(client, GOOD, dry_run=True).get_data(as_text=True)
    assert "Tạo mới: 3" in page
    assert "nhung@example.vn" not in users_by_email()
    response = _upload(client, GOOD, dry_run=False)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Mật khẩu tạm thời của tài khoản mới" in page
    assert "nhung@example.vn" in users_by_email()
    # The officials are now listed for their ward (department included in the subtree).
    listing = client.get("/admin/users?unit=HCM-COL").get_data(as_text=True)
    assert "Nguyễn Thị Hồng Nhung" in listing and "Lê Văn Đức" in listing
    assert "Phạm Minh Châu" not in listing


def test_admin_page_reports_bad_rows(client, auth, org, make_user):
    make_user("admin@example.vn", roles=("admin",))
    auth.login("admin@example.vn")
    response = _upload(client, GOOD + "X,x@example.vn,NOPE,,learner\n", dry_run=False)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Không có thay đổi nào được ghi" in page
    assert "không có đơn vị mã &#34;NOPE&#34;" in page or 'không có đơn vị mã "NOPE"' in page
    assert len(users_by_email()) == 1  # only the admin


def test_admin_page_rejects_other_file_types(client, auth, org, make_user):
    make_user("admin@example.vn", roles=("admin",))
    auth.login("admin@example.vn")
    response = _upload(client, "hello", dry_run=False, name="roster.pdf")
    assert response.status_code == 400
    assert "Chỉ nhận tệp .csv hoặc .xlsx." in response.get_data(as_text=True)
