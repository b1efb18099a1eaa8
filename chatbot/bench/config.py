"""Where the benchmark reads and writes, and the fixed settings every suite shares (no imports: instant)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout: the benchmark measures its sources/ and app.py
RESULTS = ROOT / "eval" / "bench-results.md"
QUESTIONS = ROOT / "eval" / "questions.jsonl"
SOURCES = ROOT / "sources"
APP = ROOT / "app.py"

COLD_QUESTION = "Hva vil Venstre med LAR?"
TEXTBOOK_CHUNK_SIZE = 1000
TEXTBOOK_CHUNK_OVERLAP = 200
TEXTBOOK_K = 5

# the targets of the Targets table (2 cores)
TARGET_QUERY_P50_MS = 25.0
TARGET_QUERY_P95_MS = 50.0
TARGET_RATIO = 0.5
TARGET_COLD_START_S = 6.0
TARGET_SCALE_P50_MS = 50.0
TARGET_SCALE_RECALL = 0.95
TARGET_SCALE_RSS_MB = 2048.0

SCALE_DIM = 384
SCALE_QUERIES = 200  # recall over 200 queries; latency over the first 100, one at a time
SCALE_LATENCY_QUERIES = 100
SCALE_K = 50  # the chatbot asks FAISS for 50 candidates
SCALE_PARTIES = 10  # the filter keeps one "party" of ten (~10 % of the rows)
DEFAULT_SCALE = "10k,100k,1m"

BACKEND_ENV = "CHATBOT_BACKEND"  # cleared for a run: "ours" is the shipped default ("auto")
