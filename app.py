"""Serve the chatbot's web page: ``python app.py [--host H] [--port P] [--model M] [--index DIR] [--sources DIR]``.

Opens the chatbot once (rebuilding a stale index, and saying so on stderr), then serves, on one
server (chatbot/server.py): the page at ``/``, the JSON API at ``/api/`` (``/api/ask``, ``/api/chat``,
``/api/verify``, ``/api/health``; described at ``/api/docs``), and Gradio's ``/ask``, ``/compare`` and
``/chat``. While serving, it watches the sources folder and swaps in a rebuilt index when a programme,
``catalog.toml`` or ``parties.toml`` changes (``--watch-interval``; 0 turns it off). No share link, no
analytics. A start-up error is one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before anything imports gradio


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1–65535, not {port}")
    return port


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="app.py", description="Web chat that answers with quoted, cited party programmes.")
    p.add_argument("--host", default=os.environ.get("CHATBOT_HOST", "127.0.0.1"),
                   help="address to listen on (env CHATBOT_HOST; default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=os.environ.get("CHATBOT_PORT", "7860"),
                   help="port (env CHATBOT_PORT; default 7860)")
    p.add_argument("--model", default=os.environ.get("CHATBOT_MODEL"),
                   help="sentence-transformers model id or path (env CHATBOT_MODEL)")
    p.add_argument("--backend", choices=("auto", "onnx", "torch"), default=os.environ.get("CHATBOT_BACKEND") or None,
                   help="how the default model runs: onnx, torch, or auto (env CHATBOT_BACKEND; default auto)")
    p.add_argument("--index", type=Path, default=None, help="index folder (env CHATBOT_INDEX; default ./index)")
    p.add_argument("--sources", type=Path, default=None, help="sources folder (env CHATBOT_SOURCES; default ./sources)")
    p.add_argument("--watch-interval", type=_interval, default=os.environ.get("CHATBOT_WATCH_INTERVAL", "2"),
                   help="seconds between looks at the sources folder; 0: don't watch "
                        "(env CHATBOT_WATCH_INTERVAL; default 2)")
    return p


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (value == 0 or 0.05 <= value <= 3600):
        raise argparse.ArgumentTypeError(f"the watch interval must be 0 or 0.05–3600 seconds, not {text}")
    return value


def _import_web_layer() -> None:
    try:
        import gradio  # noqa: F401 - about 4 s; chatbot.webui imports it only when building the page
    except BaseException:  # noqa: BLE001 - the main thread imports it again and reports any error
        pass


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from chatbot.errors import ChatbotError

    # Gradio's import takes longer than opening the chatbot; do both at once (cold start ~1 s shorter).
    threading.Thread(target=_import_web_layer, name="import-gradio", daemon=True).start()
    try:
        from chatbot.service import Chatbot

        bot = Chatbot.open(sources_dir=args.sources, index_dir=args.index, model=args.model,
                           backend=args.backend)
    except ChatbotError as exc:
        print(f"app.py: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("app.py: interrupted", file=sys.stderr)
        return 130

    from chatbot.live import LiveChatbot
    from chatbot.server import serve

    try:
        live = LiveChatbot(bot, interval=args.watch_interval or 2.0)
        serve(live, host=args.host, port=args.port, watch=args.watch_interval > 0)
    except OSError as exc:  # e.g. the port is taken
        print(f"app.py: error: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
