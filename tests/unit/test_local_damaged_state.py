"""The local runtime's checks of its data files before it opens them."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from local.damaged_state import (
    DamagedStateError,
    check_store_file,
    check_table_folder,
    empty_store_warning,
    leveldb_corruption,
    live_table_files,
)

TABLE_FILE_END = bytes.fromhex("57fb808b247547db")


def varint(value: int) -> bytes:
    out = b""
    while value >= 0x80:
        out += bytes([value & 0x7F | 0x80])
        value >>= 7
    return out + bytes([value])


def length_prefixed(data: bytes) -> bytes:
    return varint(len(data)) + data


def new_file(level: int, number: int) -> bytes:
    """A version edit's field adding table file `number` at `level` (size and key range made up)."""
    return (
        varint(7)
        + varint(level)
        + varint(number)
        + varint(4096)
        + length_prefixed(b"a" * 9)
        + length_prefixed(b"z" * 9)
    )


def deleted_file(level: int, number: int) -> bytes:
    return varint(6) + varint(level) + varint(number)


def record(kind: int, data: bytes) -> bytes:
    """A log record as LevelDB writes it (the checksum is not read)."""
    return b"\x00\x00\x00\x00" + len(data).to_bytes(2, "little") + bytes([kind]) + data


# The first edit names the comparator and the log; the next adds table file 5 (FULL records).
FIRST_EDIT = varint(1) + length_prefixed(b"leveldb.BytewiseComparator") + varint(2) + varint(6)
MANIFEST = record(1, FIRST_EDIT) + record(1, new_file(0, 5) + varint(3) + varint(7) + varint(4) + varint(90))


@pytest.fixture
def table(tmp_path) -> Path:
    """A LevelDB folder as LevelDB leaves it: CURRENT naming a MANIFEST, a table file and a log."""
    folder = tmp_path / "dynamodb"
    folder.mkdir()
    (folder / "CURRENT").write_text("MANIFEST-000004\n")
    (folder / "MANIFEST-000004").write_bytes(MANIFEST)
    (folder / "000005.ldb").write_bytes(b"\x00" * 100 + TABLE_FILE_END)
    (folder / "000006.log").write_bytes(b"")
    return folder


def test_a_sound_table_folder_passes(table):
    check_table_folder(table)


def test_a_new_or_missing_table_folder_passes(tmp_path):
    check_table_folder(tmp_path / "absent")
    (tmp_path / "new").mkdir()
    check_table_folder(tmp_path / "new")


def test_a_table_folder_without_current_is_refused_naming_it(table):
    (table / "CURRENT").unlink()
    with pytest.raises(DamagedStateError, match=r"damaged: .*/CURRENT \(missing;"):
        check_table_folder(table)


def test_a_current_naming_a_missing_manifest_is_refused(table):
    (table / "MANIFEST-000004").unlink()
    with pytest.raises(DamagedStateError, match=r"CURRENT \(names MANIFEST-000004, which is missing\)"):
        check_table_folder(table)


def test_a_current_naming_no_manifest_is_refused(table):
    (table / "CURRENT").write_bytes(b"\x00garbage")
    with pytest.raises(DamagedStateError, match=r"CURRENT \(names no MANIFEST file"):
        check_table_folder(table)


@pytest.mark.parametrize("manifest", [b"", os.urandom(64), MANIFEST[:6] + b"\x05" + MANIFEST[7:]])
def test_a_garbage_manifest_is_refused(table, manifest):
    (table / "MANIFEST-000004").write_bytes(manifest)
    with pytest.raises(DamagedStateError, match=r"MANIFEST-000004 \(not a LevelDB manifest\)"):
        check_table_folder(table)


def test_a_table_file_without_its_end_is_refused(table):
    (table / "000005.ldb").write_bytes(b"\x00" * 100)
    with pytest.raises(DamagedStateError, match=r"000005.ldb \(truncated or not a LevelDB table file\)"):
        check_table_folder(table)


def test_a_table_file_the_manifest_lists_but_the_folder_lacks_is_refused(table):
    (table / "000005.ldb").unlink()
    with pytest.raises(DamagedStateError, match=r"000005.ldb \(missing, though MANIFEST-000004 lists it\)"):
        check_table_folder(table)


def test_a_file_left_by_a_compaction_cut_short_is_not_the_table_and_passes(table):
    # Given a kill while LevelDB wrote a compaction's output: a table file the MANIFEST does not list
    (table / "000007.ldb").write_bytes(b"\x00" * 100)

    # Then the folder is sound: LevelDB deletes that file as obsolete when it opens
    check_table_folder(table)


def fields_of(size: int) -> bytes:
    """An edit's fields of exactly `size` bytes: last-sequence numbers, which change no file."""
    fields = (varint(4) + varint(1)) * (size // 2)
    return fields if size % 2 == 0 else fields[:-2] + varint(4) + varint(200)


def test_live_files_follow_the_edits_across_a_record_split_between_blocks():
    # Given edits adding files 5 and 8, then, filling the block to its last 107 bytes, an edit
    # that changes no file
    start = record(1, FIRST_EDIT) + record(1, new_file(0, 5) + new_file(1, 8))
    start += record(1, fields_of(32768 - len(start) - 7 - 107))
    # And an edit ending by deleting 5 and adding 9, too long for those 107 bytes: its first 100
    # end the block (a FIRST piece), the rest, with both changes, begin the next (a LAST piece)
    edit = fields_of(300) + deleted_file(0, 5) + new_file(1, 9)
    manifest = start + record(2, edit[:100]) + record(4, edit[100:])
    assert len(start + record(2, edit[:100])) == 32768

    # Then the files live are those the edits leave, read across the pieces
    assert live_table_files(manifest) == {8, 9}


def test_a_record_cut_short_at_the_end_ends_the_edits_as_leveldb_reads_it():
    whole = record(1, FIRST_EDIT) + record(1, new_file(0, 5))
    assert live_table_files(whole + record(1, new_file(0, 6))[:-3]) == {5}


def test_an_edit_with_an_unknown_tag_is_a_damaged_manifest(table):
    (table / "MANIFEST-000004").write_bytes(MANIFEST + record(1, varint(42) + varint(1)))
    with pytest.raises(
        DamagedStateError, match=r"MANIFEST-000004 \(not a LevelDB manifest: .*unknown tag 42\)"
    ):
        check_table_folder(table)


def test_leveldbs_corruption_line_is_found_in_dynalites_output():
    output = ["node:events:502", "      throw er;", "Error: Corruption: bad block type", "  code: 'X'"]
    assert leveldb_corruption(output) == "Error: Corruption: bad block type"
    assert leveldb_corruption(["Dynalite listening at: http://127.0.0.1:1"]) is None


def test_a_missing_store_is_new(tmp_path):
    check_store_file(tmp_path / "executions.db")


def test_an_sqlite_store_passes(tmp_path):
    database = tmp_path / "executions.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE t (a)")
    check_store_file(database)


def test_an_emptied_store_is_refused_but_not_one_whose_log_holds_its_data(tmp_path):
    database = tmp_path / "executions.db"
    database.write_bytes(b"")
    with pytest.raises(DamagedStateError, match=r"executions.db is damaged \(the file is empty\)"):
        check_store_file(database)
    (tmp_path / "executions.db-wal").write_bytes(b"\x37\x7f\x06\x82" + b"\x00" * 28)
    check_store_file(database)


def test_a_store_that_is_not_sqlite_is_refused(tmp_path):
    database = tmp_path / "executions.db"
    database.write_bytes(b"SQLite format 2\x00" + b"\x00" * 100)
    with pytest.raises(DamagedStateError, match=r"not an SQLite database\)\. Nothing was changed"):
        check_store_file(database)


def test_an_empty_store_beside_a_table_with_items_is_warned_about_only_then():
    store, table = Path("/data/executions.db"), "/data/dynamodb"
    warning = empty_store_warning(store, executions=0, table=table, table_holds_items=True)
    assert warning is not None
    assert (
        "/data/executions.db holds no execution, but the table (/data/dynamodb) holds calculations" in warning
    )
    assert empty_store_warning(store, executions=0, table=table, table_holds_items=False) is None
    assert empty_store_warning(store, executions=3, table=table, table_holds_items=True) is None
