"""chatbot/settings.py: the one table of options and environment variables, read once into a frozen record."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chatbot import settings
from chatbot.errors import ChatbotError
from chatbot.settings import Settings, SettingsError, from_args, resolve

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_without_any_variable(tmp_path):
    got = resolve(env={"HOME": str(tmp_path)})
    assert (got.model, got.backend, got.k, got.mode, got.dense_index) == (None, "auto", 5, "hybrid", "auto")
    assert (got.index_dir, got.sources_dir) == (ROOT / "index", ROOT / "sources")
    assert (got.host, got.port, got.watch_interval, got.hub_offline) == ("127.0.0.1", 7860, 2.0, False)


def test_every_documented_variable_is_read(tmp_path):
    env = {"CHATBOT_MODEL": "intfloat/multilingual-e5-small", "CHATBOT_BACKEND": "torch",
           "CHATBOT_INDEX": str(tmp_path / "i"), "CHATBOT_SOURCES": str(tmp_path / "s"), "CHATBOT_K": "7",
           "CHATBOT_MODE": "bm25", "CHATBOT_CACHE_DIR": str(tmp_path / "c"), "CHATBOT_DENSE_INDEX": "hnsw",
           "CHATBOT_HOST": "::1", "CHATBOT_PORT": "8080", "CHATBOT_WATCH_INTERVAL": "0", "HF_HUB_OFFLINE": "1",
           "CHATBOT_WORKERS": "2"}
    assert resolve(env=env) == Settings(
        model="intfloat/multilingual-e5-small", backend="torch", index_dir=tmp_path / "i", sources_dir=tmp_path / "s",
        cache_dir=tmp_path / "c", dense_index="hnsw", k=7, mode="bm25", host="::1", port=8080, watch_interval=0.0,
        workers=2, hub_offline=True)
    assert {o.env for o in settings.OPTIONS} == set(env)


def test_choices_are_case_and_space_insensitive_and_blank_is_unset():
    got = resolve(env={"CHATBOT_BACKEND": " Torch ", "CHATBOT_DENSE_INDEX": "HNSW", "CHATBOT_K": " ", "CHATBOT_MODE": ""})
    assert (got.backend, got.dense_index, got.k, got.mode) == ("torch", "hnsw", 5, "hybrid")


def test_cache_dir_precedence(tmp_path):
    home = {"HOME": str(tmp_path / "home")}
    assert resolve(env={**home, "CHATBOT_CACHE_DIR": str(tmp_path / "explicit"),
                        "XDG_CACHE_HOME": str(tmp_path / "xdg")}).cache_dir == tmp_path / "explicit"
    assert resolve(env={**home, "XDG_CACHE_HOME": str(tmp_path / "xdg")}).cache_dir == tmp_path / "xdg" / "chatbot-rusomsorg"
    assert resolve(env={"CHATBOT_CACHE_DIR": "~/c"}).cache_dir == Path("~/c").expanduser()


@pytest.mark.parametrize("name, value, message", [
    ("CHATBOT_K", "abc", "$CHATBOT_K is 'abc'; use a whole number from 1 to 50"),
    ("CHATBOT_K", "51", "$CHATBOT_K is '51'; use a whole number from 1 to 50"),
    ("CHATBOT_MODE", "foo", "$CHATBOT_MODE is 'foo'; use one of hybrid, dense, bm25"),
    ("CHATBOT_BACKEND", "nope", "$CHATBOT_BACKEND is 'nope'; use one of auto, onnx, torch"),
    ("CHATBOT_DENSE_INDEX", "weird", "$CHATBOT_DENSE_INDEX is 'weird'; use one of auto, flat, hnsw, ivf"),
    ("CHATBOT_PORT", "http", "$CHATBOT_PORT is 'http'; not a port number: 'http'"),
    ("CHATBOT_WATCH_INTERVAL", "0.01",
     "$CHATBOT_WATCH_INTERVAL is '0.01'; the watch interval must be 0 or 0.05–3600 seconds, not 0.01"),
    ("CHATBOT_WORKERS", "two",
     "$CHATBOT_WORKERS is 'two'; use a whole number from 0 to 16 (0: the server answers every question itself)"),
    ("CHATBOT_WORKERS", "17",
     "$CHATBOT_WORKERS is '17'; use a whole number from 0 to 16 (0: the server answers every question itself)"),
])
def test_a_bad_value_is_a_settings_error_with_its_hint_as_a_field(name, value, message):
    with pytest.raises(SettingsError) as bad:
        resolve(env={name: value})
    assert str(bad.value) == message
    assert isinstance(bad.value, ChatbotError)
    assert bad.value.message == f"${name} is {value!r}"
    assert bad.value.hint and not bad.value.message.endswith(bad.value.hint)


def test_only_the_settings_a_command_uses_are_checked():
    from chatbot.cli import parser

    env = {"CHATBOT_K": "abc", "CHATBOT_MODE": "foo"}
    assert from_args(parser().parse_args(["verify", "LAR"]), env=env).sources_dir == ROOT / "sources"
    assert from_args(parser().parse_args(["build"]), env=env).k == 5  # build shows no passages
    with pytest.raises(SettingsError, match="CHATBOT_K"):
        from_args(parser().parse_args(["chat"]), env=env)


def test_a_flag_wins_over_its_variable_and_is_written_back(tmp_path):
    from chatbot.cli import parser

    args = parser().parse_args(["ask", "LAR", "--index", str(tmp_path), "--k", "2"])
    got = from_args(args, env={"CHATBOT_INDEX": "/elsewhere", "CHATBOT_K": "abc", "CHATBOT_SOURCES": str(tmp_path / "s")})
    assert (got.index_dir, got.k, got.sources_dir) == (tmp_path, 2, tmp_path / "s")
    assert (args.index, args.k, args.sources, args.settings) == (tmp_path, 2, tmp_path / "s", got)
    with pytest.raises(SettingsError, match=r"^--k must be between 1 and 50$"):
        from_args(parser().parse_args(["ask", "LAR", "--k", "0"]), env={})


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().k = 3  # type: ignore[misc]
    assert Settings().replace(k=3).k == 3


def test_choice_lists_come_from_their_modules():
    from chatbot.index import ann
    from chatbot.models import spec
    from chatbot.query import prepare

    assert settings.BY_NAME["mode"].choices == tuple(prepare.MODES)
    assert settings.BY_NAME["backend"].choices == tuple(spec.BACKENDS)
    assert settings.BY_NAME["dense_index"].choices == ("auto", *ann.KINDS)


def test_an_injected_setting_reaches_the_index(tmp_path, fake_index_dir):
    """Chatbot.open takes a Settings: the dense index kind and folders come from it, not from os.environ."""
    from chatbot.models.fake import FakeEmbedder
    from chatbot.service import Chatbot

    config = Settings(sources_dir=ROOT / "sources", index_dir=tmp_path / "index", dense_index="hnsw",
                      cache_dir=tmp_path / "cache")
    bot = Chatbot.open(embedder=FakeEmbedder(), progress=None, config=config)
    assert bot.index_dir == tmp_path / "index" and bot.config.dense_index == "hnsw"
    assert bot.answerer.index.manifest.dense["kind"] == "hnsw"
    assert bot.rebuilt_because == f"no index in {tmp_path / 'index'}"  # the hint (run `chatbot build`) is not in it


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CHATBOT_")}
    return subprocess.run([sys.executable, "-m", "chatbot.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**base, **env}, timeout=120)


@pytest.mark.parametrize("name, value, hint", [
    ("CHATBOT_K", "abc", "use a whole number from 1 to 50"),
    ("CHATBOT_MODE", "foo", "use one of hybrid, dense, bm25"),
    ("CHATBOT_BACKEND", "nope", "use one of auto, onnx, torch"),
    ("CHATBOT_DENSE_INDEX", "weird", "use one of auto, flat, hnsw, ivf"),
])
def test_chatbot_ask_with_a_bad_variable_is_one_line_and_exit_1_and_help_still_works(name, value, hint):
    run = _cli("ask", "LAR", env={name: value})
    assert (run.returncode, run.stdout, run.stderr) == (1, "", f"chatbot: error: ${name} is {value!r}; {hint}\n")
    for help_args in (["--help"], ["ask", "--help"], ["serve", "--help"]):
        shown = _cli(*help_args, env={name: value})
        assert shown.returncode == 0 and shown.stdout.startswith("usage: chatbot") and shown.stderr == ""


def test_app_py_with_a_bad_variable_is_one_line_and_help_works():
    base = {k: v for k, v in os.environ.items() if not k.startswith("CHATBOT_")}
    env = {**base, "CHATBOT_PORT": "http"}
    run = subprocess.run([sys.executable, "app.py"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert (run.returncode, run.stderr) == (1, "app.py: error: $CHATBOT_PORT is 'http'; not a port number: 'http'\n")
    shown = subprocess.run([sys.executable, "app.py", "--help"], capture_output=True, text=True, cwd=ROOT, env=env,
                           timeout=120)
    assert shown.returncode == 0 and shown.stdout.startswith("usage: app.py")


def test_only_this_module_reads_the_environment():
    readers = []
    for path in sorted((ROOT / "chatbot").rglob("*.py")) + [ROOT / "app.py"]:
        if path.name == "settings.py":
            continue
        text = path.read_text(encoding="utf-8")
        if "os.environ" in text or "getenv(" in text:
            readers.append(path.relative_to(ROOT).as_posix())
    assert readers == []


def test_child_environment_variable_and_unset(monkeypatch):
    from chatbot import settings

    monkeypatch.setenv("CHATBOT_TEST_X", "1")
    env = settings.child_environment({"CHATBOT_TEST_Y": "2"})
    assert (env["CHATBOT_TEST_X"], env["CHATBOT_TEST_Y"]) == ("1", "2")
    assert settings.variable("CHATBOT_TEST_X") == "1" and settings.variable("CHATBOT_TEST_Y") is None
    assert settings.unset("CHATBOT_TEST_X") == "1" and settings.variable("CHATBOT_TEST_X") is None
    assert settings.unset("CHATBOT_TEST_X") is None


def test_gradio_analytics_are_off_and_its_queue_summary_kept_small(monkeypatch):
    import os

    from chatbot import settings as settings_mod

    monkeypatch.delenv("GRADIO_ANALYTICS_MAX_EVENTS", raising=False)
    monkeypatch.delenv("GRADIO_ANALYTICS_CACHE_FREQUENCY", raising=False)
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "True")
    settings_mod.disable_gradio_analytics()
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert os.environ["GRADIO_ANALYTICS_MAX_EVENTS"] == "100"
    assert os.environ["GRADIO_ANALYTICS_CACHE_FREQUENCY"] == "1000000"
    monkeypatch.setenv("GRADIO_ANALYTICS_CACHE_FREQUENCY", "5")  # a user's own choice stays
    settings_mod.disable_gradio_analytics()
    assert os.environ["GRADIO_ANALYTICS_CACHE_FREQUENCY"] == "5"


def test_workers_from_the_flag_or_the_environment():
    from chatbot.cli import serve_parser

    def workers(argv, env):
        args = serve_parser("app.py").parse_args(argv)
        args.command = "serve"
        return from_args(args, env=env).workers

    assert workers(["--workers", "3"], {"CHATBOT_WORKERS": "1"}) == 3
    assert workers([], {"CHATBOT_WORKERS": "1"}) == 1
    assert workers([], {}) == 0
    with pytest.raises(SystemExit):
        serve_parser("app.py").parse_args(["--workers", "-1"])
