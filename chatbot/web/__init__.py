"""Serving: the JSON objects (api), FastAPI with the mounted page (server), the Gradio glue (webui), the
HTML (cards) and the page's CSS and JavaScript (static/, package data)."""
