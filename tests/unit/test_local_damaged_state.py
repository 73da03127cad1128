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
)

# A MANIFEST's first record as LevelDB writes it: crc32c, length 28, type FULL, then the comparator.
MANIFEST = bytes.fromhex("56f9b8f81c0001") + b"\x01\x1aleveldb.BytewiseComparator" + b"\x00" * 20
TABLE_FILE_END = bytes.fromhex("57fb808b247547db")


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
