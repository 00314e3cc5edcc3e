"""Issuing, verification page and JSON, revocation, ZIP, roles."""
import io
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from certificates.issuing import issue_certificate
from certificates.models import Certificate
from training.extensions import db
from training.models import AuditEntry, Competency, CompetencyRecord

ALL = ("digital_signature", "e_documents", "info_security", "online_services", "ai")


@pytest.fixture(autouse=True)
def signing_identity(app, tmp_path_factory):
    app.config["CERT_P12_PATH"] = str(tmp_path_factory.getbasetemp() / "test-signing.p12")
    app.config["CERT_P12_PASSPHRASE"] = "test-pass"
    import os

    from certificates.signing import make_dev_identity

    if not os.path.exists(app.config["CERT_P12_PATH"]):
        make_dev_identity(app.config["CERT_P12_PATH"], "test-pass")
    app.config["PUBLIC_BASE_URL"] = "https://congchucso.example.vn"


def qualify(user, days_left=300, skip=()):
    now = datetime.now(timezone.utc)
    for code in ALL:
        if code in skip:
            continue
        competency = db.session.scalar(sa.select(Competency).where(Competency.code == code))
        db.session.add(CompetencyRecord(user_id=user.id, competency_id=competency.id,
                                        achieved_at=now - timedelta(days=10),
                                        expires_at=now + timedelta(days=days_left), score=88.5))
    db.session.commit()


@pytest.fixture
def official(make_user, org):
    return make_user("lan@example.vn", "Nguyễn Thị Hồng Nhung", unit=org["dept_a"], position=org["position"])


def test_certificate_issued_once_with_snapshot(official, runner):
    qualify(official)
    result = runner.invoke(args=["certificates", "issue"])
    assert "Đã cấp 1 giấy chứng nhận" in result.output
    certificate = db.session.scalar(sa.select(Certificate))
    assert certificate.serial.startswith("CCS-") and len(certificate.serial) == 23
    assert certificate.holder_name == "Nguyễn Thị Hồng Nhung"
    assert certificate.unit_name == "Văn phòng HĐND và UBND, Phường Cầu Ông Lãnh"
    assert {c["code"] for c in certificate.competencies} == set(ALL)
    assert certificate.pdf.startswith(b"%PDF") and len(certificate.pdf_sha256) == 64
    again = runner.invoke(args=["certificates", "issue"])
    assert "Đã cấp 0 giấy chứng nhận" in again.output  # never two valid ones at once


def test_not_qualified_gets_nothing(official, runner):
    qualify(official, skip=("ai",))
    assert "Đã cấp 0" in runner.invoke(args=["certificates", "issue"]).output


def test_expires_with_the_first_competency(official):
    qualify(official, days_left=400)
    soonest = db.session.scalar(sa.select(CompetencyRecord).order_by(CompetencyRecord.id))
    soonest.expires_at = datetime.now(timezone.utc) + timedelta(days=30)
    db.session.commit()
    certificate = issue_certificate(official)
    assert abs((certificate.expires_at - soonest.expires_at).total_seconds()) < 1


def test_verification_page_and_json(official, client):
    qualify(official)
    certificate = issue_certificate(official)
    db.session.commit()
    page = client.get(f"/verify/{certificate.serial}").get_data(as_text=True)
    assert "HỢP LỆ" in page and "Nguyễn Thị Hồng Nhung" in page and "lan@example.vn" not in page
    body = client.get(f"/api/v1/certificates/{certificate.serial}").get_json()
    assert body["status"] == "valid" and body["holder"] == "Nguyễn Thị Hồng Nhung"
    assert set(body) == {"serial", "holder", "unit", "competencies", "issued_at", "expires_at", "status"}
    assert len(body["competencies"]) == 5
    missing = client.get("/api/v1/certificates/CCS-2026-AAAA-BBBB-CCCC")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    not_found = client.get("/verify/CCS-2026-AAAA-BBBB-CCCC")
    assert not_found.status_code == 404 and "Không tìm thấy giấy chứng nhận" in not_found.get_data(as_text=True)
    assert client.get("/verify/<script>alert(1)</script>").status_code == 404


def test_expired_certificate_says_expired(official, client):
    qualify(official)
    certificate = issue_certificate(official)
    certificate.expires_at = datetime.now(timezone.utc) - timedelta(days=1)
    db.session.commit()
    assert client.get(f"/api/v1/certificates/{certificate.serial}").get_json()["status"] == "expired"
    assert "HẾT HIỆU LỰC" in client.get(f"/verify/{certificate.serial}").get_data(as_text=True)


def test_hr_revokes_with_a_reason_and_it_is_audited(official, client, auth, make_user, org):
    make_user("hr.ward@example.vn", roles=("hr",), unit=org["ward_a"])
    qualify(official)
    certificate = issue_certificate(official)
    db.session.commit()
    auth.login("hr.ward@example.vn")
    empty = client.post(f"/certificates/manage/{certificate.serial}", data={"reason": "  "})
    assert empty.status_code == 400
    client.post(f"/certificates/manage/{certificate.serial}", data={"reason": "Cấp nhầm người"})
    body = client.get(f"/api/v1/certificates/{certificate.serial}").get_json()
    assert body["status"] == "revoked" and "revoked_at" in body
    assert "Cấp nhầm người" not in str(body)  # the public never sees HR's reason
    page = client.get(f"/verify/{certificate.serial}").get_data(as_text=True)
    assert "ĐÃ THU HỒI" in page and "Cấp nhầm người" not in page
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "certificate.revoke"))
    assert entry.target == certificate.serial and entry.details["reason"] == "Cấp nhầm người"
    # HR sees the reason, on the certificate and on the official's page, with the revoked records.
    assert "Cấp nhầm người" in client.get(f"/certificates/manage/{certificate.serial}").get_data(as_text=True)
    person = client.get(f"/hr/officials/{official.id}").get_data(as_text=True)
    assert "Năng lực đã bị thu hồi" in person and person.count("Cấp nhầm người") >= 5
    # Revoked means revoked: the records it rested on no longer qualify anyone.
    assert issue_certificate(official) is None


def test_hr_of_another_ward_cannot_see_or_revoke(official, client, auth, make_user, org):
    make_user("hr.b@example.vn", roles=("hr",), unit=org["ward_b"])
    qualify(official)
    certificate = issue_certificate(official)
    db.session.commit()
    auth.login("hr.b@example.vn")
    assert client.get(f"/certificates/manage/{certificate.serial}").status_code == 404
    assert client.get(f"/certificates/{certificate.serial}.pdf").status_code == 404
    assert certificate.serial not in client.get("/certificates/manage").get_data(as_text=True)


def test_learner_downloads_own_pdf_only(official, client, auth, make_user):
    qualify(official)
    certificate = issue_certificate(official)
    db.session.commit()
    auth.login("lan@example.vn")
    response = client.get(f"/certificates/{certificate.serial}.pdf")
    assert response.status_code == 200 and response.data == certificate.pdf
    assert certificate.serial in client.get("/certificates/").get_data(as_text=True)
    auth.logout()
    make_user("other@example.vn")
    auth.login("other@example.vn")
    assert client.get(f"/certificates/{certificate.serial}.pdf").status_code == 404


def test_zip_of_a_ward_streams_every_pdf(client, auth, make_user, org):
    make_user("hr.ward@example.vn", roles=("hr",), unit=org["ward_a"])
    serials = []
    for n in range(3):
        user = make_user(f"o{n}@example.vn", f"Cán Bộ Số {n}", unit=org["dept_a"], position=org["position"])
        qualify(user)
        serials.append(issue_certificate(user).serial)
    db.session.commit()
    auth.login("hr.ward@example.vn")
    response = client.get("/certificates/manage/export.zip?unit=HCM-COL")
    assert response.is_streamed
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    assert sorted(archive.namelist()) == sorted(f"{s}.pdf" for s in serials)
    assert all(archive.read(name).startswith(b"%PDF") for name in archive.namelist())


def test_passing_the_last_quiz_issues_the_certificate(official, client, auth):
    """The hook from quizzes: the pass that completes the set issues the certificate at once."""
    from tests.quizzes.helpers import make_quiz, right_answers

    qualify(official, skip=("digital_signature",))
    quiz = make_quiz(questions=12, draw=10)
    auth.login("lan@example.vn")
    payload = client.post(f"/api/v1/quizzes/{quiz.id}/attempts").get_json()
    for slot, option in right_answers(payload).items():
        client.put(f"/api/v1/attempts/{payload['attempt_id']}/answers/{slot}", json={"response": option})
    client.post(f"/api/v1/attempts/{payload['attempt_id']}/submit")
    certificate = db.session.scalar(sa.select(Certificate))
    assert certificate is not None and certificate.user_id == official.id
    assert "Bạn đang có giấy chứng nhận công chức số" in client.get("/certificates/").get_data(as_text=True)
