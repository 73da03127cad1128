"""The data folder is the user's only: the folder 0700, the store's and the table's files 0600.

New files are made that way (the store creates its file 0600, dynalite runs under umask 077);
files an older runtime left readable by others are tightened here, with a warning naming them.
"""

from __future__ import annotations

import logging
import stat
from pathlib import Path

logger = logging.getLogger("local.files")

FOLDER_MODE = 0o700
FILE_MODE = 0o600
STORE_FILES = ("executions.db", "executions.db-wal", "executions.db-shm")
TABLE_FOLDER = "dynamodb"


def make_private(data_dir: Path) -> None:
    """Create `data_dir` 0700 if missing; tighten it, its store and its table files where looser."""
    data_dir.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    _tighten(data_dir, FOLDER_MODE)
    table = data_dir / TABLE_FOLDER
    if table.is_dir():
        _tighten(table, FOLDER_MODE)
    files = [data_dir / name for name in STORE_FILES]
    files += sorted(table.iterdir()) if table.is_dir() else []
    for path in files:
        if path.is_file() and not path.is_symlink():
            _tighten(path, FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current & ~mode:
        path.chmod(mode)
        logger.warning("%s was readable by others (mode %o): now %o", path, current, mode)
