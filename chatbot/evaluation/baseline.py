"""The textbook pipeline as a reference in the same run: 300-character chunks
(langchain's RecursiveCharacterTextSplitter) → the same embedding model → FAISS flat → top k.
It never declines. Its chunks are judged by the same relevance rule as our passages.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from .records import Outcome, Question, Returned
from .relevance import Judge

CHUNK_SIZE = 300
CHUNK_OVERLAP = 30


@dataclass(frozen=True)
class Chunk:
    id: str
    party: str
    source: str
    text: str


class Textbook:
    def __init__(self, catalog, embedder):
        from langchain_text_splitters import RecursiveCharacterTextSplitter
        import faiss

        splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
        self.chunks: list[Chunk] = []
        for doc in catalog.documents:
            for i, text in enumerate(splitter.split_text(catalog.text(doc.source))):
                cid = hashlib.sha256(f"{doc.source}\0{i}\0{text}".encode()).hexdigest()[:16]
                self.chunks.append(Chunk(cid, doc.party, doc.source, text))
        self.embedder = embedder
        vectors = np.asarray(embedder.embed_passages([c.text for c in self.chunks]), dtype=np.float32)
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)

    def judge_all(self, questions: list[Question]) -> dict:
        judge = Judge(self.chunks)
        return {q.id: judge.judge(q) for q in questions if q.answerable}

    def ask_all(self, questions: list[Question], depth: int, judgements: dict) -> list[Outcome]:
        vectors = np.asarray(self.embedder.embed_queries([q.q for q in questions]), dtype=np.float32)
        scores, rows = self.index.search(vectors, min(depth, len(self.chunks)))
        out = []
        for q, sc, rs in zip(questions, scores, rows):
            found = judgements.get(q.id, {})
            returned = tuple(Returned(rank=i, doc_id=self.chunks[r].id, party=self.chunks[r].party,
                                      text=self.chunks[r].text, gold_hits=found.get(self.chunks[r].id, frozenset()),
                                      score=float(s), dense=float(s))
                             for i, (s, r) in enumerate(zip(sc, rs), 1) if r >= 0)
            out.append(Outcome(q, True, returned, 0.0))
        return out
