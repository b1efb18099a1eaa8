"""The web page: a Gradio Blocks app built around one opened :class:`~chatbot.service.Chatbot`.

``build_ui(bot)`` makes the page, ``launch(bot, ...)`` serves it. Gradio is imported inside the
functions, so importing this module is cheap. All HTML comes from :mod:`chatbot.cards`, which
escapes every piece of outside text.

Machines use the public endpoints ``/ask``, ``/compare`` and ``/chat`` (a conversation turn with
its ``history``: follow-up questions, :mod:`chatbot.chat`); the page's own event
handlers are private (not in the API docs, not callable by the Gradio clients).

Citation → source: each citation is a link ``?source=FILE&start=N&end=M``. A plain click is
caught in the browser (the transcript's ``js_on_load``) and sent to the server as a ``click``
event with the file and range; the server switches to the "Kilder" tab and renders the
document with that range marked, and the browser scrolls to the mark. Opening the link in a
new tab (or sharing it) loads the page with those query parameters, and the page's load
event shows the same view.
"""


import os
import threading
from typing import TYPE_CHECKING, Any

from . import cards
from .errors import ChatbotError, QuestionError
from .records import Answer
from .querylang import query_forms
from .textnorm import clean_question, valid_text

if TYPE_CHECKING:  # pragma: no cover
    import gradio as gr

    from .chat import Conversation
    from .followup import Reading

    from .service import Chatbot

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported anywhere through us

DEFAULT_K = 5
COMPARE_K = 3
CONCURRENCY = 4  # events the queue runs at once; answering itself is serialised by a lock
QUEUE_SIZE = 256  # events waiting beyond that are refused with "queue full"
TAB_CHAT = "samtale"
LITERAL_LABEL = {"nb": "Søk på ordene slik de står: «{q}»", "nn": "Søk på orda slik dei står: «{q}»",
                 "en": "Search the words as typed: «{q}»"}
TAB_SOURCES = "kilder"

EXAMPLES = (
    "Hva vil Venstre med LAR?",
    "What does Helsepartiet want for homeless people?",
    "Hvem vil avkriminalisere bruk av narkotika?",
    "Which party wants safe injection rooms?",
    "Hva sier partiene om ettervern?",
    "Hva mener Helsepartiet om sprøyterom?",
)

# Browser side of the transcript: citation links open the source in the page (a plain click),
# copy buttons copy the citation. Modifier-clicks keep the link's normal behaviour (new tab).
_TRANSCRIPT_JS = """
element.addEventListener('click', (ev) => {
  const copy = ev.target.closest('button[data-copy]');
  if (copy) {
    ev.preventDefault();
    const done = () => { copy.textContent = 'Kopiert'; setTimeout(() => { copy.textContent = 'Kopier'; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(copy.dataset.copy).then(done, () => {});
    } else {
      const area = document.createElement('textarea');
      area.value = copy.dataset.copy; document.body.appendChild(area); area.select();
      try { document.execCommand('copy'); done(); } catch (e) {} area.remove();
    }
    return;
  }
  const link = ev.target.closest('a[data-source]');
  if (!link || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  if (link.classList.contains('citation')) {
    window.__chatbotCitation = Array.from(document.querySelectorAll('#transcript a.citation')).indexOf(link);
  }
  trigger('click', {cite_source: link.dataset.source,
                    cite_start: link.dataset.start ? Number(link.dataset.start) : null,
                    cite_end: link.dataset.end ? Number(link.dataset.end) : null});
});
"""

# Scroll the cited range into view whenever the source view changes (and when it first shows).
_SOURCE_JS = """
const show = () => setTimeout(() => {
  const mark = element.querySelector('mark.cited');
  const box = element.querySelector('.src-text');
  if (!mark || !box || mark.offsetParent === null) return;
  box.scrollTop += mark.getBoundingClientRect().top - box.getBoundingClientRect().top - box.clientHeight / 4;
  const view = element.querySelector('.source-view') || element;
  view.scrollIntoView({block: 'start'});
}, 80);
show();
watch('value', show);
element.addEventListener('click', (ev) => {
  const back = ev.target.closest('a[data-action="back"]');
  if (!back || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  trigger('click', {action: 'back'});
});
"""

# Back in the chat: bring the citation that was followed into view again.
_SCROLL_TO_CITATION = """
() => { setTimeout(() => {
  const links = document.querySelectorAll('#transcript a.citation');
  const i = window.__chatbotCitation;
  const target = (i !== undefined && i >= 0 && links[i]) ? links[i].closest('.card') : document.querySelector('#transcript');
  if (target) target.scrollIntoView({block: 'center'});
}, 80); }
"""

_SCROLL_TO_LAST_TURN = """
() => { setTimeout(() => {
  const turns = document.querySelectorAll('#transcript .turn');
  if (turns.length) turns[turns.length - 1].scrollIntoView({block: 'start', behavior: 'smooth'});
}, 60); }
"""


class WebHandlers:
    """What the page's events do, without Gradio: testable directly."""

    def __init__(self, bot: "Chatbot", k: int = DEFAULT_K, compare_k: int = COMPARE_K):
        self.bot = bot
        self.k = k
        self.compare_k = compare_k
        self.documents = bot.catalog.by_source()
        self.parties: tuple[str, ...] = tuple(cards.sort_parties(bot.answerer.available_parties))
        # The embedder (sentence-transformers / torch) is not documented as thread-safe, and the
        # index's search structures are shared: answer one question at a time.
        self._lock = threading.Lock()

    # ---- answering -------------------------------------------------------------------------

    def answer(self, question: str, k: int | None = None, party: Any = None, mode: str = "hybrid") -> Answer:
        with self._lock:
            return self.bot.ask(question if isinstance(question, str) else "", k=self.k if k is None else k,
                                party=party, mode=mode)

    def terms(self, question: str) -> frozenset[str]:
        """Words to highlight: the question's content words, without the party names it mentions."""
        question = valid_text(question or "")[: self.bot.answerer.settings.max_question_chars]
        mentions = self.bot.answerer.parties.find(question)
        # an English question also highlights the Norwegian glossary terms it was searched with
        added = query_forms(question, self.bot.answerer.glossary).norwegian
        return cards.query_terms(f"{question} {added}".strip(), exclude=[m.alias for m in mentions])

    def party_filter(self, checked: Any) -> list[str] | None:
        """None when every party is checked (no filter), else the checked ones."""
        chosen = [p for p in self.parties if p in set(checked or [])]
        return None if len(chosen) == len(self.parties) else chosen

    # ---- the API ---------------------------------------------------------------------------

    def api_ask(self, question: str, k: int = DEFAULT_K, party: str | None = None, mode: str = "hybrid") -> dict:
        """The same JSON object as `chatbot ask --json`. `party`: one party, or several separated by commas."""
        import gradio as gr

        try:
            k = _whole(k)
            if isinstance(party, str):
                parties = [p.strip() for p in party.split(",") if p.strip()]
            elif isinstance(party, (list, tuple)):
                parties = [p.strip() for p in party if isinstance(p, str) and p.strip()]
            else:
                parties = None
            answer = self.answer(question, k=k, party=parties or None, mode=mode or "hybrid")
        except ChatbotError as exc:
            raise gr.Error(str(exc)) from None
        return self.bot.to_dict(answer)

    def api_compare(self, question: str, k: int = COMPARE_K, mode: str = "hybrid") -> dict:
        """Each party's best passages for the same question: {party: JSON object as from /ask}."""
        import gradio as gr

        try:
            k = _whole(k)
            return {p: self.bot.to_dict(self.answer(question, k=k, party=p, mode=mode or "hybrid")) for p in self.parties}
        except ChatbotError as exc:
            raise gr.Error(str(exc)) from None

    # ---- the page --------------------------------------------------------------------------

    def chat_turn(self, question: str, checked: Any = None) -> str:
        question = valid_text(question) if isinstance(question, str) else ""
        if checked is not None and not checked:
            return cards.message_turn(question, cards.EMPTY_FILTER)
        party = self.party_filter(checked) if checked is not None else None
        try:
            answer = self.answer(question, party=party)
        except QuestionError as exc:
            return cards.message_turn(question, str(exc))
        note = f"Partifilter: bare {', '.join(party)}." if party and answer.answered else None
        return cards.turn(question, answer, self.documents, self.terms(question), filter_note=note)

    def conversation_turn(self, question: str, checked: Any = None, conversation: "Conversation | None" = None,
                          literal: bool = False) -> tuple[str, "Conversation", "Reading | None"]:
        """A chat turn read in the light of the conversation so far (follow-ups): (html, conversation, reading)."""
        from .chat import Conversation, take_turn

        conversation = conversation if isinstance(conversation, Conversation) else Conversation()
        question = valid_text(question) if isinstance(question, str) else ""
        if checked is not None and not checked:
            return cards.message_turn(question, cards.EMPTY_FILTER), conversation, None
        party = self.party_filter(checked) if checked is not None else None
        try:
            with self._lock:
                turn = take_turn(self.bot, conversation, question, k=self.k, party=party, literal=literal,
                                 compare_k=self.compare_k)
        except QuestionError as exc:
            return cards.message_turn(question, str(exc)), conversation, None
        reading = turn.reading
        terms = self.terms(reading.interpreted)
        if turn.by_party:
            html = cards.compare_turn(question, turn.by_party, self.documents, terms, reading_note=reading.note())
        else:
            note = f"Partifilter: bare {', '.join(party)}." if party and turn.answer.answered else None
            html = cards.turn(question, turn.answer, self.documents, terms, filter_note=note, reading_note=reading.note())
        return html, conversation, reading

    def api_chat(self, question: str, history: Any = None, k: int = DEFAULT_K, party: str | None = None,
                 mode: str = "hybrid", literal: bool = False) -> dict:
        """One chat turn: the /ask object plus "interpreted", "context_used", "rule" and "history" (send it back
        with the next turn). `history`: the earlier turns, as the user's texts or as the "history" returned."""
        import gradio as gr

        from .chat import replay, take_turn

        try:
            k = _whole(k)
            parties = [p.strip() for p in party.split(",") if p.strip()] if isinstance(party, str) else None
            if history is not None and not isinstance(history, list):
                raise QuestionError("history must be a list of earlier turns")
            with self._lock:
                conversation = replay(self.bot, history or [], k=k, mode=mode or "hybrid")
                turn = take_turn(self.bot, conversation, question if isinstance(question, str) else "", k=k,
                                 party=parties or None, mode=mode or "hybrid", literal=bool(literal),
                                 compare_k=self.compare_k)
        except ChatbotError as exc:
            raise gr.Error(str(exc)) from None
        out = turn.to_dict(self.documents)
        kept = [item for item in (history or []) if isinstance(item, (str, dict))]
        out["history"] = kept + [{"question": out["question"], "interpreted": out["interpreted"],
                                  "context_used": out["context_used"], "rule": out["rule"],
                                  "reading_parties": out["reading_parties"],
                                  "passages": [{"party": p["party"]} for p in out["passages"]]}]
        return out

    def compare_answers(self, question: str, checked: Any = None) -> dict[str, Answer]:
        parties = self.parties if checked is None else [p for p in self.parties if p in set(checked)]
        return {p: self.answer(question, k=self.compare_k, party=p) for p in parties}

    def compare_turn(self, question: str, checked: Any = None) -> str:
        question = valid_text(question) if isinstance(question, str) else ""
        if checked is not None and not checked:
            return cards.message_turn(question, cards.EMPTY_FILTER, "Sammenlign partiene")
        if not clean_question(question):  # one notice for the question, not one per party
            return cards.message_turn(question, self.answer(question).notice or cards.NO_PASSAGES, "Sammenlign partiene")
        answers = self.compare_answers(question, checked)
        return cards.compare_turn(question, answers, self.documents, self.terms(question))

    def source_page(self, source: str | None, start: Any = None, end: Any = None) -> tuple[str, str]:
        """(documents table, document view) for a file and an optional marked range."""
        source = source if source in self.documents else None
        if source is None:
            first = cards.sort_parties([d.party for d in self.documents.values()])
            source = next((d.source for d in self.bot.catalog.documents if first and d.party == first[0]), None)
        if source is None:
            return cards.documents_list(self.bot.catalog.documents), cards.notice("Ingen kilder i katalogen.", "none")
        document = self.documents[source]
        view = cards.source_view(document, self.bot.catalog.text(source), _int_or_none(start), _int_or_none(end))
        return cards.documents_list(self.bot.catalog.documents, source), view


def _whole(k: Any) -> int:
    if isinstance(k, float) and k.is_integer():
        return int(k)
    if isinstance(k, str) and k.strip().isdigit():
        return int(k)
    if isinstance(k, int) and not isinstance(k, bool):
        return k
    raise QuestionError("k must be a whole number from 1 to 50")


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None or value == "" else int(value)
    except (TypeError, ValueError):
        return None


def theme():
    import gradio as gr

    # System fonts only: the page loads nothing from other sites (no web fonts).
    return gr.themes.Soft(
        primary_hue="blue", neutral_hue="slate",
        font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
    )


def build_ui(bot: "Chatbot", handlers: WebHandlers | None = None) -> "gr.Blocks":
    """The page and the API around one opened chatbot."""
    import gradio as gr

    h = handlers or WebHandlers(bot)
    private = {"api_visibility": "private"}

    with gr.Blocks(title="Rusomsorg i partiprogrammene", fill_width=False) as demo:
        gr.HTML(
            "<h1>Rusomsorg i partiprogrammene</h1>"
            "<p>Svar med partienes egne ord: hvert svar er et ordrett sitat fra et partiprogram, med kildehenvisning.</p>",
            elem_id="app-title", js_on_load=None)
        turns = gr.State([])
        last_question = gr.State("")
        conversation = gr.State(None)  # chatbot.chat.Conversation of this browser session
        with gr.Tabs(selected=TAB_CHAT) as tabs:
            with gr.Tab("Samtale", id=TAB_CHAT):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=360):
                        transcript = gr.HTML(cards.transcript([]), elem_id="transcript", js_on_load=_TRANSCRIPT_JS)
                        question = gr.Textbox(
                            label="Spørsmål", placeholder="For eksempel: Hva vil Venstre med LAR?",
                            lines=1, max_lines=4, max_length=2000, elem_id="question", autofocus=True, submit_btn=False)
                        with gr.Row():
                            ask_btn = gr.Button("Spør", variant="primary", elem_id="ask", scale=2)
                            compare_btn = gr.Button("Sammenlign partiene", variant="secondary", elem_id="compare", scale=2)
                            clear_btn = gr.Button("Tøm samtalen", variant="secondary", elem_id="clear", scale=1)
                        literal_btn = gr.Button("Søk på ordene slik de står", variant="secondary", size="sm",
                                                elem_id="literal", visible=False)
                    with gr.Column(scale=1, min_width=240):
                        party_filter = gr.CheckboxGroup(
                            choices=list(h.parties), value=list(h.parties), label="Partier",
                            info="Vis avsnitt fra disse partiene.", elem_id="party-filter")
                        gr.Markdown("**Eksempler**")
                        with gr.Column(elem_id="examples"):
                            example_btns = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
                        gr.Markdown(
                            "Svarene er utdrag, ikke sammendrag: les gjerne hele avsnittet under «Vis sammenheng», "
                            "eller hele kilden under «Kilder».", elem_id="about")
            with gr.Tab("Kilder", id=TAB_SOURCES):
                table_html, view_html = h.source_page(None)
                doc_table = gr.HTML(table_html, elem_id="doc-table", js_on_load=_TRANSCRIPT_JS)
                source_view = gr.HTML(view_html, elem_id="source-view", js_on_load=_SOURCE_JS)

        # ---- events (private: the page's own plumbing) ------------------------------------
        def on_ask(q, checked, history, last, conv):
            html, conv, reading = h.conversation_turn(q, checked, conv)
            history = list(history or []) + [html]
            searched = reading.interpreted if reading is not None else (q or "").strip()
            rewritten = bool(reading is not None and reading.context_used)
            label = LITERAL_LABEL.get(reading.language if reading is not None else "nb", LITERAL_LABEL["nb"])
            button = gr.Button(value=label.format(q=(q or "").strip()[:80]), visible=rewritten)
            return (cards.transcript(history), history, "", searched or last, conv, button)

        def on_literal(checked, history, last, conv):
            """Search the last turn's words as typed, in place of the follow-up reading."""
            if conv is None or not getattr(conv, "turns", None):
                return cards.transcript(history or []), history, last, conv, gr.Button(visible=False)
            typed = conv.turns[-1].question
            conv.turns.pop()
            conv.contexts.pop()
            html, conv, _ = h.conversation_turn(typed, checked, conv, literal=True)
            history = list(history or [])[:-1] + [html]
            return cards.transcript(history), history, typed, conv, gr.Button(visible=False)

        def on_compare(q, checked, history, last):
            q = q if (q or "").strip() else (last or "")
            history = list(history or []) + [h.compare_turn(q, checked)]
            return cards.transcript(history), history, ""

        ask_inputs = [question, party_filter, turns, last_question, conversation]
        ask_outputs = [transcript, turns, question, last_question, conversation, literal_btn]
        for trigger in (ask_btn.click, question.submit):
            trigger(on_ask, inputs=ask_inputs, outputs=ask_outputs, **private
                    ).then(None, js=_SCROLL_TO_LAST_TURN, **private)
        compare_btn.click(on_compare, inputs=ask_inputs[:4], outputs=[transcript, turns, question], **private
                          ).then(None, js=_SCROLL_TO_LAST_TURN, **private)
        literal_btn.click(on_literal, inputs=[party_filter, turns, last_question, conversation],
                          outputs=[transcript, turns, last_question, conversation, literal_btn], **private
                          ).then(None, js=_SCROLL_TO_LAST_TURN, **private)
        for btn, text in zip(example_btns, EXAMPLES):
            btn.click(lambda c, t, last, conv, text=text: on_ask(text, c, t, last, conv),
                      inputs=[party_filter, turns, last_question, conversation], outputs=ask_outputs, **private
                      ).then(None, js=_SCROLL_TO_LAST_TURN, **private)
        clear_btn.click(lambda: (cards.transcript([]), [], "", None, gr.Button(visible=False)),
                        outputs=[transcript, turns, last_question, conversation, literal_btn], **private)

        def open_cited(evt: gr.EventData):
            data = getattr(evt, "_data", None) or {}
            table, view = h.source_page(data.get("cite_source"), data.get("cite_start"), data.get("cite_end"))
            return gr.Tabs(selected=TAB_SOURCES), table, view

        transcript.click(open_cited, outputs=[tabs, doc_table, source_view], **private)
        doc_table.click(open_cited, outputs=[tabs, doc_table, source_view], **private)

        def back_to_chat():
            return gr.Tabs(selected=TAB_CHAT)

        source_view.click(back_to_chat, outputs=[tabs], **private).then(None, js=_SCROLL_TO_CITATION, **private)

        def on_load(request: gr.Request):
            params = dict(request.query_params) if request is not None else {}
            source = params.get("source")
            if not source:
                return gr.Tabs(), gr.HTML(), gr.HTML()
            if source not in h.documents:
                return gr.Tabs(selected=TAB_SOURCES), cards.documents_list(bot.catalog.documents), cards.unknown_source(source)
            table, view = h.source_page(source, params.get("start"), params.get("end"))
            return gr.Tabs(selected=TAB_SOURCES), table, view

        demo.load(on_load, outputs=[tabs, doc_table, source_view], **private)

        # ---- the API ----------------------------------------------------------------------
        def ask(question: str, k: int = DEFAULT_K, party: str | None = None, mode: str = "hybrid") -> dict:
            """Answer a question with quoted passages: the same JSON object as `chatbot ask --json`.
            `party` limits the passages to one party (or several, comma-separated); `mode` is hybrid, dense or bm25."""
            return h.api_ask(question, k, party, mode)

        def compare(question: str, k: int = COMPARE_K, mode: str = "hybrid") -> dict:
            """Each party's best passages for the same question, as {party: the /ask JSON object}."""
            return h.api_compare(question, k, mode)

        def chat(question: str, history: list | None = None, k: int = DEFAULT_K, party: str | None = None,
                 mode: str = "hybrid", literal: bool = False) -> dict:
            """One turn of a conversation: follow-ups ("Og Helsepartiet?", "Er de enige?") are read in the light of
            `history`, the earlier turns (the user's texts, or the "history" the previous call returned). Returns the
            /ask object plus "interpreted" (the question searched), "context_used", "rule" and "history"."""
            return h.api_chat(question, history, k, party, mode, literal)

        gr.api(ask, api_name="ask")
        gr.api(compare, api_name="compare")
        gr.api(chat, api_name="chat")
    demo.webui_handlers = h  # for tests and embedding
    return demo


def launch(bot: "Chatbot", host: str = "127.0.0.1", port: int = 7860, *, prevent_thread_lock: bool = False,
           quiet: bool = False, concurrency: int = CONCURRENCY, queue_size: int = QUEUE_SIZE):
    """Serve the page (no share link, no analytics, no web fonts). Returns (demo, local URL)."""
    demo = build_ui(bot)
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    _, url, _ = demo.launch(
        server_name=host, server_port=port, share=False, inbrowser=False, prevent_thread_lock=prevent_thread_lock,
        quiet=quiet, show_error=True, footer_links=["api"], ssr_mode=False, mcp_server=False, pwa=False,
        enable_monitoring=False, run_history=False, theme=theme(), css=cards.CSS,
    )
    return demo, url
