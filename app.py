"""Serve the chatbot's web page: ``python app.py [--host H] [--port P] [--model M] [--index DIR] [--sources DIR]``.

The same as ``chatbot serve`` (chatbot/cli.py), under this name: it opens the chatbot once
(rebuilding a stale index, and saying so on stderr), then serves, on one server (chatbot/web/server.py):
the page at ``/``, the JSON API at ``/api/`` (``/api/ask``, ``/api/chat``, ``/api/verify``,
``/api/health``; described at ``/api/docs``), and Gradio's ``/ask``, ``/compare`` and ``/chat``. While
serving, it watches the sources folder and swaps in a rebuilt index when a programme, ``catalog.toml``
or ``parties.toml`` changes (``--watch-interval``; 0 turns it off). No share link, no analytics. Options
fall back to environment variables (chatbot/settings.py); a start-up error is one line on stderr and
exit status 1.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from chatbot.cli import serve_main

    return serve_main(argv, prog="app.py")


if __name__ == "__main__":
    sys.exit(main())
