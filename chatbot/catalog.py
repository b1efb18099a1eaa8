"""Read ``sources/catalog.toml``: which files are programmes, whose, and what to leave out."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import CatalogError
from .fsutil import sha256_bytes
from .records import Document

SUPPORTED_SUFFIXES = (".txt", ".md")
CATALOG_NAME = "catalog.toml"
_REQUIRED = ("file", "party", "title", "kind", "language")


@dataclass(frozen=True)
class Catalog:
    """The documents of a sources folder, with their texts as stored."""

    root: Path
    documents: tuple[Document, ...]
    sha256: str  # of catalog.toml itself

    def text(self, source: str) -> str:
        return read_source(self.root / source)

    def by_source(self) -> dict[str, Document]:
        return {d.source: d for d in self.documents}

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(sorted({d.party for d in self.documents}))


def read_source(path: Path) -> str:
    """A source file's text exactly as stored (UTF-8, newlines untranslated)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CatalogError(f"source file {path} is listed in the catalog but does not exist") from None
    return _decode(data, path)


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"source file {path} is not valid UTF-8 (byte {exc.start}); save it as UTF-8") from None


def load_catalog(root: Path) -> Catalog:
    """Parse and validate the catalog in ``root``; every problem is a one-line CatalogError."""
    path = root / CATALOG_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CatalogError(f"no catalog at {path}; a sources folder needs a {CATALOG_NAME}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path} is not valid TOML: {exc}") from None
    entries = data.get("document", [])
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"{path} lists no [[document]]")
    documents = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, 1):
        doc = _document(root, entry, f"{path.name} document #{number}")
        if doc.source in seen:
            raise CatalogError(f"{path.name}: {doc.source} is listed twice")
        seen.add(doc.source)
        documents.append(doc)
    return Catalog(root=root, documents=tuple(documents), sha256=sha256_bytes(raw))


def _document(root: Path, entry: dict, where: str) -> Document:
    missing = [key for key in _REQUIRED if not isinstance(entry.get(key), str) or not entry[key].strip()]
    if missing:
        raise CatalogError(f"{where}: missing {', '.join(missing)}")
    name = entry["file"]
    if Path(name).name != name:
        raise CatalogError(f"{where}: file must be a plain name inside the sources folder, not {name!r}")
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise CatalogError(
            f"{where}: {name} has format {suffix or '(none)'}; supported formats are "
            f"{', '.join(SUPPORTED_SUFFIXES)} (convert it to plain text or Markdown first)")
    file_path = root / name
    if not file_path.is_file():
        raise CatalogError(f"{where}: source file {file_path} does not exist")
    data = file_path.read_bytes()
    text = _decode(data, file_path)  # the same bytes as the checksum
    excluded = tuple(_exclusions(text, entry.get("exclude", []), f"{where} ({name})"))
    return Document(
        source=name,
        party=entry["party"].strip(),
        title=entry["title"].strip(),
        kind=entry["kind"].strip(),
        language=entry["language"].strip(),
        sha256=sha256_bytes(data),
        date=_optional(entry, "date"),
        provenance=_optional(entry, "provenance"),
        chapter=_optional(entry, "chapter"),
        url=_url(entry, where),
        cite_as=_optional(entry, "cite_as"),
        excluded=excluded,
        fictitious=_flag(entry, "fictitious", where),
        text=text,
    )


def _flag(entry: dict, key: str, where: str) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        raise CatalogError(f"{where}: {key} must be true or false, not {value!r}")
    return value


def _url(entry: dict, where: str) -> str | None:
    """The document's web address: an absolute http(s) URL without spaces, or None."""
    value = entry.get("url")
    if value is None:
        return None
    if not isinstance(value, str):
        raise CatalogError(f"{where}: url must be text, not {value!r}")
    url = value.strip()
    if not url:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.netloc
            or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url)):
        raise CatalogError(f"{where}: url must be an absolute http:// or https:// address without spaces, not {url!r}")
    if ":~:" in url:
        raise CatalogError(f"{where}: url must not carry a text fragment (':~:'); citations add their own")
    return url


def _optional(entry: dict, key: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    return str(value).strip() or None


def line_starts(text: str) -> list[int]:
    """Character offset of the start of each line (line 1 at index 0)."""
    starts = [0]
    at = text.find("\n")
    while at != -1:  # str.find, not a Python loop over every character (megabytes at scale)
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    return starts


def _exclusions(text: str, items: list, where: str):
    if not items:  # most documents: no need to find every line start
        return
    starts = line_starts(text)
    n_lines = len(starts) if not text.endswith("\n") else len(starts) - 1
    for item in items:
        spec = str(item.get("lines", ""))
        first_s, _, last_s = spec.partition("-")
        try:
            first = int(first_s)
            last = n_lines if last_s.strip() == "end" else int(last_s or first_s)
        except ValueError:
            raise CatalogError(f"{where}: exclude lines must look like '3-7' or '23-end', not {spec!r}") from None
        if not 1 <= first <= last <= n_lines:
            raise CatalogError(f"{where}: exclude lines {spec} fall outside the file's {n_lines} lines")
        start = starts[first - 1]
        end = starts[last] if last < len(starts) else len(text)
        expected = item.get("starts_with")
        if expected and not text[start:].startswith(expected):
            found = text[start:start + len(expected)]
            raise CatalogError(
                f"{where}: excluded line {first} should start with {expected!r} but starts with {found!r}; "
                "the file changed, update the catalog's exclude ranges")
        yield (start, end)
