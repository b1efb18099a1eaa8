"""The evaluation collections: ``eval/corpora/NAME/`` (see ``eval/corpora/FORMAT.md``).

Each holds a sources folder (catalog, parties, programme texts) and a questions file. The
chatbot's code knows none of them: they are data, as a newly added programme would be.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import ChatbotError

CORPUS_FILE = "corpus.toml"


class CorpusError(ChatbotError):
    """A collection that is missing or badly described."""


@dataclass(frozen=True)
class Corpus:
    name: str
    title: str
    language: str
    fictitious: bool
    sealed: bool  # held out from every look while the method was built
    sources: Path
    questions: Path
    description: str = ""


def corpora_root() -> Path:
    from ..service import project_root

    return project_root() / "eval" / "corpora"


def load_corpus(folder: Path) -> Corpus:
    path = folder / CORPUS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorpusError(f"no {CORPUS_FILE} in {folder}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CorpusError(f"cannot read {path}: {exc}") from None
    name = data.get("name") or folder.name
    sources = (folder / data.get("sources", "sources")).resolve()
    questions = (folder / data.get("questions", "questions.jsonl")).resolve()
    for what, p in (("sources folder", sources), ("questions file", questions)):
        if not p.exists():
            raise CorpusError(f"collection {name}: the {what} {p} does not exist")
    return Corpus(name=str(name), title=str(data.get("title", name)), language=str(data.get("language", "nb")),
                  fictitious=bool(data.get("fictitious", False)), sealed=bool(data.get("sealed", False)),
                  sources=sources, questions=questions, description=str(data.get("description", "")))


def all_corpora(root: Path | None = None) -> list[Corpus]:
    root = root or corpora_root()
    if not root.is_dir():
        raise CorpusError(f"no evaluation collections at {root}")
    found = [load_corpus(d) for d in sorted(root.iterdir()) if (d / CORPUS_FILE).is_file()]
    if not found:
        raise CorpusError(f"no evaluation collections at {root} (each needs a {CORPUS_FILE})")
    return found


def select(spec: str, root: Path | None = None) -> list[Corpus]:
    """``all``, or names separated by commas."""
    every = all_corpora(root)
    if spec == "all":
        return every
    by_name = {c.name: c for c in every}
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise CorpusError(f"unknown collection(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[n] for n in names]
