"""PAdES signatures on certificate PDFs with pyHanko, and the development signing identity.

Pure Python: no Flask, no database. The issuing organisation's key and certificate come from a
PKCS#12 file. `make_dev_identity` makes a self-signed one for development whose subject says
plainly that it is a test identity. Signing is offline unless a timestamp authority (TSA_URL) is given.
"""
from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

# X.509 caps CN and O at 64 UTF-8 bytes, so the Vietnamese labels are kept short.
DEV_COMMON_NAME = "Công Chức Số — THỬ NGHIỆM, không dùng thật"
DEV_ORGANISATION = "TESTING ONLY — Công Chức Số (bản phát triển)"
FIELD_NAME = "Signature1"


class SigningSetupError(ValueError):
    """The signing identity cannot be used (missing file, wrong passphrase, no key)."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _clip(text: str, limit: int = 64) -> str:
    """Cut to at most `limit` UTF-8 bytes on a character boundary (X.509 name length cap)."""
    while len(text.encode("utf-8")) > limit:
        text = text[:-1]
    return text.rstrip()


def make_dev_identity(path_p12: str, passphrase: str,
                      common_name: str = DEV_COMMON_NAME, *, days: int = 3650) -> None:
    """Write a self-signed RSA-2048 identity as PKCS#12, labelled as a test in its subject (O, OU, CN)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORGANISATION),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Chỉ dùng để phát triển và kiểm thử"),
        x509.NameAttribute(NameOID.COMMON_NAME, _clip(common_name)),
    ])
    now = datetime.now(timezone.utc).replace(microsecond=0)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    blob = pkcs12.serialize_key_and_certificates(
        name=_clip(common_name).encode("utf-8"), key=key, cert=certificate, cas=None,
        encryption_algorithm=serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
    )
    directory = os.path.dirname(os.path.abspath(path_p12))
    os.makedirs(directory, exist_ok=True)
    descriptor = os.open(path_p12, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(blob)


def _read_p12(p12_path: str) -> bytes:
    try:
        with open(p12_path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise SigningSetupError(f"Không đọc được tệp khóa ký số {p12_path}: {error.strerror}") from error


class _ParsedKeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner parses the private key again on every raw signature (twice per PDF: once
    to size the signature, once to sign), about 40 % of a certificate's cost; this one parses it once.
    (Issue 18: workers keep one signer per process.)"""

    _parsed_key = None

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        if self._parsed_key is None:
            self._parsed_key = serialization.load_der_private_key(self.signing_key.dump(), password=None)
        try:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        except ValueError:
            mechanism = None
        if mechanism != "rsassa_pkcs1v15":
            return super().sign_raw(data, digest_algorithm)
        from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
        from pyhanko_certvalidator.util import get_pyca_cryptography_hash

        return self._parsed_key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))


def _signer(p12_path: str, passphrase: str) -> signers.SimpleSigner:
    try:
        loaded = signers.SimpleSigner.load_pkcs12_data(
            _read_p12(p12_path), other_certs=[], passphrase=passphrase.encode("utf-8") if passphrase else None)
        signer = _ParsedKeySigner(signing_cert=loaded.signing_cert, signing_key=loaded.signing_key,
                                  cert_registry=loaded.cert_registry)
        signer._parsed_key = serialization.load_der_private_key(loaded.signing_key.dump(), password=None)
        return signer
    except (ValueError, TypeError) as error:
        if isinstance(error, SigningSetupError):
            raise
        raise SigningSetupError(f"Không mở được tệp khóa ký số {p12_path} (sai mật khẩu hoặc tệp hỏng).") from error


def load_certificate(p12_path: str, passphrase: str) -> asn1_x509.Certificate:
    """The signing certificate inside the PKCS#12 file (to use as a trust root for the dev identity)."""
    return _signer(p12_path, passphrase).signing_cert


def _outside_event_loop(function, *args, **kwargs):
    """pyHanko runs its own asyncio loop; when the caller already has one running (a browser test
    driver, an async worker), do the work in a short-lived thread instead."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


_SIGNERS: dict[tuple, signers.SimpleSigner] = {}


def _cached_signer(p12_path: str, passphrase: str) -> signers.SimpleSigner:
    """The signer, loaded once per key file version: issuing a ward's certificates reads the key once."""
    import os

    key = (os.path.abspath(p12_path), os.path.getmtime(p12_path) if os.path.exists(p12_path) else None, passphrase)
    if key not in _SIGNERS:
        _SIGNERS.clear()
        _SIGNERS[key] = _signer(p12_path, passphrase)
    return _SIGNERS[key]


def sign_pdf(pdf_bytes: bytes, p12_path: str, passphrase: str, *, reason: str, location: str,
             signer_name: str, tsa_url: str | None = None) -> bytes:
    """A PAdES signature over the whole PDF, appended as an incremental update.

    The signature carries its signing time (B-B); with `tsa_url`, also an RFC 3161 timestamp from that
    authority (B-T), so the time does not rest on this server's clock alone.
    """
    signer = _cached_signer(p12_path, passphrase)
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
        name=signer_name or None,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
    output = io.BytesIO()
    try:
        timestamper = None
        if tsa_url:
            from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

            timestamper = RequestsHTTPTimeStamper(tsa_url, timeout=10)
        _outside_event_loop(signers.PdfSigner(metadata, signer=signer, timestamper=timestamper).sign_pdf,
                            writer, output=output)
    except SigningError as error:
        raise SigningSetupError(f"Không ký được tệp PDF: {error}") from error
    except Exception as error:  # the timestamp authority's errors come in several classes
        from pyhanko.sign.timestamps.common_utils import TimestampRequestError

        if isinstance(error, TimestampRequestError) or "Timestamp" in type(error).__name__:
            raise SigningSetupError(f"Không lấy được dấu thời gian từ {tsa_url}: {error}") from error
        raise
    return output.getvalue()


@dataclass(frozen=True)
class VerifyResult:
    valid: bool                 # intact, cryptographically valid, trusted, and nothing changed or added since
    intact: bool                # the signed bytes hash to what was signed
    signer: str = ""            # the signing certificate's subject (human readable)
    trusted: bool = False       # the signer chains to one of the trust roots
    covers_whole_file: bool = False
    signed_at: datetime | None = None           # the signer's own clock (signing-time attribute)
    timestamped_at: datetime | None = None      # an RFC 3161 timestamp's time, when the signature has one
    reason: str = ""
    location: str = ""
    problems: list[str] = field(default_factory=list)


def _as_asn1(certificate) -> asn1_x509.Certificate:
    if isinstance(certificate, asn1_x509.Certificate):
        return certificate
    if isinstance(certificate, x509.Certificate):
        return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    if isinstance(certificate, (bytes, bytearray)):
        data = bytes(certificate)
        if data.lstrip().startswith(b"-----BEGIN"):
            data = x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
        return asn1_x509.Certificate.load(data)
    raise TypeError(f"unsupported trust root type: {type(certificate).__name__}")


def verify_pdf(pdf_bytes: bytes, trust_roots=()) -> VerifyResult:
    """Validate the PDF's signature offline against the given trust roots; never raises on bad input."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        signatures = reader.embedded_signatures
    except Exception as error:  # a damaged file is an invalid certificate, not a crash
        return VerifyResult(valid=False, intact=False, problems=[f"unreadable PDF: {error}"])
    if len(signatures) != 1:
        return VerifyResult(valid=False, intact=False, problems=[f"expected one signature, found {len(signatures)}"])
    embedded = signatures[0]
    context = ValidationContext(trust_roots=[_as_asn1(root) for root in trust_roots], allow_fetching=False,
                                revocation_mode="soft-fail")
    try:
        status = _outside_event_loop(validate_pdf_signature, embedded, context)
    except Exception as error:
        return VerifyResult(valid=False, intact=False, problems=[f"validation failed: {error}"])
    problems = []
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    if not status.intact:
        problems.append("the signed bytes were changed")
    if not status.valid:
        problems.append("the signature value does not verify")
    if not status.trusted:
        problems.append("the signer is not trusted")
    if not whole:
        problems.append("the file was changed or extended after signing")
    if status.modification_level not in (None, ModificationLevel.NONE):
        problems.append(f"modifications after signing: {status.modification_level.name}")
    signed = embedded.sig_object
    return VerifyResult(
        valid=bool(status.bottom_line and whole and not problems),
        intact=bool(status.intact),
        signer=status.signing_cert.subject.human_friendly,
        trusted=bool(status.trusted),
        covers_whole_file=whole,
        signed_at=embedded.self_reported_timestamp,
        timestamped_at=status.timestamp_validity.timestamp if status.timestamp_validity is not None else None,
        reason=str(signed.get("/Reason", "")),
        location=str(signed.get("/Location", "")),
        problems=problems,
    )
