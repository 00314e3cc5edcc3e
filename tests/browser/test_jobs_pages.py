"""A large roster on a 360 px phone (issue 18): the check and the import run as jobs whose pages follow
them without JavaScript, then the new official opens their activation link and sets a password."""
import csv
import io

import pytest

pytestmark = pytest.mark.browser


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_large_roster_runs_as_jobs_and_the_link_activates_the_account(app, live_server, phone, make_user, org,
                                                                       tmp_path, check_accessibility):
    from playwright.sync_api import expect

    app.config["ROSTER_JOB_MIN_BYTES"] = 0
    make_user("admin@example.vn", "Quản Trị", roles=("admin",), unit=org["city"])
    phone.goto(f"{live_server}/auth/login?next=/admin/roster")
    phone.get_by_label("Email").fill("admin@example.vn")
    phone.get_by_label("Mật khẩu").fill("Mat-khau-2025")
    phone.get_by_role("button", name="Đăng nhập").click()
    phone.wait_for_url("**/admin/roster")
    roster = tmp_path / "danh-sach.csv"
    roster.write_text("Họ và tên,Email,Mã đơn vị\nTrần Thị Mai,mai@example.vn,HCM-COL\n", encoding="utf-8")
    phone.get_by_label("Tệp danh sách (CSV hoặc XLSX)").set_input_files(str(roster))
    phone.get_by_role("button", name="Kiểm tra tệp").click()
    phone.wait_for_url("**/jobs/*")
    expect(phone.locator("#main")).to_contain_text("Tệp không có lỗi")
    assert _no_horizontal_scroll(phone) and check_accessibility(phone) == []

    phone.get_by_role("button", name="Nhập ngay").click()
    expect(phone.locator("#main")).to_contain_text("Đã nhập danh sách: 1 tạo mới")
    assert _no_horizontal_scroll(phone) and check_accessibility(phone) == []
    with phone.expect_download() as download:
        phone.get_by_role("link", name="Tải về duong-dan-kich-hoat.csv").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig")), delimiter=";"))
    link = rows[1][3]

    phone.context.clear_cookies()  # the official's own phone: nobody signed in
    phone.goto(live_server + "/" + link.split("/", 3)[3])
    expect(phone.locator("h1")).to_contain_text("Kích hoạt tài khoản")
    assert check_accessibility(phone) == []
    phone.get_by_label("Mật khẩu mới", exact=True).fill("Sông Sài Gòn sáng thứ Hai")
    phone.get_by_label("Nhập lại mật khẩu mới").fill("Sông Sài Gòn sáng thứ Hai")
    phone.get_by_role("button", name="Đặt mật khẩu và đăng nhập").click()
    expect(phone.locator("body")).to_contain_text("Trần Thị Mai")
