"""The local API endpoint's API keys, and the check the deployed stage makes before calling the API.

Keys live in `<data-dir>/api-keys.json`, `{"keys": [{"id": ..., "name": ..., "value": ...}]}`
(mode 0600), created with one key named "default" on first run. Ids look like API Gateway's
(10 lowercase letters and digits); values are 40 random URL-safe characters. With no data
folder (`--store memory`) the keys are made for the run and kept in memory only. A file that
is not what it should be stops start-up and is left as it is.

As deployed (template.yaml: Auth ApiKeyRequired, AddApiKeyRequiredToCorsPreflight false, the
Swagger route ApiKeyRequired false), every request needs a known key in `x-api-key` except
`GET /swagger` and CORS preflights (OPTIONS); a request with one then passes the usage plan.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from local.usage_plan import DEFAULT_BURST, DEFAULT_QUOTA, DEFAULT_RATE, UsagePlan

KEYS_FILE = "api-keys.json"
DEFAULT_KEY_NAME = "default"
NAME_RULE = "must be 1-128 of A-Z a-z 0-9 _ -"
INVALID_API_KEY = "INVALID_API_KEY"

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


class Refused(Exception):
    """The gateway answers this request itself with the gateway response `response_type`."""

    def __init__(self, response_type: str) -> None:
        super().__init__(response_type)
        self.response_type = response_type


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


class KeyGate:
    """What the deployed stage checks before the API function runs: the key, then the usage plan."""

    def __init__(self, keys: Iterable[ApiKey], plan: UsagePlan) -> None:
        self._by_value = {key.value: key for key in keys}
        self._plan = plan

    def admit(self, method: str, resource: str, api_key: str | None) -> ApiKey | None:
        """The caller's key (None on a route that needs none); Refused when the gateway answers."""
        if method == "OPTIONS" or (method == "GET" and resource.startswith(("/swagger", "/console"))):
            return None
        key = self._by_value.get(api_key) if api_key is not None else None
        if key is None:
            raise Refused(INVALID_API_KEY)
        refusal = self._plan.admit(key.id)
        if refusal is not None:
            raise Refused(refusal)
        return key


@dataclass(frozen=True)
class KeyOptions:
    """`python -m local`'s key flags: names to add at start-up and the usage plan's limits."""

    add_names: tuple[str, ...] = ()
    rate: float = DEFAULT_RATE
    burst: int = DEFAULT_BURST
    quota: int = DEFAULT_QUOTA


def key_name(value: str) -> str:
    if not is_key_name(value):
        raise argparse.ArgumentTypeError(f"{NAME_RULE}, got {value!r}")
    return value


def positive_number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {value!r}")
    return number


def at_least_one(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {value!r}")
    return int(value)


# Flag destination: its variable, default and parser.
_LIMITS: dict[str, tuple[str, float, Any]] = {
    "api_rate": ("LOCAL_API_RATE", DEFAULT_RATE, positive_number),
    "api_burst": ("LOCAL_API_BURST", DEFAULT_BURST, at_least_one),
    "api_quota": ("LOCAL_API_QUOTA", DEFAULT_QUOTA, at_least_one),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The key flags; `key_options` reads them, and their LOCAL_API_* variables, once parsed."""
    parser.add_argument(
        "--add-api-key",
        metavar="NAME",
        dest="add_api_keys",
        action="append",
        type=key_name,
        default=[],
        help=f"add an API key called NAME to the data folder's keys at start-up; a name that has "
        f"one already keeps it (repeatable; NAME {NAME_RULE})",
    )
    parser.add_argument(
        "--api-rate",
        type=positive_number,
        help=f"usage plan: steady requests per second per API key (default {DEFAULT_RATE:g})",
    )
    parser.add_argument(
        "--api-burst", type=at_least_one, help=f"usage plan: burst per API key (default {DEFAULT_BURST})"
    )
    parser.add_argument(
        "--api-quota",
        type=at_least_one,
        help=f"usage plan: requests per UTC day per API key (default {DEFAULT_QUOTA})",
    )


def key_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> KeyOptions:
    """Flags win over the LOCAL_API_RATE, LOCAL_API_BURST and LOCAL_API_QUOTA variables, then the defaults."""
    limits: dict[str, Any] = {}
    for dest, (variable, default, parse) in _LIMITS.items():
        limits[dest] = getattr(args, dest)
        if limits[dest] is None:
            text = os.environ.get(variable)
            try:
                limits[dest] = parse(text) if text else default
            except argparse.ArgumentTypeError as error:
                parser.error(f"{variable} {error}")
    return KeyOptions(
        tuple(dict.fromkeys(args.add_api_keys)), limits["api_rate"], limits["api_burst"], limits["api_quota"]
    )


def banner_lines(keys: list[ApiKey], options: KeyOptions) -> list[str]:
    """The start-up banner's lines about keys: each key's name and value, and the usage plan."""
    lines = ["  API keys         send one as x-api-key (every route but GET /swagger and preflights)"]
    lines += [f"    {key.name:<14} {key.value}" for key in keys] or [
        "    none: add one with --add-api-key NAME"
    ]
    lines.append(
        f"  Usage plan       {options.rate:g} requests/s, burst {options.burst}, "
        f"{options.quota} a day, per key"
    )
    return lines
