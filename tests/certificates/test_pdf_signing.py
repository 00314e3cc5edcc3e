"""The certificate PDF (content, diacritics, QR, reproducibility) and its PAdES signature."""
import io
import shutil
import subprocess
import sys
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from certificates.pdf import CertificateData, qr_matrix, render_certificate
from certificates.signing import (
    SigningSetupError, load_certificate, make_dev_identity, sha256_hex, sign_pdf, verify_pdf,
)

URL = "https://congchucso.example.vn/verify/CCS-2026-ABCD-EFGH-JKLM"
PASSPHRASE = "thử-nghiệm"
needs_poppler = pytest.mark.skipif(shutil.which("pdfsig") is None or shutil.which("pdftoppm") is None,
                                   reason="poppler-utils (pdfsig, pdftoppm, pdftotext) is not installed")


def make_data(**changes) -> CertificateData:
    values = dict(
        serial="CCS-2026-ABCD-EFGH-JKLM",
        holder_name="Nguyễn Thị Hồng Nhung",
        unit_name="Phòng Văn hóa - Xã hội, Ủy ban nhân dân Phường Bến Thành",
        position_name="Chuyên viên",
        issuer_parent="Ủy ban nhân dân Thành phố Hồ Chí Minh",
        issuer_name="Sở Nội vụ",
        competencies=[
            ("An toàn thông tin", 92.5, date(2026, 1, 12), date(2028, 1, 12)),
            ("Khai thác dữ liệu và dịch vụ công trực tuyến", 85, date(2026, 2, 3), date(2028, 2, 3)),
            ("Sử dụng chữ ký số", 100.0, date(2026, 2, 20), date(2028, 2, 20)),
        ],
        issued_on=date(2026, 3, 5),
        expires_on=date(2028, 1, 12),
        place="Thành phố Hồ Chí Minh",
        signer_title="KT. Giám đốc\nPhó Giám đốc",
        signer_name="Đặng Quốc Trưởng",
        verify_url=URL,
    )
    values.update(changes)
    return CertificateData(**values)


def page_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return unicodedata.normalize("NFC", reader.pages[0].extract_text())


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_certificate(make_data())


@pytest.fixture(scope="module")
def identity(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("signing") / "dev.p12"
    make_dev_identity(str(path), PASSPHRASE)
    return path


@pytest.fixture(scope="module")
def signed(pdf, identity) -> bytes:
    return sign_pdf(pdf, str(identity), PASSPHRASE, reason="Chứng nhận công chức số",
                    location="Thành phố Hồ Chí Minh", signer_name="Đặng Quốc Trưởng")


@pytest.fixture(scope="module")
def trust_root(identity):
    return load_certificate(str(identity), PASSPHRASE)


def test_page_is_a4_landscape_with_the_fonts_embedded(pdf):
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (842, 595)
    fonts = [font.get_object() for font in page["/Resources"]["/Font"].values()]
    assert fonts and all(font["/Subtype"] == "/TrueType" and "NotoSerif" in font["/BaseFont"] for font in fonts)
    for font in fonts:  # the TrueType program is in the file, so any machine shows the diacritics,
        assert "/FontFile2" in font["/FontDescriptor"].get_object()
        assert "/ToUnicode" in font  # and the text can be copied and searched


def test_text_extracted_back_has_every_part_with_diacritics(pdf):
    text = page_text(pdf)
    for expected in [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
        "ỦY BAN NHÂN DÂN THÀNH PHỐ HỒ CHÍ MINH", "SỞ NỘI VỤ",
        "GIẤY CHỨNG NHẬN", "Công chức số — Chứng nhận năng lực số",
        "Nguyễn Thị Hồng Nhung", "Phòng Văn hóa - Xã hội, Ủy ban nhân dân Phường Bến Thành", "Chuyên viên",
        "An toàn thông tin", "Khai thác dữ liệu và dịch vụ công trực tuyến", "Sử dụng chữ ký số",
        "Điểm", "Ngày đạt", "Hiệu lực đến", "92,5%", "85%", "100%", "12/01/2026", "03/02/2028",
        "Ngày cấp: 05/03/2026", "Có giá trị đến: 12/01/2028",
        "Thành phố Hồ Chí Minh, ngày 05 tháng 03 năm 2026",
        "KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Đặng Quốc Trưởng",
        "Số hiệu: CCS-2026-ABCD-EFGH-JKLM", "Quét mã để xác minh", URL,
    ]:
        assert expected in text, expected


def test_decomposed_input_is_normalised_to_nfc(pdf):
    decomposed = unicodedata.normalize("NFD", "Đặng Quốc Trưởng")
    assert decomposed != "Đặng Quốc Trưởng"
    text = PdfReader(io.BytesIO(render_certificate(make_data(holder_name=decomposed)))).pages[0].extract_text()
    assert "Đặng Quốc Trưởng" in text  # extracted as composed characters, without normalising here


def test_same_data_gives_identical_bytes_even_in_another_process(pdf):
    assert render_certificate(make_data()) == pdf
    script = ("import sys; sys.path.insert(0, {root!r});"
              "from tests.certificates.test_pdf_signing import make_data;"
              "from certificates.pdf import render_certificate;"
              "sys.stdout.buffer.write(render_certificate(make_data()))")
    root = str(Path(__file__).resolve().parents[2])
    other = subprocess.run([sys.executable, "-c", script.format(root=root)], capture_output=True, check=True).stdout
    assert other == pdf
    assert render_certificate(make_data(serial="CCS-2026-ZZZZ-ZZZZ-ZZZZ")) != pdf


def test_pdf_dates_come_from_the_issue_date(pdf):
    info = PdfReader(io.BytesIO(pdf)).metadata
    assert info["/CreationDate"].startswith("D:20260305") and info["/ModDate"].startswith("D:20260305")


def test_many_long_competencies_still_fit_on_one_page():
    many = [(f"Năng lực số thứ {n}: khai thác, quản lý và bảo vệ dữ liệu trên nền tảng số của phường", 70 + n,
             date(2026, 1, n), date(2028, 1, n)) for n in range(1, 13)]
    text = page_text(render_certificate(make_data(competencies=many)))
    assert "Năng lực số thứ 12" in text and "Đặng Quốc Trưởng" in text


@needs_poppler
def test_qr_code_decodes_to_the_verify_url(pdf, tmp_path):
    zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp (QR decoder) is not installed")
    from PIL import Image

    (tmp_path / "cert.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(tmp_path / "cert.pdf"),
                    str(tmp_path / "page")], check=True)
    with Image.open(tmp_path / "page.png") as image:
        results = zxingcpp.read_barcodes(image.convert("L"))
    assert [r.text for r in results if r.format == zxingcpp.BarcodeFormat.QRCode] == [URL]


def test_qr_matrix_is_segnos_for_the_url():
    import segno

    assert qr_matrix(URL) == [[bool(m) for m in row] for row in segno.make(URL, error="m", micro=False).matrix]


@needs_poppler
def test_poppler_extracts_the_same_text(pdf, tmp_path):
    (tmp_path / "cert.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "cert.pdf"), "-"], capture_output=True, check=True,
                          text=True).stdout
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Nguyễn Thị Hồng Nhung" in text


def test_dev_identity_says_it_is_for_testing(trust_root):
    subject = trust_root.subject.native
    assert "THỬ NGHIỆM" in subject["common_name"] and "không dùng thật" in subject["common_name"]
    assert "TESTING ONLY" in subject["organization_name"]
    assert trust_root.self_signed == "maybe" and trust_root.public_key.bit_size == 2048


def test_wrong_passphrase_or_missing_file_is_a_clear_error(pdf, identity, tmp_path):
    with pytest.raises(SigningSetupError, match="sai mật khẩu"):
        sign_pdf(pdf, str(identity), "sai", reason="r", location="l", signer_name="n")
    with pytest.raises(SigningSetupError, match="Không đọc được"):
        sign_pdf(pdf, str(tmp_path / "none.p12"), PASSPHRASE, reason="r", location="l", signer_name="n")


def test_signed_pdf_validates_with_pyhanko(pdf, signed, trust_root):
    assert signed.startswith(pdf)  # an incremental update: the rendered bytes are kept as they were
    result = verify_pdf(signed, [trust_root])
    assert result.valid and result.intact and result.trusted and result.covers_whole_file, result.problems
    assert "THỬ NGHIỆM" in result.signer
    assert result.reason == "Chứng nhận công chức số" and result.location == "Thành phố Hồ Chí Minh"
    assert len(sha256_hex(signed)) == 64 and sha256_hex(signed) != sha256_hex(pdf)


def test_signature_uses_pades(signed):
    reader = PdfReader(io.BytesIO(signed))
    fields = reader.get_fields()
    signature = fields["Signature1"]["/V"]
    assert signature["/SubFilter"] == "/ETSI.CAdES.detached" and signature["/Filter"] == "/Adobe.PPKLite"
    assert signature["/Name"] == "Đặng Quốc Trưởng"


def test_unsigned_or_untrusted_is_not_valid(pdf, signed, tmp_path):
    assert not verify_pdf(pdf).valid
    other = tmp_path / "other.p12"
    make_dev_identity(str(other), "x")
    result = verify_pdf(signed, [load_certificate(str(other), "x")])
    assert result.intact and not result.trusted and not result.valid


def signed_ranges(signed: bytes) -> list[tuple[int, int]]:
    reader = PdfReader(io.BytesIO(signed))
    values = [int(v) for v in reader.get_fields()["Signature1"]["/V"]["/ByteRange"]]
    return [(values[0], values[0] + values[1]), (values[2], values[2] + values[3])]


@pytest.mark.parametrize("where", ["content stream", "document info", "signature dictionary", "trailer"])
def test_any_change_to_the_signed_bytes_makes_it_invalid(signed, trust_root, where):
    (start1, end1), (start2, end2) = signed_ranges(signed)
    assert start1 == 0 and end2 == len(signed)
    position = {
        "content stream": signed.index(b"stream\n", 0, end1) + 40,    # inside the page's compressed drawing
        "document info": signed.index(b"/Keywords (CCS-", 0, end1) + 16,  # a character of the serial
        "signature dictionary": signed.index(b"/Reason", start2, end2) + 10,  # a letter of the reason
        "trailer": signed.rindex(b"startxref") - 3,                   # breaks the structure: still invalid
    }[where]
    assert start1 <= position < end1 or start2 <= position < end2  # inside the signed range, not /Contents
    tampered = bytearray(signed)
    tampered[position] ^= 0x01
    result = verify_pdf(bytes(tampered), [trust_root])
    assert not result.valid


def test_a_damaged_signature_value_is_invalid(signed, trust_root):
    (_start1, end1), (start2, _end2) = signed_ranges(signed)
    tampered = bytearray(signed)
    tampered[end1 + 101] = ord("0") if tampered[end1 + 101] != ord("0") else ord("1")  # hex digit in /Contents
    assert end1 < end1 + 101 < start2
    assert not verify_pdf(bytes(tampered), [trust_root]).valid


def test_appending_an_update_after_signing_is_not_valid(signed, trust_root):
    from pyhanko.pdf_utils.generic import pdf_string
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    writer.root["/Lang"] = pdf_string("en")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    result = verify_pdf(out.getvalue(), [trust_root])
    assert result.intact and not result.valid and not result.covers_whole_file


@needs_poppler
def test_pdfsig_says_the_signature_is_valid(signed, tmp_path):
    (tmp_path / "signed.pdf").write_bytes(signed)
    output = subprocess.run(["pdfsig", str(tmp_path / "signed.pdf")], capture_output=True, text=True).stdout
    # Self-signed development certificate: poppler cannot trust its issuer, but the digest must check out.
    assert "Signature Validation: Signature is Valid." in output, output
    assert "Total document signed" in output


@needs_poppler
def test_pdfsig_rejects_a_tampered_file(signed, tmp_path):
    (start1, end1), _ = signed_ranges(signed)
    position = signed.index(b"stream\n", 0, end1) + 40
    tampered = bytearray(signed)
    tampered[position] ^= 0x01
    (tmp_path / "tampered.pdf").write_bytes(bytes(tampered))
    output = subprocess.run(["pdfsig", str(tmp_path / "tampered.pdf")], capture_output=True, text=True).stdout
    assert "Signature is Valid." not in output, output


def test_signature_carries_its_signing_time(signed, trust_root):
    from datetime import datetime, timezone

    result = verify_pdf(signed, [trust_root])
    assert result.signed_at is not None
    assert abs((datetime.now(timezone.utc) - result.signed_at).total_seconds()) < 3600
    assert result.timestamped_at is None  # no TSA_URL: no timestamp token


def test_tsa_url_adds_an_rfc3161_timestamp(pdf, identity, trust_root):
    from datetime import datetime, timezone

    from tests.certificates.tsa import LocalTSA

    with LocalTSA() as tsa:
        stamped = sign_pdf(pdf, str(identity), PASSPHRASE, reason="Chứng nhận công chức số",
                           location="Thành phố Hồ Chí Minh", signer_name="Đặng Quốc Trưởng", tsa_url=tsa.url)
        assert tsa.requests >= 1  # pyHanko also asks once to size the signature
        result = verify_pdf(stamped, [trust_root, tsa.certificate])
    assert result.valid, result.problems
    assert result.timestamped_at is not None
    assert abs((datetime.now(timezone.utc) - result.timestamped_at).total_seconds()) < 600


def test_an_unreachable_tsa_is_a_clear_error(pdf, identity):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SigningSetupError, match="dấu thời gian"):
        sign_pdf(pdf, str(identity), PASSPHRASE, reason="r", location="l", signer_name="s",
                 tsa_url=f"http://127.0.0.1:{port}/tsa")


def test_a_test_certificate_says_so_on_the_page():
    text = page_text(render_certificate(make_data(test_notice=True)))
    assert "BẢN THỬ NGHIỆM" in text and "không có giá trị chứng nhận" in text
    assert "THỬ NGHIỆM" not in page_text(render_certificate(make_data()))
