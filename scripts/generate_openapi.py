"""Write openapi.yaml from the API's resolver: `make openapi`. The file is never edited by hand.

The document is the one `GET /swagger?format=json` serves: both come from
`openapi_docs.spec_document` (the resolver, the metadata, unused schemas left out), written here
as YAML. `--check` exits 1 when the
committed file differs from a fresh generation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = REPO_ROOT / "openapi.yaml"
HEADER = "# Generated from functions/api by `make openapi`; do not edit by hand.\n"


def document() -> dict[str, Any]:
    """The OpenAPI document as plain JSON data, exactly as the Swagger route serves it.

    The API's modules come from the function folders on the import path (PYTHONPATH, see the
    Makefile); they load here, not at import, so `--help` needs none of them.
    """
    from app import app
    from openapi_docs import spec_document

    return spec_document(app)


def render() -> str:
    """openapi.yaml's text: key order kept, unicode as is, no YAML anchors."""

    class NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    body = yaml.dump(document(), Dumper=NoAliases, sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when openapi.yaml is out of date")
    args = parser.parse_args(argv)
    text = render()
    current = SPEC_PATH.read_text(encoding="utf-8") if SPEC_PATH.exists() else None
    if args.check:
        if current != text:
            print("openapi.yaml is out of date: run `make openapi`", file=sys.stderr)
            return 1
        print("openapi.yaml is up to date")
        return 0
    if current != text:
        SPEC_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {SPEC_PATH.name}")
    else:
        print(f"{SPEC_PATH.name} unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
