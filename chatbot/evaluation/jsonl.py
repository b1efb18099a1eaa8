"""Reading the evaluation's JSON Lines files (questions, dialogues): the file's text, its
numbered non-blank lines, and each line as a JSON object, with errors that name the file and
line ("eval/x.jsonl line 3: not valid JSON (...)") in the caller's error type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator


def read_text(path: Path, error: type[Exception], what: str, hint: str = "") -> str:
    """The file decoded as UTF-8; ``error`` with one line when it is missing or unreadable."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist{hint}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what} {path}: {exc}") from None


def numbered_lines(text: str, comments: bool = False) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) of every non-blank line; with ``comments``, lines starting "#" are skipped too."""
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or (comments and line.lstrip().startswith("#")):
            continue
        yield n, line


def where(path: Path | str, n: int) -> str:
    return f"{path} line {n}"


def json_object(line: str, n: int, path: Path | str, error: type[Exception]) -> dict:
    """The line as a JSON object; ``error`` naming the file and line when it is not one."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise error(f"{where(path, n)}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise error(f"{where(path, n)}: not a JSON object")
    return obj
