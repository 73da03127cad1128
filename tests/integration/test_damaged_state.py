"""Damaged local state stops start-up with one line naming the file and what to do, and changes
nothing; an empty store beside a table with calculations is warned about; the data folder is the
user's only (0700, its store and table files 0600)."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from runtime_process import LocalRuntime, local_lambda_client
from test_local_table import TABLE, dynamodb

STORE = "executions.db"
TABLE_FOLDER = "dynamodb"


@pytest.fixture(scope="module")
def used_data_dir(local_runtime, tmp_path_factory) -> Path:
    """A data folder with one calculation in its store and table, its table flushed to a .ldb file."""
    if local_runtime is None:
        pytest.skip("needs local control of the runtime")
    folder = tmp_path_factory.mktemp("used")
    runtime = LocalRuntime(folder / "data", folder / "runtime.log").start()
    local_lambda_client(runtime.lambda_url).invoke(
        FunctionName="math-durable:live", DurableExecutionName="kept", Payload=b'{"num1": 1, "num2": 2}'
    )
    # Items enough for the table file to hold many blocks: a read of one item does not read them all.
    table = dynamodb(runtime.urls["DynamoDB"])
    for n in range(200):
        table.put_item(TableName=TABLE, Item={"executionName": {"S": f"filler-{n}"}, "pad": {"S": "x" * 300}})
    assert runtime.stop() == 0
    # LevelDB moves its log into a table file when it opens the folder again.
    assert runtime.start().stop() == 0
    assert list((folder / "data" / TABLE_FOLDER).glob("*.ldb"))
    return folder / "data"


@pytest.fixture
def data_dir(used_data_dir, tmp_path) -> Path:
    """A copy of the used data folder, for one test to damage."""
    copy = tmp_path / "data"
    shutil.copytree(used_data_dir, copy)
    return copy


def contents(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def refused_start(data_dir: Path) -> tuple[int, str]:
    """Start a runtime on `data_dir` that must refuse to start: its exit code and its last line."""
    runtime = LocalRuntime(data_dir, data_dir.parent / "runtime.log")
    with pytest.raises(RuntimeError, match="the local runtime exited"):
        runtime.start()
    assert runtime.process is not None
    assert "Traceback" not in runtime.run_output()
    return runtime.process.returncode, runtime.run_output().strip().splitlines()[-1]


def test_a_garbage_store_stops_start_up_naming_it(data_dir):
    # Given a data folder whose executions.db is garbage
    store = data_dir / STORE
    store.write_bytes(b"this is not a database" * 200)
    before = store.read_bytes()

    # When the runtime starts on it
    code, line = refused_start(data_dir)

    # Then it exits non-zero with one line naming the file and what to do, the file untouched
    assert code != 0
    assert line.startswith(f"error: the execution store {store} is damaged (not an SQLite database).")
    assert "restore it from a backup" in line
    assert store.read_bytes() == before


def test_a_truncated_store_stops_start_up_naming_it(data_dir):
    # Given a data folder whose executions.db lost its last page
    store = data_dir / STORE
    store.write_bytes(store.read_bytes()[:-4096])
    before = store.read_bytes()

    # When the runtime starts on it
    code, line = refused_start(data_dir)

    # Then it exits non-zero naming the file, the file untouched
    assert code != 0
    assert line.startswith(f"error: the execution store {store} is damaged (")
    assert store.read_bytes() == before


def test_a_store_with_a_garbage_page_inside_stops_start_up_naming_it(data_dir):
    # Given a data folder whose executions.db has garbage over its fourth page (an index's), which
    # a read of the executions does not meet
    store = data_dir / STORE
    damaged = bytearray(store.read_bytes())
    damaged[3 * 4096 : 4 * 4096] = b"\xa5" * 4096
    store.write_bytes(bytes(damaged))

    # When the runtime starts on it
    code, line = refused_start(data_dir)

    # Then SQLite's own check finds it: the runtime exits non-zero naming the file, untouched
    assert code != 0
    assert line.startswith(f"error: the execution store {store} is damaged (Page 4: ")
    assert store.read_bytes() == bytes(damaged)


def test_an_emptied_store_stops_start_up_instead_of_starting_empty(data_dir):
    # Given a data folder whose executions.db was emptied
    store = data_dir / STORE
    store.write_bytes(b"")

    # When the runtime starts on it
    code, line = refused_start(data_dir)

    # Then it exits non-zero naming the file, which stays empty
    assert code != 0
    assert line.startswith(f"error: the execution store {store} is damaged (the file is empty).")
    assert store.read_bytes() == b""


def test_a_missing_current_file_stops_start_up_and_keeps_the_table_files(data_dir):
    # Given a table folder that lost its CURRENT file
    table = data_dir / TABLE_FOLDER
    (table / "CURRENT").unlink()
    before = contents(table)

    # When the runtime starts on it
    code, line = refused_start(data_dir)

    # Then it exits non-zero naming CURRENT, and LevelDB deleted none of the table's files
    assert code != 0
    assert line.startswith(f"error: the table's files are damaged: {table / 'CURRENT'} (missing;")
    assert contents(table) == before


def test_a_garbage_manifest_stops_start_up_naming_it(data_dir):
    # Given a table folder whose MANIFEST is garbage
    table = data_dir / TABLE_FOLDER
    manifest = table / (table / "CURRENT").read_text().strip()
    manifest.write_bytes(b"\xff" * 300)
    before = contents(table)

    # When the runtime starts on it
    code, line = refused_start(data_dir)

    # Then it exits non-zero naming the MANIFEST, nothing changed
    assert code != 0
    assert line.startswith(f"error: the table's files are damaged: {manifest} (not a LevelDB manifest).")
    assert contents(table) == before


def test_a_truncated_table_file_stops_start_up_naming_it(data_dir):
    # Given a table folder whose .ldb file lost its end
    ldb = next((data_dir / TABLE_FOLDER).glob("*.ldb"))
    ldb.write_bytes(ldb.read_bytes()[:-100])

    # When the runtime starts on it
    code, line = refused_start(data_dir)

    # Then it exits non-zero naming the file
    assert code != 0
    assert line.startswith(
        f"error: the table's files are damaged: {ldb} (truncated or not a LevelDB table file)."
    )


def test_a_table_file_damaged_inside_stops_start_up_on_leveldbs_own_report(data_dir):
    # Given a table folder whose .ldb file has garbage in a block in its middle (its end intact)
    ldb = next((data_dir / TABLE_FOLDER).glob("*.ldb"))
    damaged = bytearray(ldb.read_bytes())
    middle = len(damaged) // 2
    damaged[middle : middle + 400] = b"\xa5" * 400
    ldb.write_bytes(bytes(damaged))

    # When the runtime starts on it
    code, line = refused_start(data_dir)

    # Then it exits non-zero with LevelDB's corruption line, naming the folder; the file is kept
    assert code != 0
    assert line.startswith(f"error: the table's files are damaged: {data_dir / TABLE_FOLDER} (LevelDB:")
    assert "Corruption" in line
    assert ldb.read_bytes() == bytes(damaged)


def test_an_empty_store_beside_a_table_with_calculations_is_warned_about(data_dir):
    # Given a data folder whose store was removed, its table kept
    for suffix in ("", "-wal", "-shm"):
        (data_dir / f"{STORE}{suffix}").unlink(missing_ok=True)

    # When the runtime starts on it
    runtime = LocalRuntime(data_dir, data_dir.parent / "runtime.log").start()
    runtime.stop()

    # Then it warns, naming both
    assert (
        f"the execution store {data_dir / STORE} holds no execution, but the table "
        f"({data_dir / TABLE_FOLDER}) holds calculations"
    ) in runtime.run_output()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def private_files(data_dir: Path) -> list[Path]:
    return [data_dir / name for name in (STORE, f"{STORE}-wal", f"{STORE}-shm")] + [
        path for path in (data_dir / TABLE_FOLDER).iterdir() if path.is_file()
    ]


def test_a_new_data_folder_is_the_users_only(needs_local, tmp_path):
    # When a runtime starts on a new data folder
    data_dir = tmp_path / "data"
    runtime = LocalRuntime(data_dir, tmp_path / "runtime.log").start()
    try:
        # Then the folders are 0700, and the store's and table's files 0600
        assert (mode(data_dir), mode(data_dir / TABLE_FOLDER)) == (0o700, 0o700)
        assert {path.name: mode(path) for path in private_files(data_dir)} == {
            path.name: 0o600 for path in private_files(data_dir)
        }
    finally:
        runtime.stop()


def test_a_data_folder_readable_by_others_is_tightened_with_a_warning(data_dir):
    # Given a data folder, its store and its table files readable by others
    data_dir.chmod(0o755)
    (data_dir / STORE).chmod(0o644)
    for path in (data_dir / TABLE_FOLDER).iterdir():
        path.chmod(0o644)

    # When the runtime starts on it
    runtime = LocalRuntime(data_dir, data_dir.parent / "runtime.log").start()
    runtime.stop()

    # Then each is tightened, with a warning naming it
    assert mode(data_dir) == 0o700
    assert all(mode(path) == 0o600 for path in private_files(data_dir) if path.exists())
    assert f"{data_dir} was readable by others (mode 755): now 700" in runtime.run_output()
    assert f"{data_dir / STORE} was readable by others (mode 644): now 600" in runtime.run_output()


def test_a_table_file_found_damaged_while_running_stops_the_runtime_instead_of_restarting(data_dir):
    # Given a runtime started on a sound data folder, whose table file is then damaged in place
    runtime = LocalRuntime(data_dir, data_dir.parent / "runtime.log").start()
    table = data_dir / TABLE_FOLDER
    for ldb in table.glob("*.ldb"):
        with ldb.open("r+b") as file:
            file.seek(ldb.stat().st_size // 2)
            file.write(b"\xa5" * 400)

    # When a read meets the damaged block (dynalite exits on it)
    with pytest.raises((ClientError, BotoCoreError)):
        dynamodb(runtime.urls["DynamoDB"]).scan(TableName=TABLE)

    # Then the runtime stops with LevelDB's corruption line naming the folder, and restarts nothing
    assert runtime.process is not None
    assert runtime.process.wait(timeout=30) != 0
    line = runtime.run_output().strip().splitlines()[-1]
    assert line.startswith(f"error: the table's files are damaged: {table} (LevelDB:")
    assert "restarting dynalite" not in runtime.run_output()
