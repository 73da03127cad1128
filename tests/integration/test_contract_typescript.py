"""A TypeScript client typed from openapi.yaml (openapi-typescript) calling the API with openapi-fetch.

clients/typescript/schema.d.ts comes from `npm run typescript-client` and is committed, so that a
reader sees the types the spec gives; a test regenerates it and fails when it drifts. flow.ts, a
small program a user would write, compiles under `tsc --strict` (clients/typescript/tsconfig.json,
stricter still) with no cast, `any`, type assertion or non-null assertion, then runs against the API.
"""

from __future__ import annotations

import os
import re
import subprocess

import requests

from runtime_process import REPO_ROOT

CLIENT = REPO_ROOT / "clients" / "typescript"
BIN = REPO_ROOT / "node_modules" / ".bin"
# What gets past the types instead of through them: `as` casts, `any`, `<T>value` assertions,
# non-null assertions (`value!`), and comments that silence the compiler.
ESCAPES = {
    "a cast": re.compile(r"\bas\s+(?!const\b)[A-Za-z_{\[(]"),
    "any": re.compile(r"\bany\b"),
    "a type assertion": re.compile(r"(?<![\w$])<[A-Za-z_][\w.]*(\[\])?>\s*[\w(]"),
    "a non-null assertion": re.compile(r"[\w)\]]!(?!=)"),
    "a compiler directive": re.compile(r"@ts-"),
}


def run(*command: str, **options) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False, **options)


def test_committed_types_equal_a_fresh_generation(tmp_path):
    # Given the types generated from the committed spec, as `npm run typescript-client` does
    fresh = tmp_path / "schema.d.ts"
    result = run(str(BIN / "openapi-typescript"), str(REPO_ROOT / "openapi.yaml"), "--output", str(fresh))
    assert result.returncode == 0, result.stdout + result.stderr

    # Then the committed file is the same: the spec changed without them otherwise
    committed = (CLIENT / "schema.d.ts").read_text(encoding="utf-8")
    assert committed == fresh.read_text(encoding="utf-8"), "run `npm run typescript-client`"


# Text that is not code: comments and the contents of strings.
NOT_CODE = re.compile(r"//[^\n]*|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|`[^`]*`")


def test_the_flow_gets_nothing_past_the_types():
    code = NOT_CODE.sub('""', (CLIENT / "flow.ts").read_text(encoding="utf-8"))

    found = {name: pattern.findall(code) for name, pattern in ESCAPES.items() if pattern.search(code)}

    assert found == {}


def test_the_typescript_flow_compiles_strict_and_runs(api_url: str, api: requests.Session, tmp_path, report):
    # Given flow.ts compiled under the strict tsconfig, into a folder that resolves its packages
    # from the project's node_modules
    built = tmp_path / "built"
    built.mkdir()
    (built / "package.json").write_text('{"type": "module"}\n', encoding="utf-8")
    (built / "node_modules").symlink_to(REPO_ROOT / "node_modules", target_is_directory=True)
    compiled = run(str(BIN / "tsc"), "--project", str(CLIENT), "--strict", "--outDir", str(built))
    errors = re.findall(r"error TS\d+", compiled.stdout)
    report("typescript_strict_errors", f"TypeScript flow: {len(errors)} strict type errors")
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    assert errors == []

    # When it runs against the API with the consumer's key
    environment = {
        **os.environ,
        "CALCULATIONS_API_URL": api_url,
        "CALCULATIONS_API_KEY": api.headers["x-api-key"],
    }
    result = run("node", str(built / "flow.js"), env=environment)

    # Then every step held
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("flow passed: ")
