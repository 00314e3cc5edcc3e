"""Large files started in the browser are made by jobs (issue 18): a unit's certificate ZIP, the HR
officials export, a big question-bank import. Each ends on a page with its result and a download."""
import csv
import io
import zipfile

import pytest
import sqlalchemy as sa

from training.extensions import db
from training.models import AuditEntry, Job


def _follow_job(client, response):
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"], response.status_code
    job_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    return job_id, client.get(f"/jobs/{job_id}").get_data(as_text=True)


def test_large_certificate_zip_is_made_by_a_job_with_a_download(app, client, auth, make_user, org, signing):
    from certificates.issuing import issue_certificate
    from tests.certificates.test_issuing import qualify

    app.config["CERT_ZIP_JOB_MIN"] = 3
    make_user("hr.ward@example.vn", roles=("hr",), unit=org["ward_a"])
    serials = []
    for n in range(3):
        user = make_user(f"o{n}@example.vn", f"Cán Bộ Số {n}", unit=org["dept_a"], position=org["position"])
        qualify(user)
        serials.append(issue_certificate(user).serial)
    db.session.commit()
    auth.login("hr.ward@example.vn")
    job_id, page = _follow_job(client, client.get("/certificates/manage/export.zip?unit=HCM-COL"))
    assert "Đã đóng gói 3 giấy chứng nhận" in page and "chung-nhan-hcm-col.zip" in page
    download = client.get(f"/jobs/{job_id}/download")
    assert download.status_code == 200 and download.headers["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(download.get_data()))
    assert sorted(archive.namelist()) == sorted(f"{s}.pdf" for s in serials)
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "job.download")) is not None


def test_large_officials_export_is_a_job_and_its_csv_opens_in_excel(app, client, auth, make_user, org):
    app.config["EXPORT_JOB_MIN_ROWS"] = 3
    make_user("hr.city@example.vn", "Trưởng Phòng Nhân Sự", roles=("hr",), unit=org["city"])
    for n in range(4):
        make_user(f"cb{n}@example.vn", f"Nguyễn Thị Ánh {n}", unit=org["ward_a"], position=org["position"])
    auth.login("hr.city@example.vn")
    job_id, page = _follow_job(client, client.get("/hr/export/officials.csv?unit=HCM-COL"))
    assert "Đã xuất 4 công chức" in page
    body = client.get(f"/jobs/{job_id}/download").get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel keeps the diacritics
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == "Họ và tên" and len(rows) == 5 and rows[1][0].startswith("Nguyễn Thị Ánh")
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "hr.export"))
    assert entry.details["status"] == "done" and entry.details["rows"] == 4
    # The xlsx export takes the same road.
    job_id, page = _follow_job(client, client.get("/hr/export/officials.xlsx?unit=HCM-COL"))
    workbook_bytes = client.get(f"/jobs/{job_id}/download").get_data()
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(workbook_bytes), read_only=True).active
    assert sum(1 for _ in sheet.iter_rows()) == 5


def test_small_exports_still_stream(app, client, auth, make_user, org):
    make_user("hr.city@example.vn", roles=("hr",), unit=org["city"])
    auth.login("hr.city@example.vn")
    response = client.get("/hr/export/officials.csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.get_data().startswith(b"\xef\xbb\xbf")
    assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 0


def test_large_question_bank_import_is_applied_by_a_job(app, client, auth, make_user, org, tmp_path):
    from quizzes.models import Question

    app.config.update(QUIZ_UPLOAD_FOLDER=str(tmp_path / "uploads"), QUESTION_IMPORT_JOB_MIN_BYTES=0)
    make_user("giangvien@example.vn", "Lê Thị Giảng", roles=("trainer",), unit=org["ward_a"])
    auth.login("giangvien@example.vn")
    gift = "\n\n".join(f"::Câu {n}:: Thủ đô của Việt Nam là Hà Nội? {{T}}" for n in range(25)).encode("utf-8")
    preview = client.post("/quizzes/manage/import", data={
        "file": (io.BytesIO(gift), "ngan-hang.gift.txt"), "format": "gift", "category": "", "competency_id": "0"},
        content_type="multipart/form-data").get_data(as_text=True)
    import re

    token = re.search(r'name="token"[^>]*value="([^"]+)"', preview).group(1)
    job_id, page = _follow_job(client, client.post("/quizzes/manage/import", data={"token": token}))
    assert "Đã nhập 25 câu hỏi chấm điểm" in page and "Mở ngân hàng câu hỏi" in page
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == 25
    # The stored file is imported once: the same token again finds nothing.
    again = client.post("/quizzes/manage/import", data={"token": token})
    assert again.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == 25


@pytest.fixture
def signing(app, tmp_path_factory):
    from certificates.signing import make_dev_identity

    path = tmp_path_factory.getbasetemp() / "export-jobs-signing.p12"
    if not path.exists():
        make_dev_identity(str(path), "pw")
    app.config.update(CERT_P12_PATH=str(path), CERT_P12_PASSPHRASE="pw",
                      PUBLIC_BASE_URL="https://congchucso.example.vn")
