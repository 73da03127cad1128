"""The local API endpoint's API keys and their file.

Keys live in `<data-dir>/api-keys.json`, `{"keys": [{"id": ..., "name": ..., "value": ...}]}`
(mode 0600), created with one key named "default" on first run. Ids look like API Gateway's
(10 lowercase letters and digits); values are 40 random URL-safe characters. With no data
folder (`--store memory`) the keys are made for the run and kept in memory only. A file that
is not what it should be stops start-up and is left as it is.

The check made with them before the API runs is key_gate's; their flags are command_line's.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

KEYS_FILE = "api-keys.json"
DEFAULT_KEY_NAME = "default"
NAME_RULE = "must be 1-128 of A-Z a-z 0-9 _ -"

_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
_ID = re.compile(r"[a-z0-9]{10}")
# API Gateway takes imported key values of 20 to 128 characters; printable ASCII, no spaces, here.
_VALUE = re.compile(r"[!-~]{20,128}")
_ID_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    value: str


class KeysFileError(Exception):
    """The keys file cannot be read or does not hold keys; start-up stops with this message."""


def is_key_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def new_key(name: str, taken_ids: Iterable[str] = ()) -> ApiKey:
    taken = set(taken_ids)
    while (key_id := "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))) in taken:
        pass
    return ApiKey(key_id, name, secrets.token_urlsafe(30))  # 30 bytes: 40 URL-safe characters


def _parse(path: Path, document: Any) -> list[ApiKey]:
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise KeysFileError(f'{path} must hold {{"keys": [{{"id": ..., "name": ..., "value": ...}}]}}')
    keys: list[ApiKey] = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: key {number}"
        if not isinstance(entry, dict) or set(entry) != {"id", "name", "value"}:
            raise KeysFileError(f'{where} must be an object with exactly "id", "name" and "value"')
        key = ApiKey(entry["id"], entry["name"], entry["value"])
        if not (isinstance(key.id, str) and _ID.fullmatch(key.id)):
            raise KeysFileError(f"{where}: id must be 10 of a-z 0-9")
        if not (isinstance(key.name, str) and is_key_name(key.name)):
            raise KeysFileError(f"{where}: name {NAME_RULE}")
        if not (isinstance(key.value, str) and _VALUE.fullmatch(key.value)):
            raise KeysFileError(f"{where}: value must be 20-128 printable ASCII characters, no spaces")
        for field in ("id", "name", "value"):
            if any(getattr(other, field) == getattr(key, field) for other in keys):
                raise KeysFileError(f"{where}: another key has the same {field}")
        keys.append(key)
    return keys


def read_keys(path: Path) -> list[ApiKey]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise KeysFileError(f"{path} cannot be read: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise KeysFileError(f"{path} is not UTF-8 text") from error
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise KeysFileError(f"{path} is not valid JSON ({error})") from error
    return _parse(path, document)


def write_keys(path: Path, keys: list[ApiKey]) -> None:
    """Replace the file in one step, readable by its owner only."""
    partial = path.with_name(f".{path.name}.new")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump({"keys": [asdict(key) for key in keys]}, file, indent=2)
        file.write("\n")
    os.replace(partial, path)


def open_keys(data_dir: Path | None, add_names: Iterable[str] = ()) -> list[ApiKey]:
    """The keys of this run: the file's (created with "default" if missing) plus any new name in `add_names`.

    A name that already has a key is left as it is, so the same command can be run again.
    """
    path = data_dir / KEYS_FILE if data_dir is not None else None
    if path is not None and path.exists():
        keys, names = read_keys(path), list(add_names)
    else:
        keys, names = [], [DEFAULT_KEY_NAME, *add_names]
    changed = False
    for name in names:
        if all(key.name != name for key in keys):
            keys.append(new_key(name, (key.id for key in keys)))
            changed = True
    if changed and path is not None:
        write_keys(path, keys)
    return keys
