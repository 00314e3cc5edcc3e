"""A ZIP written piece by piece to the response, so a ward's 300 PDFs never sit in memory together."""
from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator


class _Sink:
    """A write-only, non-seekable file: zipfile then writes data descriptors, as streaming needs."""

    def __init__(self):
        self.chunks: list[bytes] = []
        self.position = 0

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


def stream_zip(files: Iterable[tuple[str, bytes]]) -> Iterator[bytes]:
    """Yield a ZIP archive of (name, bytes) pairs, one file at a time."""
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in files:
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data)
            yield sink.take()
    yield sink.take()
