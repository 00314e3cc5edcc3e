"""Certificates per second: render (ReportLab) + sign (pyHanko, PAdES), the work `certificates issue` does.

    .venv/bin/python bench/pdf_bench.py [--count 200] [--processes 2]

No database and no Flask app: certificates/pdf.py and certificates/signing.py take plain data.
The signing identity is a throwaway development one made in a temporary folder (RSA-2048, as
`make_dev_identity` makes), unless CERT_P12_PATH and CERT_P12_PASSPHRASE point at a real one.
The first certificate is checked with `verify_pdf`, so the figures are for valid signed PDFs.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from certificates.pdf import CertificateData, render_certificate  # noqa: E402
from certificates.signing import load_certificate, make_dev_identity, sign_pdf, verify_pdf  # noqa: E402
from training.services.demo import random_name  # noqa: E402

COMPETENCIES = ("Chữ ký số", "Văn bản điện tử", "An toàn thông tin", "Dịch vụ công trực tuyến",
                "Ứng dụng trí tuệ nhân tạo an toàn trong công việc")


def certificate_data(n: int) -> CertificateData:
    rng = random.Random(n)
    issued = date(2026, 1, 1) + timedelta(days=rng.randrange(300))
    competencies = [(name, round(rng.uniform(70, 100), 1), issued - timedelta(days=rng.randrange(200)),
                     issued + timedelta(days=365)) for name in COMPETENCIES]
    return CertificateData(
        serial=f"CCS-2026-{n:06d}", holder_name=random_name(rng), unit_name=f"Phường Thử nghiệm {n % 3321 + 1:04d}",
        position_name="Chuyên viên tiếp nhận hồ sơ một cửa", issuer_name="SỞ NỘI VỤ",
        issuer_parent="ỦY BAN NHÂN DÂN THÀNH PHỐ HỒ CHÍ MINH", competencies=competencies, issued_on=issued,
        expires_on=issued + timedelta(days=365), place="Thành phố Hồ Chí Minh", signer_title="GIÁM ĐỐC",
        signer_name="Nguyễn Văn Thử", verify_url=f"https://congchucso.example.gov.vn/verify/CCS-2026-{n:06d}")


def work(numbers: list[int], p12: str, passphrase: str) -> list[tuple[float, float, int]]:
    """Render and sign each certificate; (render seconds, sign seconds, bytes) for each."""
    out = []
    for n in numbers:
        began = time.perf_counter()
        pdf = render_certificate(certificate_data(n))
        rendered = time.perf_counter()
        signed = sign_pdf(pdf, p12, passphrase, reason="Chứng nhận công chức số", location="Thành phố Hồ Chí Minh",
                          signer_name="Nguyễn Văn Thử")
        out.append((rendered - began, time.perf_counter() - rendered, len(signed)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="certificates to make (default 200)")
    parser.add_argument("--processes", type=int, default=1, help="worker processes (default 1)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        p12, passphrase = os.environ.get("CERT_P12_PATH"), os.environ.get("CERT_P12_PASSPHRASE", "")
        if not p12:
            p12, passphrase = os.path.join(folder, "bench.p12"), "bench-only"
            make_dev_identity(p12, passphrase)

        first = work([0], p12, passphrase)  # warm-up: fonts registered, key loaded once per process
        check = verify_pdf(sign_pdf(render_certificate(certificate_data(0)), p12, passphrase, reason="x",
                                    location="y", signer_name="z"), trust_roots=[load_certificate(p12, passphrase)])
        if not check.valid:
            sys.exit(f"Chữ ký không hợp lệ: {check.problems}")

        numbers = list(range(1, args.count + 1))
        began = time.perf_counter()
        if args.processes > 1:
            batches = [numbers[i::args.processes] for i in range(args.processes)]
            with ProcessPoolExecutor(args.processes) as pool:
                results = [r for batch in pool.map(work, batches, [p12] * len(batches),
                                                   [passphrase] * len(batches)) for r in batch]
        else:
            results = work(numbers, p12, passphrase)
        wall = time.perf_counter() - began

    render = [r for r, _, _ in results]
    sign = [s for _, s, _ in results]
    size = statistics.mean(b for _, _, b in results)
    print(f"{len(results)} giấy chứng nhận, {args.processes} tiến trình, {wall:.1f} s: "
          f"{len(results) / wall:.1f} giấy/giây (render + ký), {size / 1024:.0f} KB/tệp; "
          f"lần đầu (khởi động) {sum(first[0][:2]) * 1000:.0f} ms")
    print(f"  render: trung vị {statistics.median(render) * 1000:.1f} ms, p95 "
          f"{sorted(render)[int(0.95 * (len(render) - 1))] * 1000:.1f} ms")
    print(f"  ký số:  trung vị {statistics.median(sign) * 1000:.1f} ms, p95 "
          f"{sorted(sign)[int(0.95 * (len(sign) - 1))] * 1000:.1f} ms")
    print(f"  chữ ký kiểm tra bằng verify_pdf: hợp lệ ({check.signer})")


if __name__ == "__main__":
    main()
