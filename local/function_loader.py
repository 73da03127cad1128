"""How the local runtime loads a function's handler, as Lambda does from the function's package root.

A handler reference is written one way everywhere: `module:function`. The module is imported
with the function's folder first on the import path; the shared layer (functions/shared) is
already there, put once by local/__init__.py.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HANDLER_REFERENCE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
HANDLER_RULE = "must be module:function"


class HandlerLoadError(Exception):
    """The handler's module cannot be imported, or has no such function."""


def load_handler(reference: str, folder: Path, *, keep_folder: bool = False) -> Callable[..., Any]:
    """Import `module:function` from `folder`.

    The folder leaves the import path once the module is loaded unless `keep_folder`: functions
    sharing one process (the durable function and the projector) then see only their own
    package, as each does in Lambda, and the API workers (spawned, inheriting the path) none.
    """
    if not HANDLER_REFERENCE.match(reference):
        raise HandlerLoadError(f"{reference!r} {HANDLER_RULE}")
    module_name, function_name = reference.split(":")
    sys.path.insert(0, str(folder))
    try:
        return getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as error:
        raise HandlerLoadError(f"cannot load the handler {reference} from {folder}: {error}") from error
    finally:
        if not keep_folder:
            sys.path.remove(str(folder))
