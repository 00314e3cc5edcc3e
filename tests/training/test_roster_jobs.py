"""Roster imports at scale (issue 18): activation links instead of passwords hashed at import, large files
checked and imported by jobs with a progress page, all or nothing, the activation page."""
import csv
import io
import re

import pytest
import sqlalchemy as sa

from training.extensions import db
from training.models import ActivationToken, Job, User

HEADER = "Họ và tên,Email,Mã đơn vị,Vai trò\n"


@pytest.fixture
def admin(make_user, org, auth):
    user = make_user("admin@example.vn", "Quản Trị Viên", roles=("admin",), unit=org["city"])
    auth.login("admin@example.vn")
    return user


def roster(count: int, start: int = 0, unit: str = "HCM-COL") -> str:
    return HEADER + "".join(f"Nguyễn Văn Bình {n},binh{n}@example.vn,{unit},learner\n"
                            for n in range(start, start + count))


def upload(client, text: str, name: str = "ds.csv"):
    return client.post("/admin/roster", data={"file": (io.BytesIO(text.encode("utf-8")), name)},
                       content_type="multipart/form-data")


def links_on(page: str) -> list[str]:
    return re.findall(r"https?://[^\s<\"]+/activate/[A-Za-z0-9_-]+", page)


def test_import_gives_activation_links_not_passwords(client, app, admin):
    page = upload(client, roster(2)).get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)
    page = client.post("/admin/roster", data={"token": token, "apply": "Nhập ngay"}).get_data(as_text=True)
    links = links_on(page)
    assert len(links) == 2
    users = db.session.scalars(sa.select(User).where(User.email.like("binh%"))).all()
    assert len(users) == 2 and all(user.password_hash is None for user in users)  # no hash at import
    stored = db.session.scalars(sa.select(ActivationToken.token_hash)).all()
    assert len(stored) == 2 and not any(link.rsplit("/", 1)[1] in stored for link in links)  # hashed


def test_activation_link_sets_the_password_once_and_signs_in(client, app, admin):
    page = upload(client, roster(1)).get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)
    link = links_on(client.post("/admin/roster", data={"token": token, "apply": "Nhập ngay"})
                    .get_data(as_text=True))[0]
    path = "/" + link.split("/", 3)[3]
    client.post("/auth/logout")
    form = client.get(path)
    assert form.status_code == 200 and "Nguyễn Văn Bình 0" in form.get_data(as_text=True)
    weak = client.post(path, data={"new": "1234567890", "confirm": "1234567890"})
    assert weak.status_code == 400 and "quá phổ biến" in weak.get_data(as_text=True)  # the password policy
    response = client.post(path, data={"new": "Sông Sài Gòn sáng thứ Hai", "confirm": "Sông Sài Gòn sáng thứ Hai"})
    assert response.status_code == 302
    home = client.get("/")
    assert "Nguyễn Văn Bình 0" in home.get_data(as_text=True)  # signed in
    client.post("/auth/logout")
    again = client.get(path)
    assert again.status_code == 410 and "đã được dùng" in again.get_data(as_text=True)
    login = client.post("/auth/login", data={"email": "binh0@example.vn", "password": "Sông Sài Gòn sáng thứ Hai"})
    assert login.status_code == 302


def test_expired_or_unknown_activation_link_says_what_to_do(client, app, admin):
    from datetime import datetime, timedelta, timezone

    from training.services.activation import issue_activation

    user = db.session.scalar(sa.select(User).where(User.email == "admin@example.vn"))
    token = issue_activation(user)
    db.session.execute(sa.update(ActivationToken).values(expires_at=datetime.now(timezone.utc) - timedelta(days=1)))
    db.session.commit()
    client.post("/auth/logout")
    expired = client.get(f"/activate/{token}")
    assert expired.status_code == 410 and "đã hết hạn" in expired.get_data(as_text=True)
    unknown = client.get("/activate/khong-co-ma-nay")
    assert unknown.status_code == 404 and "không đúng" in unknown.get_data(as_text=True)


def test_large_file_is_checked_then_imported_by_jobs(client, app, admin):
    app.config["ROSTER_JOB_MIN_BYTES"] = 0  # every file is "large" here
    response = upload(client, roster(30))
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    check = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Tệp không có lỗi" in check and "Tạo mới: 30" in check and "Nhập ngay" in check
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1  # a check writes nothing
    check_job = db.session.scalar(sa.select(Job).order_by(Job.id))
    applied = client.post(f"/admin/roster/jobs/{check_job.id}/apply", data={"send_links": "1"})
    assert applied.status_code == 302
    page = client.get(applied.headers["Location"]).get_data(as_text=True)
    assert "Đã nhập danh sách: 30 tạo mới" in page and "Tải về duong-dan-kich-hoat.csv" in page
    apply_job = db.session.scalar(sa.select(Job).order_by(Job.id.desc()))
    download = client.get(f"/jobs/{apply_job.id}/download")
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(download.get_data().decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["Họ và tên", "Email", "Mã đơn vị", "Đường dẫn kích hoạt"]
    assert len(rows) == 31 and all("/activate/" in row[3] for row in rows[1:])
    from courses.models import OutboxEmail

    assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) == 30  # sent through the outbox
    # "Nhập ngay" works once.
    again = client.post(f"/admin/roster/jobs/{check_job.id}/apply")
    assert again.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 2
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 31


def test_large_file_with_errors_ends_with_an_error_report(client, app, admin):
    app.config["ROSTER_JOB_MIN_BYTES"] = 0
    response = upload(client, roster(5) + "Lỗi Đơn Vị,loi@example.vn,KHONG-CO,learner\n")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Tệp có 1 dòng lỗi" in page and "KHONG-CO" in page and "Nhập ngay" not in page
    job = db.session.scalar(sa.select(Job))
    report = client.get(f"/jobs/{job.id}/download").get_data().decode("utf-8-sig")
    assert "7;" in report and "KHONG-CO" in report
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_someone_elses_check_cannot_be_imported(client, app, admin, make_user, auth):
    app.config["ROSTER_JOB_MIN_BYTES"] = 0
    upload(client, roster(3))
    check_job = db.session.scalar(sa.select(Job))
    make_user("admin2@example.vn", roles=("admin",))
    auth.logout()
    auth.login("admin2@example.vn")
    assert client.post(f"/admin/roster/jobs/{check_job.id}/apply").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 2


def test_apply_job_is_all_or_nothing(app, admin, monkeypatch):
    """A failure in the middle of a large import leaves no official and no link behind."""
    import training.services.roster as roster_service
    from training.jobs import create_job, start

    check = create_job(roster_service.CHECK_JOB, user=admin, input_data=roster(2500).encode("utf-8"),
                       params={"filename": "lon.csv"})
    db.session.commit()
    assert start(check).result["ok"]
    original = roster_service.ActivationLinks.__call__
    calls = {"n": 0}

    def fail_late(self, *args):
        calls["n"] += 1
        if calls["n"] == 2200:
            raise RuntimeError("mất kết nối cơ sở dữ liệu")
        return original(self, *args)

    monkeypatch.setattr(roster_service.ActivationLinks, "__call__", fail_late)
    job = create_job(roster_service.APPLY_JOB, user=admin, params={"source_job_id": check.id, "filename": "lon.csv",
                                                                   "base_url": "https://ccs.example.vn"})
    db.session.commit()
    assert start(job).state == "failed"
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(ActivationToken.id))) == 0
    monkeypatch.undo()
    from training.jobs import retry_job

    retry_job(db.session.get(Job, job.id))
    db.session.expire_all()
    assert db.session.get(Job, job.id).state == "done"
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 2501


def test_cli_writes_activation_links_privately(runner, app, org, tmp_path):
    import stat

    source = tmp_path / "ds.csv"
    source.write_text(roster(3), encoding="utf-8")
    out = tmp_path / "links.csv"
    result = runner.invoke(args=["roster", "import", str(source), "--links-out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Đường dẫn kích hoạt của 3 tài khoản mới" in result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert len(rows) == 4 and all("/activate/" in row[3] for row in rows[1:])
