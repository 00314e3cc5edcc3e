"""Files kept on the server between "check" and "import now" (roster, question banks).

The browser holds only a random token; the file and who uploaded it stay in a private folder for at
most an hour. Claiming renames the file before reading it, so two clicks cannot import it twice.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import time
from pathlib import Path

MAX_AGE_S = 3600
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}$")


def _private_write(path: Path, data: bytes) -> None:
    """Write a file only its owner can read: uploads hold personal data."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "wb") as out:
        out.write(data)


def store_upload(folder: Path, data: bytes, *, user_id: int, meta: dict | None = None) -> str:
    """Keep `data` for `user_id` with its `meta` (JSON-able); returns the token."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    _private_write(folder / f"{token}.bin", data)
    record = {**(meta or {}), "user_id": user_id, "stored_at": time.time()}
    _private_write(folder / f"{token}.json", json.dumps(record, ensure_ascii=False).encode("utf-8"))
    return token


def discard_upload(folder: Path, token: str) -> None:
    for suffix in (".bin", ".json", ".claimed"):
        (folder / f"{token}{suffix}").unlink(missing_ok=True)


def claim_upload(folder: Path, token: str | None, *, user_id: int) -> tuple[bytes, dict] | None:
    """Take a stored file: a well-formed token, this user's, under an hour old; else None. Returns
    (data, meta) and deletes the stored copy."""
    if not token or not TOKEN_PATTERN.match(token):
        return None
    data_path, meta_path, claimed = folder / f"{token}.bin", folder / f"{token}.json", folder / f"{token}.claimed"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("user_id") != user_id:
            return None
        if data_path.stat().st_mtime < time.time() - MAX_AGE_S:
            discard_upload(folder, token)
            return None
        data_path.rename(claimed)
        data = claimed.read_bytes()
    except (OSError, ValueError):
        return None
    discard_upload(folder, token)
    return data, meta


def purge_uploads(folder: Path) -> None:
    """Forget files nobody imported within the hour."""
    if not folder.is_dir():
        return
    limit = time.time() - MAX_AGE_S
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass  # another request removed it first
