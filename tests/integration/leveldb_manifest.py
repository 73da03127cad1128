"""Which table files a LevelDB folder's current MANIFEST names as live, and which it has replaced.

The MANIFEST is a log (doc/log_format.md: 32 KiB blocks of records, each behind a 7-byte header:
checksum, length, type) of version edits (db/version_edit.cc): each adds table files to the
database's version and deletes the ones a compaction replaced. A file it deleted is obsolete:
LevelDB removes it from the folder after its next flush or compaction, unless an open iterator
still reads a version that holds it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

BLOCK = 32 * 1024
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
# Version edit tags, and what follows each one.
COMPARATOR, LOG_NUMBER, NEXT_FILE_NUMBER, LAST_SEQUENCE = 1, 2, 3, 4
COMPACT_POINTER, DELETED_FILE, NEW_FILE, PREV_LOG_NUMBER = 5, 6, 7, 9


def table_files(folder: Path) -> set[int]:
    """The numbers of the table files in the folder (`000123.ldb`)."""
    return {int(path.stem) for path in folder.iterdir() if path.suffix in (".ldb", ".sst")}


def manifest_files(folder: Path) -> tuple[set[int], set[int]]:
    """The table files the current MANIFEST names as live, and those it deleted from the database."""
    manifest = folder / (folder / "CURRENT").read_text().strip()
    live: set[int] = set()
    deleted: set[int] = set()
    for edit in _records(manifest.read_bytes()):
        position = 0
        while position < len(edit):
            tag, position = _varint(edit, position)
            if tag == COMPARATOR:
                length, position = _varint(edit, position)
                position += length
            elif tag in (LOG_NUMBER, NEXT_FILE_NUMBER, LAST_SEQUENCE, PREV_LOG_NUMBER):
                _, position = _varint(edit, position)
            elif tag == COMPACT_POINTER:
                _, position = _varint(edit, position)  # level
                length, position = _varint(edit, position)
                position += length
            elif tag == DELETED_FILE:
                _, position = _varint(edit, position)  # level
                number, position = _varint(edit, position)
                live.discard(number)
                deleted.add(number)
            elif tag == NEW_FILE:
                _, position = _varint(edit, position)  # level
                number, position = _varint(edit, position)
                _, position = _varint(edit, position)  # size
                for _key in ("smallest", "largest"):
                    length, position = _varint(edit, position)
                    position += length
                live.add(number)
            else:
                raise ValueError(f"{manifest.name}: unknown version edit tag {tag}")
    return live, deleted


def _records(data: bytes) -> Iterator[bytes]:
    """The log's whole records; a record still being written at its end is left out."""
    position, parts = 0, b""
    while position + HEADER <= len(data):
        if BLOCK - position % BLOCK < HEADER:  # a block's trailer, too short for a header
            position += BLOCK - position % BLOCK
            continue
        length = int.from_bytes(data[position + 4 : position + 6], "little")
        kind = data[position + 6]
        body = data[position + HEADER : position + HEADER + length]
        position += HEADER + length
        if kind not in (FULL, FIRST, MIDDLE, LAST) or len(body) < length:
            return
        parts = body if kind in (FULL, FIRST) else parts + body
        if kind in (FULL, LAST):
            yield parts


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7
