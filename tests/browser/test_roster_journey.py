"""An admin imports a roster on a 360 px phone: template, check, import now, without retyping anything."""
import io

import pytest
from openpyxl import load_workbook

pytestmark = pytest.mark.browser


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_admin_imports_the_filled_template_on_a_phone(app, live_server, phone, make_user, org, tmp_path,
                                                       check_accessibility):
    from playwright.sync_api import expect  # imported here: without Playwright the fixtures skip

    app.config["ROSTER_UPLOAD_FOLDER"] = str(tmp_path / "roster_uploads")
    make_user("admin@example.vn", "Quản Trị", roles=("admin",), unit=org["city"])
    phone.goto(f"{live_server}/auth/login?next=/admin/roster")
    phone.get_by_label("Email").fill("admin@example.vn")
    phone.get_by_label("Mật khẩu").fill("Mat-khau-2025")
    phone.get_by_role("button", name="Đăng nhập").click()
    phone.wait_for_url("**/admin/roster")

    with phone.expect_download() as download:
        phone.get_by_role("link", name="Tải tệp mẫu Excel (XLSX)").click()
    assert download.value.suggested_filename == "mau-danh-sach-can-bo.xlsx"
    workbook = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    workbook["Danh sách"].append(["Trần Thị Mai", "mai@example.vn", "HCM-COL", "CV-VP", "learner,hr"])
    filled = tmp_path / "danh-sach.xlsx"
    buffer = io.BytesIO()
    workbook.save(buffer)
    filled.write_bytes(buffer.getvalue())

    phone.get_by_label("Tệp danh sách (CSV hoặc XLSX)").set_input_files(str(filled))
    phone.get_by_role("button", name="Kiểm tra tệp").click()
    expect(phone.locator("#main")).to_contain_text("Tạo mới: 1")
    assert "Trần Thị Mai" in phone.locator("table").first.inner_text()
    assert _no_horizontal_scroll(phone)
    assert check_accessibility(phone) == []

    phone.get_by_role("button", name="Nhập ngay").click()
    expect(phone.locator("#main")).to_contain_text("Đã nhập danh sách: 1 tạo mới")
    assert "mai@example.vn" in phone.locator("#main").inner_text()  # the one-time password table
    assert _no_horizontal_scroll(phone)
    assert check_accessibility(phone) == []
