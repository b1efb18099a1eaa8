"""The textbook pipeline served over HTTP the way a tutorial serves it, as the load test's reference.

    python -m chatbot.evaluation.textbook_server --port 7870 [--sources DIR]

300-character chunks (langchain's RecursiveCharacterTextSplitter) → the same e5 model through
sentence-transformers (torch, as a textbook loads it) → FAISS flat → top k, behind one FastAPI
``GET /api/ask?q=…&k=…`` that encodes each request's question on its own (no batching, no lock),
run by uvicorn with the same thread pool as ours. It returns the chunks, never declines.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

THREADS = 64  # as chatbot.web.server.THREADS


def create_app(sources: Path, model: str | None = None):
    import faiss
    import numpy as np
    from fastapi import FastAPI, Query
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from ..catalog import load_catalog
    from ..models.torch_embedder import SentenceTransformerEmbedder
    from .baseline import CHUNK_OVERLAP, CHUNK_SIZE

    catalog = load_catalog(sources)
    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    chunks = [(doc.party, doc.source, text) for doc in catalog.documents
              for text in splitter.split_text(catalog.text(doc.source))]
    embedder = SentenceTransformerEmbedder(model)
    embedder.warm_up()
    vectors = np.asarray(embedder.embed_passages([c[2] for c in chunks]), dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        yield

    app = FastAPI(title="textbook pipeline", openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)

    @app.get("/api/ask")
    def ask(q: str = Query(...), k: int = Query(5, ge=1, le=50)) -> dict:
        vector = np.asarray(embedder.embed_queries([q]), dtype=np.float32)
        scores, rows = index.search(vector, min(k, len(chunks)))
        return {"question": q, "passages": [{"rank": i, "party": chunks[r][0], "source": chunks[r][1],
                                             "text": chunks[r][2], "score": round(float(s), 6)}
                                            for i, (s, r) in enumerate(zip(scores[0], rows[0]), 1) if r >= 0]}

    @app.get("/api/health")
    def health() -> dict:
        return {"status": "ok", "chunks": len(chunks)}

    return app


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m chatbot.evaluation.textbook_server", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7870)
    p.add_argument("--sources", type=Path, default=Path(__file__).resolve().parents[2] / "sources")
    p.add_argument("--model", default=None, help="sentence-transformers model id or path (default: the default e5)")
    args = p.parse_args(argv)
    import uvicorn

    app = create_app(args.sources, args.model)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False, backlog=2048)
    return 0


if __name__ == "__main__":
    sys.exit(main())
