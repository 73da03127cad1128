"""Damaged local state found before it is used: one line naming the file and what to do, nothing deleted.

The store (`executions.db`) and the table's LevelDB folder (`dynamodb/`) are checked before they
are opened. Both libraries would otherwise decide by themselves: SQLite opens an emptied file as
a new, empty database, and LevelDB, finding no `CURRENT`, creates a new database in the folder
and deletes the old table files as obsolete. What these checks cannot see (a damaged block deep
in a table file) LevelDB reports as `Corruption` when it reads it, and dynalite exits: the twin
then stops on that line instead of restarting it (local/dynamodb_twin.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

SQLITE_HEADER = b"SQLite format 3\x00"
# The last 8 bytes of every LevelDB table file (table/format.h, kTableMagicNumber, little-endian).
LEVELDB_TABLE_MAGIC = bytes.fromhex("57fb808b247547db")
# A MANIFEST's first record: a 7-byte header (crc32c, length, type FULL or FIRST), then the
# version edit naming its comparator (tag 1, length 26).
MANIFEST_COMPARATOR = b"\x01\x1aleveldb.BytewiseComparator"
LEVELDB_CORRUPTION = ("Corruption:", "LEVEL_CORRUPTION")
# The MANIFEST is a log (db/log_format.h): 32 KiB blocks of records, each a 7-byte header
# (crc32c, length, type) and its data; a record too long for a block is cut in pieces.
LOG_BLOCK_SIZE = 32768
LOG_HEADER_SIZE = 7
LOG_ZERO, LOG_FULL, LOG_FIRST, LOG_MIDDLE, LOG_LAST = range(5)
# Each record is a version edit (db/version_edit.cc): tagged fields, numbers as varints.
COMPARATOR, LOG_NUMBER, NEXT_FILE_NUMBER, LAST_SEQUENCE, COMPACT_POINTER, DELETED_FILE, NEW_FILE = range(1, 8)
PREV_LOG_NUMBER = 9
_TABLE_DATA = re.compile(r"^(\d+\.(ldb|sst|log)|MANIFEST-\d+)$")
_MANIFEST_NAME = re.compile(r"^MANIFEST-\d+$")


class DamagedStateError(Exception):
    """The runtime's data is damaged: the message names the file and what to do."""


def store_damaged(database: Path, what: str) -> DamagedStateError:
    return DamagedStateError(
        f"the execution store {database} is damaged ({what}). Nothing was changed: restore it from "
        "a backup, or move it away (with its -wal and -shm files) to start with no executions."
    )


def table_damaged(path: Path, what: str) -> DamagedStateError:
    folder = path if path.is_dir() else path.parent
    return DamagedStateError(
        f"the table's files are damaged: {path} ({what}). Nothing was changed: restore {folder} from "
        "a backup, or move it away to start with an empty table."
    )


def check_store_file(database: Path) -> None:
    """Refuse an `executions.db` that is not an SQLite database, or was emptied; a missing one is new."""
    if not database.exists():
        return
    with database.open("rb") as file:
        header = file.read(len(SQLITE_HEADER))
    if not header:
        # Empty with a write-ahead log beside it: killed before its first checkpoint, SQLite recovers it.
        wal = database.with_name(database.name + "-wal")
        if not (wal.exists() and wal.stat().st_size > 0):
            raise store_damaged(database, "the file is empty")
        return
    if header != SQLITE_HEADER:
        raise store_damaged(database, "not an SQLite database")


def check_table_folder(folder: Path) -> None:
    """Refuse a LevelDB folder that holds table data LevelDB would not open as it stands."""
    if not folder.is_dir():
        return
    names = {path.name for path in folder.iterdir()}
    if not any(_TABLE_DATA.match(name) for name in names):
        return  # a new folder, or one LevelDB has not written to yet
    current = folder / "CURRENT"
    if "CURRENT" not in names:
        raise table_damaged(current, "missing; LevelDB would start an empty table and delete the old files")
    manifest_name = current.read_bytes().decode("ascii", errors="replace").strip()
    if not _MANIFEST_NAME.match(manifest_name):
        raise table_damaged(current, f"names no MANIFEST file: {manifest_name[:40]!r}")
    manifest = folder / manifest_name
    if not manifest.is_file():
        raise table_damaged(current, f"names {manifest_name}, which is missing")
    record = manifest.read_bytes()[:64]
    if (
        len(record) < 7 + len(MANIFEST_COMPARATOR)
        or record[6] not in (1, 2)
        or not record[7:].startswith(MANIFEST_COMPARATOR)
    ):
        raise table_damaged(manifest, "not a LevelDB manifest")
    try:
        live = live_table_files(manifest.read_bytes())
    except ValueError as error:
        raise table_damaged(manifest, f"not a LevelDB manifest: {error}") from None
    # Only the files the MANIFEST lists are the table. Any other is left over from a compaction
    # cut short (a kill while LevelDB wrote it): LevelDB deletes it as obsolete when it opens.
    for number in sorted(live):
        path = next(
            (folder / name for name in (f"{number:06d}.ldb", f"{number:06d}.sst") if name in names), None
        )
        if path is None:
            raise table_damaged(folder / f"{number:06d}.ldb", f"missing, though {manifest_name} lists it")
        if not _ends_with_table_magic(path):
            raise table_damaged(path, "truncated or not a LevelDB table file")


def live_table_files(manifest: bytes) -> set[int]:
    """The numbers of the table files a MANIFEST's version edits leave live (db/version_edit.cc),
    read from its log records (db/log_format.h). A record cut short at the end, as a kill leaves
    it, ends the edits, as LevelDB reads it; ValueError for an edit it could not read."""
    live: set[tuple[int, int]] = set()
    for edit in _log_records(manifest):
        for tag, level, number in _file_changes(edit):
            if tag == NEW_FILE:
                live.add((level, number))
            else:
                live.discard((level, number))
    return {number for _, number in live}


def _log_records(log: bytes) -> Iterator[bytes]:
    record = b""
    block_start = 0
    while block_start < len(log):
        block = log[block_start : block_start + LOG_BLOCK_SIZE]
        offset = 0
        while offset + LOG_HEADER_SIZE <= len(block):
            length = int.from_bytes(block[offset + 4 : offset + 6], "little")
            kind = block[offset + 6]
            payload = block[offset + LOG_HEADER_SIZE : offset + LOG_HEADER_SIZE + length]
            if len(payload) < length:
                return  # cut short at the end
            offset += LOG_HEADER_SIZE + length
            if kind == LOG_ZERO:
                continue
            if kind == LOG_FULL:
                yield payload
            elif kind == LOG_FIRST:
                record = payload
            elif kind == LOG_MIDDLE:
                record += payload
            elif kind == LOG_LAST:
                yield record + payload
                record = b""
            else:
                raise ValueError(f"a log record of unknown type {kind}")
        block_start += LOG_BLOCK_SIZE


def _file_changes(edit: bytes) -> Iterator[tuple[int, int, int]]:
    """(tag, level, file number) of each file a version edit adds or deletes."""
    offset = 0
    while offset < len(edit):
        tag, offset = _varint(edit, offset)
        if tag in (LOG_NUMBER, NEXT_FILE_NUMBER, LAST_SEQUENCE, PREV_LOG_NUMBER):
            _, offset = _varint(edit, offset)
        elif tag == COMPARATOR:
            offset = _skip_slice(edit, offset)
        elif tag == COMPACT_POINTER:
            _, offset = _varint(edit, offset)
            offset = _skip_slice(edit, offset)
        elif tag in (DELETED_FILE, NEW_FILE):
            level, offset = _varint(edit, offset)
            number, offset = _varint(edit, offset)
            if tag == NEW_FILE:
                _, offset = _varint(edit, offset)  # the file's size
                offset = _skip_slice(edit, _skip_slice(edit, offset))  # its smallest and largest keys
            yield tag, level, number
        else:
            raise ValueError(f"a version edit with unknown tag {tag}")


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while offset < len(data) and shift <= 63:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7
    raise ValueError("a number cut short")


def _skip_slice(data: bytes, offset: int) -> int:
    length, offset = _varint(data, offset)
    if offset + length > len(data):
        raise ValueError("a string cut short")
    return offset + length


def _ends_with_table_magic(path: Path) -> bool:
    with path.open("rb") as file:
        size = file.seek(0, 2)
        if size < len(LEVELDB_TABLE_MAGIC):
            return False
        file.seek(size - len(LEVELDB_TABLE_MAGIC))
        return file.read() == LEVELDB_TABLE_MAGIC


def leveldb_corruption(output: list[str]) -> str | None:
    """The line where LevelDB reported a damaged file in dynalite's output, if it did."""
    return next((line.strip() for line in output if any(mark in line for mark in LEVELDB_CORRUPTION)), None)


def empty_store_warning(database: Path, executions: int, table: str, table_holds_items: bool) -> str | None:
    """A warning when the store holds no execution while the table holds calculations."""
    if executions or not table_holds_items:
        return None
    return (
        f"the execution store {database} holds no execution, but the table ({table}) holds "
        "calculations: their history, stop and delete will answer as if they were unknown. If "
        "executions.db was replaced or emptied, stop and restore it from a backup."
    )
