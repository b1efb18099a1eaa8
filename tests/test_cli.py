import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chatbot.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_help_is_instant_and_imports_nothing_heavy():
    code = ("import sys, chatbot.cli\n"
            "try:\n    chatbot.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'sentence_transformers', 'faiss', 'bm25s', 'numpy', 'gradio') if m in sys.modules]\n"
            "print('HEAVY', heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert "usage: chatbot" in out
    assert out.strip().endswith("HEAVY []")


def test_ask_json(fake_model, capsys):
    assert main(["ask", "Hva vil Venstre med LAR?", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answered"] is True
    assert data["parties"] == ["Venstre"]
    assert data["passages"][0]["party"] == "Venstre"
    assert data["passages"][0]["source"] == "venstre-rusomsorg.txt"


def test_ask_plain_text_has_quote_and_citation(fake_model, capsys):
    assert main(["ask", "heroinassistert behandling"]) == 0
    out = capsys.readouterr().out
    assert "1. Helsepartiet — Helsepartiet vil" in out
    assert "«Åpne for muligheten til heroinassistert behandling for enkelte pasientgrupper.»" in out
    assert "— Helsepartiet, Prinsipprogram (vedtatt 8. februar 2017), «Rusomsorg», helsepartiet-rusomsorg.txt, linje 15, tegn " in out


def test_ask_reads_json_lines_from_stdin(fake_model, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("Hva vil Venstre med LAR?\n\nHva mener Arbeiderpartiet?\n"))
    assert main(["ask", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["answered"] for x in lines] == [True, False, False]
    assert lines[2]["notice"] == "Arbeiderpartiet finnes ikke i kildene (tilgjengelig: Helsepartiet, Venstre)."


def test_ask_party_option(fake_model, capsys):
    assert main(["ask", "behandling", "--party", "Helsepartiet", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {p["party"] for p in data["passages"]} == {"Helsepartiet"}


def test_bad_k_is_one_line_error(fake_model, capsys):
    assert main(["ask", "LAR", "--k", "0"]) == 1
    assert capsys.readouterr().err == "chatbot: error: --k must be between 1 and 50\n"


def test_missing_sources_is_one_line_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "chatbot.cli", "ask", "LAR", "--sources", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1
    assert proc.stderr == f"chatbot: error: no catalog at {tmp_path}/catalog.toml; a sources folder needs a catalog.toml\n"


def test_unloadable_model_is_one_line_error(tmp_path, fake_index_dir):
    proc = subprocess.run([sys.executable, "-m", "chatbot.cli", "ask", "LAR", "--model", str(tmp_path / "nomodel")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1
    assert proc.stderr == f"chatbot: error: model directory {tmp_path}/nomodel does not exist\n"


def test_model_dir_that_is_not_a_model(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "chatbot.cli", "build", "--model", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1
    assert "is not a sentence-transformers model directory" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("env, message", [
    ({"CHATBOT_K": "abc"}, "chatbot: error: $CHATBOT_K is 'abc'; use a whole number from 1 to 50"),
    ({"CHATBOT_K": "0"}, "chatbot: error: $CHATBOT_K is '0'; use a whole number from 1 to 50"),
    ({"CHATBOT_MODE": "foo"}, "chatbot: error: $CHATBOT_MODE is 'foo'; use one of hybrid, dense, bm25"),
    ({"CHATBOT_BACKEND": "nope"}, "chatbot: error: $CHATBOT_BACKEND is 'nope'; use one of auto, onnx, torch"),
    ({"CHATBOT_DENSE_INDEX": "weird"},
     "chatbot: error: $CHATBOT_DENSE_INDEX is 'weird'; use one of auto, flat, hnsw, ivf"),
])
def test_a_bad_environment_value_is_one_line_and_exit_1_and_help_still_works(env, message, monkeypatch, capsys):
    from chatbot.cli import main

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as help_exit:
        main(["--help"])
    assert help_exit.value.code == 0
    capsys.readouterr()
    assert main(["ask", "LAR"]) == 1
    assert capsys.readouterr().err == message + "\n"


def test_options_fall_back_to_the_environment_after_parsing():
    from chatbot.cli import parser
    from chatbot.settings import from_args

    args = parser().parse_args(["ask", "LAR"])
    config = from_args(args, env={"CHATBOT_K": "7", "CHATBOT_MODE": "bm25", "CHATBOT_BACKEND": "torch"})
    assert (config.k, config.mode, config.backend) == (7, "bm25", "torch")
    assert (args.k, args.mode, args.backend, args.settings) == (7, "bm25", "torch", config)
    given = parser().parse_args(["ask", "LAR", "--k", "3", "--mode", "dense", "--backend", "onnx"])
    config = from_args(given, env={"CHATBOT_K": "7"})
    assert (config.k, config.mode, config.backend) == (3, "dense", "onnx")


def test_every_subcommand_is_listed_in_the_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "{build,ask,verify,chat,eval,serve,convert,bench}" in out


def test_bench_forwards_its_arguments(monkeypatch):
    import types

    seen = []
    fake = types.ModuleType("chatbot.bench")
    fake.main = lambda argv: seen.append(argv) or 4
    monkeypatch.setitem(sys.modules, "chatbot.bench", fake)
    assert main(["bench", "--quick", "x", "--k", "abc"]) == 4
    assert seen == [["--quick", "x", "--k", "abc"]]


def test_bench_that_cannot_be_imported_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "chatbot.bench", None)  # import raises ImportError
    assert main(["bench"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chatbot: error: the benchmark is not available (chatbot.bench: ")
    assert err.count("\n") == 1


def test_convert_into_a_folder_reports_a_bad_file_on_one_line(tmp_path, capsys):
    fake = tmp_path / "fake.bin"
    fake.write_bytes(b"not a model")
    assert main(["convert", str(tmp_path / "out"), "--bin", str(fake)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chatbot: error: ") and err.count("\n") == 1 and "expected" in err
    assert not (tmp_path / "out").exists()


def test_serve_takes_the_options_of_app_py():
    from chatbot.cli import parser, serve_parser

    serve = parser().parse_args(["serve", "--port", "8000", "--watch-interval", "0", "--host", "::1"])
    app = serve_parser().parse_args(["--port", "8000", "--watch-interval", "0", "--host", "::1"])
    assert (serve.port, serve.watch_interval, serve.host) == (app.port, app.watch_interval, app.host) == (8000, 0.0, "::1")
