"""The web page: a Gradio Blocks app built around one opened :class:`~chatbot.service.Chatbot`.

``build_ui(bot)`` makes the page; ``chatbot.web.server.launch(bot, ...)`` serves it. Gradio is imported inside the
functions, so importing this module is cheap. All HTML comes from :mod:`chatbot.web.cards` as
:class:`markupsafe.Markup`, which escapes every piece of outside text; the page's CSS and JavaScript are files in
``chatbot/web/static/``, read when the page is built.

Machines use the public endpoints ``/ask``, ``/compare`` and ``/chat`` (a conversation turn with
its ``history``: follow-up questions, :mod:`chatbot.chat`); the page's own event
handlers are private (not in the API docs, not callable by the Gradio clients).

Citation → source: each citation is a link ``?source=FILE&start=N&end=M``. A plain click is
caught in the browser (``static/links.js``) and sent to the server as a ``click`` event with the
file and range; the server switches to the "Kilder" tab and renders the document with that
range marked, and the browser scrolls to the mark and moves the focus to it
(``static/source.js``). The page keeps the address bar in step (``static/page.js``): the last
question as ``?q=…``, an opened source as ``?source=…&start=…&end=…``, each with the corpus
version ``v=…``; Back moves between them inside the page. Loading the page with those
parameters shows the same answer or source, and says so when the sources have changed since
the link was made.
"""


from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from . import api, cards
from ..errors import ChatbotError, QuestionError
from ..records import Answer
from ..querylang import detect_language, query_forms
from ..query.prepare import cut_question
from ..textnorm import clean_question, valid_text

if TYPE_CHECKING:  # pragma: no cover
    import gradio as gr

    from ..chat import Conversation
    from ..followup import Reading

    from ..service import Chatbot

from ..settings import disable_gradio_analytics  # noqa: E402

disable_gradio_analytics()  # before gradio is imported anywhere through us

DEFAULT_K = 5
COMPARE_K = 3
QUEUE_SIZE = 256  # events waiting beyond the queue's concurrency (chatbot/web/server.py) are refused with "queue full"
TAB_CHAT = "samtale"
LITERAL_LABEL = {"nb": "Søk på ordene slik de står: «{q}»", "nn": "Søk på orda slik dei står: «{q}»",
                 "en": "Search the words as typed: «{q}»"}
TAB_SOURCES = "kilder"
TAB_CHECK = "sjekk"
TABS = (TAB_CHAT, TAB_SOURCES, TAB_CHECK)
NO_PARTY = ""  # the quote check's "not attributed to a party"

EXAMPLES = (
    "Hva vil Venstre med LAR?",
    "What does Helsepartiet want for homeless people?",
    "Hvem vil avkriminalisere bruk av narkotika?",
    "Which party wants safe injection rooms?",
    "Hva sier partiene om ettervern?",
    "Hva mener Helsepartiet om sprøyterom?",
)

# After a click in the page (a citation followed, or Back): when the chat or the quote check is
# showing again, bring the followed citation into view and give it the focus.
_AFTER_CLICK = """
() => { setTimeout(() => {
  const view = document.querySelector('#source-view .source-view');
  if (view && view.offsetParent !== null) return;
  let link = window.__chatbotReturn;
  if (!link || !link.isConnected) {
    const box = window.__chatbotReturnBox ? document.getElementById(window.__chatbotReturnBox) : null;
    const links = box ? box.querySelectorAll('a.citation') : [];
    const i = window.__chatbotReturnIndex;
    link = (i !== undefined && i >= 0 && links[i]) ? links[i] : null;
  }
  if (link && link.offsetParent !== null) {
    (link.closest('.card') || link).scrollIntoView({block: 'center'});
    link.focus({preventScroll: true});
  }
}, 80); }
"""

_SCROLL_TO_LAST_TURN = """
() => { setTimeout(() => {
  const turns = document.querySelectorAll('#transcript .turn');
  if (turns.length) turns[turns.length - 1].scrollIntoView({block: 'start', behavior: 'smooth'});
}, 60); }
"""


def _js(*names: str) -> str:
    return "\n".join(cards.static_text(n) for n in names)


class WebHandlers:
    """What the page's events do, without Gradio: testable directly."""

    def __init__(self, bot: "Chatbot | LiveChatbot", k: int = DEFAULT_K, compare_k: int = COMPARE_K):
        self._served = bot  # a Chatbot, or a chatbot.live.LiveChatbot whose current chatbot can be swapped
        self.k = k
        self.compare_k = compare_k
        # No lock: concurrent questions share model calls (chatbot/models/batching.py) and the index is only read.

    @property
    def bot(self) -> "Chatbot":
        """The chatbot being served now (after a source change, the new one)."""
        served = self._served
        return served.current if hasattr(served, "current") else served

    @property
    def documents(self):
        return self.bot.catalog.by_source()

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(cards.sort_parties(self.bot.answerer.available_parties))

    # ---- answering -------------------------------------------------------------------------

    def answer(self, question: str, k: int | None = None, party: Any = None, mode: str = "hybrid") -> Answer:
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
        """The same JSON object as `chatbot ask --json` (chatbot.web.api.ask; the JSON API's /api/ask)."""
        return _gradio_errors(api.ask, self.bot, question, k, party, mode)

    def api_compare(self, question: str, k: int = COMPARE_K, mode: str = "hybrid") -> dict:
        """Each party's best passages for the same question: {party: JSON object as from /ask}."""
        return _gradio_errors(api.compare, self.bot, question, k, mode)

    # ---- the page --------------------------------------------------------------------------

    @property
    def texts(self) -> dict[str, str]:
        """Each catalogued file's text as it was when the served chatbot opened (``Chatbot.source_texts``)."""
        return self.bot.source_texts()

    @property
    def corpus_version(self) -> str:
        try:
            return str(self.bot.corpus_version)
        except (AttributeError, TypeError, KeyError):  # a stand-in chatbot without an index manifest
            return ""

    def searched(self, typed: str, answer: Answer | None) -> tuple[str, bool]:
        """(the question as searched, whether it was cut): the answer's own record when it has one,
        else the answerer's rule (cleaned, cut at a word boundary to the longest length it takes)."""
        cleaned = clean_question(typed or "")
        limit = self.bot.answerer.settings.max_question_chars
        cut = len(cleaned) > limit
        own = cut_question(cleaned, limit)
        searched = getattr(answer, "searched", None) if answer is not None else None
        if isinstance(searched, str) and searched:
            return searched, bool(getattr(answer, "truncated", False)) or cut
        return own, cut

    def filter_notes(self, answer: Answer, party: list[str] | None, lang: str) -> str | None:
        """The party-filter line: which parties it shows, and which parties the question names that it hides."""
        if not party:
            return None
        notes = []
        hidden = [p for p in answer.parties if p in self.parties and p not in party]
        if hidden:
            if not all(p in (answer.notice or "") for p in hidden):  # unless the answer's notice says it
                notes.append(cards.say("filter_hides", lang, named=_and(hidden, lang), shown=", ".join(party)))
        elif answer.answered:
            notes.append(cards.say("filter_only", lang, parties=", ".join(party)))
        return " ".join(notes) or None

    def chat_turn(self, question: str, checked: Any = None) -> Markup:
        question = valid_text(question) if isinstance(question, str) else ""
        lang = detect_language(question)
        if checked is not None and not checked:
            return cards.message_turn(question, cards.say("empty_filter", lang), lang=lang)
        party = self.party_filter(checked) if checked is not None else None
        try:
            answer = self.answer(question, party=party)
        except QuestionError as exc:
            return cards.message_turn(question, str(exc))
        shown, cut = self.searched(question, answer)
        return cards.turn(shown or question, answer, self.documents, self.terms(question), lang=lang,
                          filter_note=self.filter_notes(answer, party, lang), texts=self.texts,
                          cut_note=cards.say("cut", lang, n=len(shown)) if cut else None)

    def conversation_turn(self, question: str, checked: Any = None, conversation: "Conversation | None" = None,
                          literal: bool = False) -> tuple[Markup, "Conversation", "Reading | None"]:
        """A chat turn read in the light of the conversation so far (follow-ups): (html, conversation, reading)."""
        from ..chat import Conversation, take_turn

        conversation = conversation if isinstance(conversation, Conversation) else Conversation()
        question = valid_text(question) if isinstance(question, str) else ""
        if checked is not None and not checked:
            lang = detect_language(question)
            return cards.message_turn(question, cards.say("empty_filter", lang), lang=lang), conversation, None
        party = self.party_filter(checked) if checked is not None else None
        try:
            turn = take_turn(self.bot, conversation, question, k=self.k, party=party, literal=literal,
                             compare_k=self.compare_k)
        except QuestionError as exc:
            return cards.message_turn(question, str(exc)), conversation, None
        reading = turn.reading
        lang = reading.language if reading.language in ("nb", "nn", "en") else "nb"
        terms = self.terms(reading.interpreted)
        if reading.context_used:  # the bubble shows what was typed; the note says how it was searched
            shown, cut = self.searched(question, None)
        else:
            shown, cut = self.searched(question, turn.answer)
        cut_note = cards.say("cut", lang, n=len(shown)) if cut else None
        link_q = self.searched(reading.interpreted, None)[0] if reading.context_used else shown
        if turn.by_party:
            html = cards.compare_turn(shown or question, turn.by_party, self.documents, terms,
                                      reading_note=reading.note(), lang=lang, texts=self.texts)
        else:
            html = cards.turn(shown or question, turn.answer, self.documents, terms, lang=lang,
                              filter_note=self.filter_notes(turn.answer, party, lang), reading_note=reading.note(),
                              cut_note=cut_note, typed=link_q, texts=self.texts)
        return html, conversation, reading

    def api_chat(self, question: str, history: Any = None, k: int = DEFAULT_K, party: str | None = None,
                 mode: str = "hybrid", literal: bool = False) -> dict:
        """One chat turn: the /ask object plus "interpreted", "context_used", "rule" and "history" (send it back
        with the next turn). `history`: the earlier turns, as the user's texts or as the "history" returned."""
        return _gradio_errors(api.chat, self.bot, question if isinstance(question, str) else "", history, k,
                              party, mode, bool(literal))

    def compare_answers(self, question: str, checked: Any = None) -> dict[str, Answer]:
        parties = self.parties if checked is None else [p for p in self.parties if p in set(checked)]
        return {p: self.answer(question, k=self.compare_k, party=p) for p in parties}

    def compare_turn(self, question: str, checked: Any = None) -> Markup:
        question = valid_text(question) if isinstance(question, str) else ""
        lang = detect_language(question)
        label = cards.say("compare_label", lang)
        if checked is not None and not checked:
            return cards.message_turn(question, cards.say("empty_filter", lang), label, lang=lang)
        if not clean_question(question):  # one notice for the question, not one per party
            return cards.message_turn(question, self.answer(question).notice or cards.NO_PASSAGES, label)
        answers = self.compare_answers(question, checked)
        shown, _ = self.searched(question, next(iter(answers.values()), None))
        return cards.compare_turn(shown or question, answers, self.documents, self.terms(question), lang=lang,
                                  texts=self.texts)

    def source_page(self, source: str | None, start: Any = None, end: Any = None,
                    opened: bool = False) -> tuple[Markup, Markup]:
        """(documents table, document view) for a file and an optional marked range. ``opened``: the
        reader asked for this view (a click or a link), so the page puts it into the address bar."""
        source = source if source in self.documents else None
        if source is None:
            opened = False
            first = cards.sort_parties([d.party for d in self.documents.values()])
            source = next((d.source for d in self.bot.catalog.documents if first and d.party == first[0]), None)
        if source is None:
            return cards.documents_list(self.bot.catalog.documents), cards.notice("Ingen kilder i katalogen.", "none")
        document = self.documents[source]
        view = cards.source_view(document, self.bot.catalog.text(source), _int_or_none(start), _int_or_none(end),
                                 opened=opened)
        return cards.documents_list(self.bot.catalog.documents, source), view

    def version_note(self, version: Any) -> Markup:
        """A warning when a link was made for other sources than the ones served (its ``v=``)."""
        current = self.corpus_version
        if not isinstance(version, str) or not version or not current or version == current:
            return Markup("")
        return cards.notice(cards.say("version_changed", old=version[:40], new=current), "warn")

    # ---- the quote check ---------------------------------------------------------------------

    @property
    def quote_corpus(self):
        return self.bot.quote_corpus()

    def check_quote(self, quote: Any, party: Any = None) -> Markup:
        """The "Sjekk et sitat" tab: is the quote in the sources (exactly, nearly, not at all)?"""
        from ..quotecheck import resolve_party, verify

        quote = valid_text(quote) if isinstance(quote, str) else ""
        if not quote.strip():
            return cards.notice("Lim inn sitatet du vil sjekke i feltet over.", "none")
        try:
            claimed = None
            if isinstance(party, str) and party.strip() and party != NO_PARTY:
                claimed = resolve_party(party, self.bot.answerer.parties, self.quote_corpus.parties)
            verdict = verify(quote, self.quote_corpus, claimed)
        except ChatbotError as exc:
            return cards.notice(_sentence(str(exc)), "none")
        return cards.quote_verdict(verdict, self.documents, self.texts)


def _and(names: list[str], lang: str) -> str:
    word = {"en": "and"}.get(lang, "og")
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word} {names[-1]}"


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else text


def _gradio_errors(function, *args):
    """A bad argument is a Gradio error with the one-line message (a 4xx-like answer to the client)."""
    import gradio as gr

    try:
        return function(*args)
    except ChatbotError as exc:
        raise gr.Error(str(exc)) from None


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None or value == "" else int(value)
    except (TypeError, ValueError):
        return None


def theme():
    import gradio as gr

    # System fonts only: the page loads nothing from other sites (no web fonts). The colours
    # Soft leaves at 3–4:1 (subdued text, labels, the primary button) are set to ≥ 4.5:1.
    return gr.themes.Soft(
        primary_hue="blue", neutral_hue="slate",
        font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
    ).set(
        color_accent="*primary_700",
        body_text_color_subdued="*neutral_600",
        block_info_text_color="*neutral_600",
        input_placeholder_color="*neutral_500",
        block_label_text_color="*primary_700",
        block_title_text_color="*primary_700",
        link_text_color="*primary_700",
        link_text_color_hover="*primary_800",
        link_text_color_visited="*primary_800",
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_text_color="white",
        checkbox_label_background_fill_selected="*primary_700",
        checkbox_label_text_color_selected="white",
    )


def build_ui(bot: "Chatbot", handlers: WebHandlers | None = None) -> "gr.Blocks":
    """The page and the API around one opened chatbot."""
    import gradio as gr

    h = handlers or WebHandlers(bot)
    private = {"api_visibility": "private"}
    links_js, page_js, source_js = _js("links.js"), _js("links.js", "page.js"), _js("source.js")

    with gr.Blocks(title="Rusomsorg i partiprogrammene", fill_width=False) as demo:
        def header() -> Markup:
            return Markup("<h1>Rusomsorg i partiprogrammene</h1>") + cards.scope(h.bot.catalog.documents)

        title = gr.HTML(header(), elem_id="app-title", js_on_load=None)
        link_note = gr.HTML("", elem_id="link-note", visible=False)
        turns = gr.State([])
        last_question = gr.State("")
        conversation = gr.State(None)  # chatbot.chat.Conversation of this browser session
        with gr.Tabs(selected=TAB_CHAT, overflow_behavior="wrap") as tabs:  # every tab visible on a phone
            with gr.Tab("Samtale", id=TAB_CHAT):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=300):
                        transcript = gr.HTML(cards.transcript([], version=h.corpus_version), elem_id="transcript",
                                             js_on_load=page_js)
                        question = gr.Textbox(
                            label="Spørsmål", placeholder="For eksempel: Hva vil Venstre med LAR?",
                            lines=1, max_lines=4, elem_id="question", autofocus=True, submit_btn=False)
                        with gr.Row():
                            ask_btn = gr.Button("Spør", variant="primary", elem_id="ask", scale=2)
                            compare_btn = gr.Button("Sammenlign partiene", variant="secondary", elem_id="compare", scale=2)
                            clear_btn = gr.Button("Tøm samtalen", variant="secondary", elem_id="clear", scale=1)
                        literal_btn = gr.Button("Søk på ordene slik de står", variant="secondary", size="sm",
                                                elem_id="literal", visible=False)
                    with gr.Column(scale=1, min_width=240):
                        party_filter = gr.CheckboxGroup(
                            choices=list(h.parties), value=list(h.parties), label="Partier",
                            info="Vis avsnitt fra disse partiene (i alfabetisk rekkefølge).", elem_id="party-filter")
                        gr.Markdown("**Eksempler**")
                        with gr.Column(elem_id="examples"):
                            example_btns = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
                        gr.Markdown(
                            "Svarene er utdrag, ikke sammendrag: les gjerne hele avsnittet under «Vis sammenheng», "
                            "eller hele kilden under «Kilder».", elem_id="about")
            with gr.Tab("Kilder", id=TAB_SOURCES):
                table_html, view_html = h.source_page(None)
                doc_table = gr.HTML(table_html, elem_id="doc-table", js_on_load=links_js)
                source_view = gr.HTML(view_html, elem_id="source-view", js_on_load=source_js)
            with gr.Tab("Sjekk et sitat", id=TAB_CHECK):
                gr.HTML(Markup('<p class="sources-intro">Lim inn et sitat som tilskrives et parti. Sjekken sier om det står '
                        "i kildene ordrett, nesten ordrett (med forskjellene markert) eller ikke, og viser i så fall "
                        "den nærmeste teksten. Anførselstegn, store og små bokstaver, linjeskift og utelatelser "
                        "(«…», «[…]») spiller ingen rolle.</p>"), elem_id="qc-intro")
                qc_quote = gr.Textbox(label="Sitat", lines=3, max_lines=12, elem_id="qc-quote",
                                      placeholder="For eksempel: LAR bør anses som et skadereduserende tiltak")
                qc_party = gr.Dropdown(choices=[("Ikke oppgitt", NO_PARTY)] + [(p, p) for p in h.parties],
                                       value=NO_PARTY, label="Partiet sitatet tilskrives (valgfritt)",
                                       elem_id="qc-party", filterable=False)
                qc_btn = gr.Button("Sjekk sitatet", variant="primary", elem_id="qc-check")
                qc_result = gr.HTML("", elem_id="qc-result", js_on_load=links_js)

        # ---- events (private: the page's own plumbing) ------------------------------------
        def on_ask(q, checked, history, last, conv):
            if not clean_question(q if isinstance(q, str) else ""):  # no empty turns: a hint instead
                return (cards.transcript(history or [], hint=cards.say("empty_hint"), version=h.corpus_version), history,
                        "", last, conv, gr.Button())
            html, conv, reading = h.conversation_turn(q, checked, conv)
            history = list(history or []) + [html]
            searched = reading.interpreted if reading is not None else (q or "").strip()
            rewritten = bool(reading is not None and reading.context_used)
            label = LITERAL_LABEL.get(reading.language if reading is not None else "nb", LITERAL_LABEL["nb"])
            button = gr.Button(value=label.format(q=(q or "").strip()[:80]), visible=rewritten)
            return (cards.transcript(history, version=h.corpus_version), history, "", searched or last, conv, button)

        def on_literal(checked, history, last, conv):
            """Search the last turn's words as typed, in place of the follow-up reading."""
            if conv is None or not getattr(conv, "turns", None):
                return cards.transcript(history or [], version=h.corpus_version), history, last, conv, gr.Button(visible=False)
            typed = conv.turns[-1].question
            conv.turns.pop()
            conv.contexts.pop()
            html, conv, _ = h.conversation_turn(typed, checked, conv, literal=True)
            history = list(history or [])[:-1] + [html]
            return cards.transcript(history, version=h.corpus_version), history, typed, conv, gr.Button(visible=False)

        def on_compare(q, checked, history, last):
            q = q if (q or "").strip() else (last or "")
            if not clean_question(q or ""):
                return cards.transcript(history or [], hint=cards.say("empty_hint"), version=h.corpus_version), history, ""
            history = list(history or []) + [h.compare_turn(q, checked)]
            return cards.transcript(history, version=h.corpus_version), history, ""

        def busy():
            return gr.Button(interactive=False), gr.Button(interactive=False)

        def ready():
            return gr.Button(interactive=True), gr.Button(interactive=True)

        buttons = [ask_btn, compare_btn]
        ask_inputs = [question, party_filter, turns, last_question, conversation]
        ask_outputs = [transcript, turns, question, last_question, conversation, literal_btn]
        # one event for both triggers, so a second submit while the first is answered is ignored
        ask_triggers = [ask_btn.click, question.submit]
        gr.on(ask_triggers, busy, outputs=buttons, queue=False, **private)
        gr.on(ask_triggers, on_ask, inputs=ask_inputs, outputs=ask_outputs, trigger_mode="once", **private
              ).then(ready, outputs=buttons, **private).then(None, js=_SCROLL_TO_LAST_TURN, **private)
        compare_btn.click(busy, outputs=buttons, queue=False, **private)
        compare_btn.click(on_compare, inputs=ask_inputs[:4], outputs=[transcript, turns, question], **private
                          ).then(ready, outputs=buttons, **private).then(None, js=_SCROLL_TO_LAST_TURN, **private)
        literal_btn.click(on_literal, inputs=[party_filter, turns, last_question, conversation],
                          outputs=[transcript, turns, last_question, conversation, literal_btn], **private
                          ).then(None, js=_SCROLL_TO_LAST_TURN, **private)
        for btn, text in zip(example_btns, EXAMPLES):
            btn.click(lambda c, t, last, conv, text=text: on_ask(text, c, t, last, conv),
                      inputs=[party_filter, turns, last_question, conversation], outputs=ask_outputs, **private
                      ).then(None, js=_SCROLL_TO_LAST_TURN, **private)
        clear_btn.click(lambda: (cards.transcript([], version=h.corpus_version), [], "", None, gr.Button(visible=False)),
                        outputs=[transcript, turns, last_question, conversation, literal_btn], **private)

        def on_click(evt: gr.EventData):
            """A citation or document followed (open it in "Kilder"), or Back (to the chat or the quote check)."""
            data = getattr(evt, "_data", None) or {}
            if data.get("action") == "back":
                tab = data.get("tab") if data.get("tab") in (TAB_CHAT, TAB_CHECK) else TAB_CHAT
                return gr.Tabs(selected=tab), gr.skip(), gr.skip()
            table, view = h.source_page(data.get("cite_source"), data.get("cite_start"), data.get("cite_end"),
                                        opened=True)
            return gr.Tabs(selected=TAB_SOURCES), table, view

        for html_block in (transcript, doc_table, qc_result, source_view):
            html_block.click(on_click, outputs=[tabs, doc_table, source_view], **private
                             ).then(None, js=_AFTER_CLICK, **private)

        qc_inputs = [qc_quote, qc_party]
        gr.on([qc_btn.click, qc_quote.submit], h.check_quote, inputs=qc_inputs, outputs=[qc_result],
              trigger_mode="once", **private)

        def on_load(checked, history, last, conv, request: gr.Request):
            params = dict(request.query_params) if request is not None else {}
            text = h.version_note(params.get("v"))
            note = gr.HTML(text, visible=bool(text))
            source = params.get("source")
            q = params.get("q")
            keep = (gr.skip(),) * 6
            if source:
                if source not in h.documents:
                    return (gr.Tabs(selected=TAB_SOURCES), cards.documents_list(h.bot.catalog.documents),
                            cards.unknown_source(source), note, *keep)
                table, view = h.source_page(source, params.get("start"), params.get("end"), opened=True)
                return (gr.Tabs(selected=TAB_SOURCES), table, view, note, *keep)
            table, view = h.source_page(None)  # as the sources are now (they can change while serving)
            if q and clean_question(q):
                return (gr.Tabs(selected=TAB_CHAT), table, view, note, *on_ask(q, checked, history, last, conv))
            return (gr.skip(), table, view, note, *keep)

        def on_load_page(checked, history, last, conv, request: gr.Request):
            return (header(), *on_load(checked, history, last, conv, request))

        demo.load(on_load_page, inputs=[party_filter, turns, last_question, conversation],
                  outputs=[title, tabs, doc_table, source_view, link_note, *ask_outputs], **private)

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

