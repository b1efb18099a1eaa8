"""Follow-up questions: read a chat turn in the light of the turns before it, by transparent rules.

No text is generated. A follow-up is rewritten into the standalone question a person would
have asked, from pieces that are already there: the party names of the party directory
(``sources/parties.toml``), the previous question's own words, and a fixed question frame
("Hva mener {parti} om {tema}?"). The rules look at what the turn itself contains:

- the parties it names (the party directory), or a group ("de andre", "begge", "the other party");
- a reference to the parties in play ("de", "dem", "partiet", "they", "them", "their");
- a request to compare ("Er de enige?", "Do they agree?", "Hva er forskjellen?");
- whether it has a topic of its own: content words with weight (``chatbot.query.terms``:
  rarity in general language), after the follow-up's own framing words are set aside;
- a follow-up opening ("og …", "hva med …", "what about …", "and …").

Rules, in order (``Rules.read``):

1. No earlier turn, or nothing to refer to: the question stands as asked (``standalone``).
2. A request to compare: the parties named, else the parties in play (the turns on the same
   topic, else the parties of the last answer, else every party), on the turn's own topic or
   the previous one (``compare``).
3. A party named (or a group), no topic of its own: the previous question for that party
   (``party_swap``). A named party with a topic of its own is a complete question.
4. A reference (pronoun), no party named: the parties in play put in place of the pronoun, on
   the turn's own topic, or the previous question for them when it has none (``reference``).
   A short turn that ends in a pronoun for a thing ("vil de øke den?") gets the previous topic in
   its place, for every party when nobody answered the previous question. A question asking which
   party ("Which party wants … their …?") is about every party: its pronouns point inside it, unless
   it asks "which of them" ("hvem av dem …").
5. Asking which party with no topic of its own, or with a pronoun for the previous topic ("og hvem
   er imot?", "who wants to keep it?", "noen som vil verne dem?"): the turn on the previous topic, for
   every party (``which_party``); a turn against something drops the previous topic's stance verb
   ("hvem vil tillate surrogati?", "og hvem er imot?" -> "Hvem er imot surrogati?").
   A which-party turn with a topic of its own that ends in "da", "then", "i stedet" or "instead"
   ("hvem vil sende våpen da?" after Ukraine) carries on the previous topic: «Hvem vil sende våpen
   (ukraina)?», unless the two topics share a content word.
6. A follow-up opening with a topic of its own and no party: the previous question's parties on
   the new topic (``topic_swap``); when the previous question named no party, nothing carries
   over and the question stands as asked.
7. Anything else stands as asked: context never leaks into a question that stands on its own.

After the rules, a turn that asks for more ("what else …?", "hva annet …", "kva meir …", "anything
else?"; not "anyone else?", which asks for other parties) is read without that word and marked
``more``: the answer puts the passages not shown yet in the conversation first (``chat.take_turn``). A
complete question of that kind is a ``more`` reading of its own; a bare "hva mer?" is the previous
question again.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Sequence

from .parties import PartyDirectory
from .querylang import EN_HINTS as _EN_HINTS
from .querylang import NB_HINTS as _NB_HINTS
from .querylang import NN_HINTS as _NN_HINTS
from .querylang import detect_language
from .querylang import guess_language as _language
from .query.prepare import without_mentions
from .query.terms import FRAME_WORDS, MIN_TOPIC_WEIGHT, question_terms
from .textnorm import clean_question, fold, tokens, valid_text

STANDALONE = "standalone"
PARTY_SWAP = "party_swap"
TOPIC_SWAP = "topic_swap"
REFERENCE = "reference"
COMPARE = "compare"
WHICH_PARTY = "which_party"  # "og hvem er imot?": which party, on the previous topic
WHY = "why"  # "hvorfor?", "why?": the reasons of the parties in play, on the previous topic
LITERAL = "literal"  # the user asked for the words as typed
MORE = "more"  # "what else does V want on X?": a complete question, asking past what was shown
KINDS = (STANDALONE, PARTY_SWAP, TOPIC_SWAP, REFERENCE, COMPARE, WHICH_PARTY, WHY, LITERAL, MORE)

# A topic of its own: the content words' weights (rarity) add up to at least MIN_TOPIC_WEIGHT (query/terms.py).

# Words that frame a follow-up rather than name a topic (general, in bokmål, nynorsk and English).
FILLER = frozenset("""
og and men but enn så da då også òg too also as well then again more mer meir else other others
rest resten ellers elles samme same gjøre gjere gjør gjer do done doing synes syns synest tykkjer tenker
tenkjer meining meininga mening meningen meninger standpunkt standpunktet standpunkta syn synet opinion
opinions stance idea ideas view views side sider sides ok okay takk thanks thank please vær så snill gjerne
supports support supported supporting back backs backed backing endorse endorses støtter støttar går inn for
imot mot against favour favor favours favors one ones thing things sak saken
saka anything something nothing noe noko ingenting have has har hatt stedet staden istedet istaden instead
would could should will shall might must bør burde
similar likewise lignende liknende liknande tilsvarende tilsvarande sånt slikt sånn slik
""".split())

# Words of degree and phrases for "what there is today": a which-party question made of them only
# ("who wants the highest?", "hvem vil beholde dagens ordning?") is about the previous topic.
DEGREE_WORDS = frozenset("""
mest minst flest færrest færre fleire flere mer meir mindre lengst lenger lengre høyest høgast høyere høgare
lavest lågast lavere lågare størst størst større sterkest sterkere strengest strengere raskest raskere
billigst billigere dyrest best verst beste mye mykje lite høy høg lav låg langt lang
most least more less fewer furthest farthest further farther highest higher lowest lower biggest bigger
largest larger strongest stronger strictest stricter fastest faster cheapest best worst much many far
high low go goes going went gå går gikk
beholde behalde keep bevare preserve fortsette continue endre change øke auke raise increase heve senke lower
reduce cut kutte fjerne remove avskaffe avvikle abolish scrap stoppe stop forby ban tillate allow
motsatte motsatt motsett motsette omvendt omvendte opposite contrary reverse
""".split())
_AS_TODAY = re.compile(r"\b(?:dagens|today'?s|current|present|existing|nåværende|noverande)\s+[^\W\d_]+"
                       r"|\bstatus\s+quo\b|\bsom\s+(?:i\s+dag|no|nå)\b|\bas\s+(?:it\s+is|today|now)\b",
                       re.IGNORECASE)
# "anyone else?", "hvem andre …", "noen flere?": which party, apart from the parties in play.
_ELSE = re.compile(r"\b(?:anyone|anybody|someone|somebody|who|any|hvem|kven|noen|nokon)\s+"
                   r"(?:else|other|others|andre|mer|meir|flere|fleire)\b", re.IGNORECASE)
# "what else …?", "hva annet …", "kva meir …", "anything more": more than the passages already shown (not
# "anyone else?", "noen andre?", which ask for other parties). "hva annet enn X" names what to leave out: no.
_MORE_NB = "annet|anna|mer|meir|mere|ellers|elles"  # after "hva"/"kva"
_BESIDES = (r"(?:apart\s+from\s+(?:that|this|those)|besides\s+(?:that|this)|utover\s+(?:det|dette)"
            r"|bortsett\s+fra\s+(?:det|dette)|i\s+tillegg(?:\s+til\s+(?:det|dette))?)")
_MORE = re.compile(rf"\b(?:what|anything|something)\s+(?:else|more)\b"
                   rf"|\b(?:hva|kva|noe|noko)\s+(?:{_MORE_NB})\b(?!\s+enn\b)|\b{_BESIDES}\b", re.IGNORECASE)
# What ``_without_more`` cuts: the word after "what"/"hva"/"kva" (group 1 keeps the question word), or the phrase.
_MORE_WORD = re.compile(rf"\b(what|hva|kva)\s+(?:else|more|{_MORE_NB})\b|[\s,]*\b{_BESIDES}\b,?", re.IGNORECASE)
# A which-party turn that ends in a word carrying the conversation on: "hvem vil sende våpen da?", "… i stedet?".
_CONTINUES = re.compile(r"[\s,]*\b(?:da|då|then|instead|i\s+stedet|istedet|i\s+staden|istaden)(?=[\s?!.…]*$)",
                        re.IGNORECASE)
# "who wants the opposite?", "hvem vil det motsatte?": which party, apart from the parties in play.
_OPPOSITE = re.compile(r"\b(?:motsatte?|motsette?|omvendte?|opposite|contrary|reverse)\b", re.IGNORECASE)
# A turn that asks only why: "hvorfor?", "og kvifor det?", "why is that?", "why not?".
_WHY_ONLY = re.compile(r"^\s*(?:(?:og|and|men|but|so|så)\s+)?(?:hvorfor|kvifor|korfor|why)"
                       r"(?:\s+(?:ikke|ikkje|not|det|da|då|that|so|is\s+that|er\s+det))*[\s?!.…]*$", re.IGNORECASE)

# Asking to compare (the stem of each word is enough: "enig", "enige", "uenige" …).
COMPARE_WORDS = frozenset("""
enig enige einig einige uenig uenige ueinig ueinige forskjell forskjellen forskjeller forskjellene skilnad
skilnaden skilnader skilnadene samd samde usamd usamde sammenlign sammenlikn samanlikn samanlikne sammenligne sammenlikne agree
agrees agreed disagree disagrees differ differs difference differences compare comparison contrast
""".split())

# Pronouns that point at the parties in play. "de"/"dei" also serve as articles ("de fleste"),
# so they count only right after a verb or at the end ("vil de …", "hva mener de om …", "er de enige").
PRONOUNS_ALWAYS = frozenset("dem deres deira they them their theirs".split())
PRONOUNS_AFTER_VERB = frozenset("de dei".split())
POSSESSIVE = frozenset("deres deira their theirs".split())
VERBS_BEFORE_PRONOUN = frozenset("""
vil mener meiner sier seier ønsker ønskjer er har synes syns synest tenker tenkjer foreslår gjer gjør
skal kan bør går støtter støttar vel mente sa ville
""".split())
# A pronoun for the previous topic, as a short turn's last word ("vil de øke den?", "who wants to keep it?").
THING_PRONOUNS = frozenset("den det dette denne han ho it this that".split())
PLURAL_THING_PRONOUNS = frozenset("dem dei them those these disse".split())
MAX_THING_REFERENCE_WORDS = 6  # longer turns may have the pronoun's antecedent in themselves
MAX_PLURAL_THING_WORDS = 5  # "noen som vil verne dem?"; "hvem vil la rusavhengige beholde dem?" points inside
_OF_THEM = re.compile(r"\b(?:av|of)\s+(?:dem|dei|de|them)\b", re.IGNORECASE)
SINGULAR_REFERENCES = (r"\bpartiet\b", r"\bthe party\b", r"\bthis party\b", r"\bthat party\b", r"\bsame party\b")

# Groups of parties, relative to the parties in play.
_OTHER = re.compile(r"\b(?:de|dei|det|den|dem)\s+andre\b|\bthe\s+others?\b|\bthe\s+rest\b|\bresten\b|\bother\s+part(?:y|ies)\b",
                    re.IGNORECASE)
_BOTH = re.compile(r"\bbegge\b|\bboth\b", re.IGNORECASE)
_ALL = re.compile(r"\balle\b|\ball\b|\bpartiene\b|\bpartia\b|\bparties\b|\beveryone\b|\beverybody\b", re.IGNORECASE)

# A follow-up opening: the first words of the turn.
# Words said before a turn's real opening ("ok, og sykelønn?"); left out of a rewritten question.
_INTERJECTIONS = r"(?:ok|okay|ja|javel|jaha|yes|yeah|right|takk|thanks|aha|hm+)"
_INTERJECTION = re.compile(rf"^{_INTERJECTIONS}\b[\s,.!:;–-]+(?=\w)", re.IGNORECASE)
_OPENING = re.compile(
    rf"^\s*(?:{_INTERJECTIONS}\b[\s,.!:;–-]*)?"
    r"(?:og|and|men|but|så|then|også|also|"
    r"hva\s+med|kva\s+med|hva\s+om|kva\s+om|hva\s+så\s+med|kva\s+så\s+med|"
    r"what\s+about|how\s+about|and\s+what\s+about|and\s+how\s+about|"
    r"enn|same\s+for|samme\s+for|likeså)\b",
    re.IGNORECASE)
_CUE_WORDS = frozenset("og and men but så then også also hva kva med om what how about enn same samme for likeså".split())

# Language hints for turns too short to tell ("begge?", "both?"): inherit the previous turn's.
_WHO = re.compile(r"^\s*(?:hvem|kven|who|hvilket\s+parti|hvilke\s+parti|kva\s+parti|kva\s+for\s+(?:eit\s+)?parti"
                  r"|which\s+part(?:y|ies)|what\s+part(?:y|ies)|which\s+one|anyone|anybody|noen|nokon"
                  r"|(?:er|finnes|fins)\s+det\s+(?:noe|noen|nokon|noko|eit|et|ett|ei)\s+parti"
                  r"|(?:does|do|is|are)\s+(?:there\s+)?(?:any|a)\s+part(?:y|ies))\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[\s?!.…]+$")

TEMPLATES = {
    "nb": ("Hva mener {parties} om {topic}?", "Hva mener partiene om {topic}?"),
    "nn": ("Kva meiner {parties} om {topic}?", "Kva meiner partia om {topic}?"),
    "en": ("What does {parties} say about {topic}?", "What do the parties say about {topic}?"),
}
WHY_TEMPLATES = {
    "nb": ("Hvilken begrunnelse gir {parties} for {topic}?", "Hvilken begrunnelse gir partiene for {topic}?"),
    "nn": ("Kva grunngjeving gir {parties} for {topic}?", "Kva grunngjeving gir partia for {topic}?"),
    "en": ("What reasons does {parties} give for {topic}?", "What reasons do the parties give for {topic}?"),
}
EVERY_PARTY = {"nb": "partiene", "nn": "partia", "en": "the parties"}  # "vil de …?" when nobody answered
INTERPRETED_AS = {"nb": "Tolket som: «{q}»", "nn": "Tolka som: «{q}»", "en": "Interpreted as: «{q}»"}
BEYOND_SHOWN = {"nb": ", nye avsnitt først", "nn": ", nye avsnitt først", "en": ", new passages first"}
EXCLUDING = {"nb": " (andre enn {parties})", "nn": " (andre enn {parties})", "en": " (other than {parties})"}
_ELSE_WORD = re.compile(r"\s+\b(?:else|ellers|elles)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Context:
    """What the rules keep of an earlier turn."""

    question: str  # as the user typed it
    interpreted: str  # the standalone question searched
    parties: tuple[str, ...]  # the parties that question is about (named or carried over); () = all
    shown: tuple[str, ...] = ()  # parties whose passages the answer showed, best first
    language: str = "nb"  # "nb", "nn" or "en"
    topic: str = ""  # the topic phrase of the interpreted question ("bolig for rusavhengige")
    topic_key: frozenset[str] = frozenset()  # its content words, to tell the same topic
    who: bool = False  # the question asked which party ("Hvem vil …?"): "they" is the party that answered
    seen: tuple[str, ...] = ()  # ids of the passages the answer showed (``chat.take_turn`` fills it in)


@dataclass(frozen=True)
class Reading:
    """How one turn was read: the question actually searched, and why."""

    question: str  # as typed
    interpreted: str  # the standalone question searched
    parties: tuple[str, ...]  # parties the searched question is about; () = all
    context_used: bool  # earlier turns changed the question
    kind: str  # one of KINDS
    compare: tuple[str, ...] = ()  # for a compare request: the parties side by side
    language: str = "nb"
    topic: str = ""  # the topic phrase searched
    topic_from_context: bool = False
    parties_from_context: bool = False
    signals: tuple[str, ...] = field(default=(), compare=False)  # what the rules saw, for display and tests
    excluded: tuple[str, ...] = ()  # "anyone else?": the parties in play, left out of the search
    more: bool = False  # "what else …?": the passages not shown yet come first

    def nobody_else(self, available) -> bool:
        """"anyone else?" when every party of the sources is already in play."""
        return bool(self.excluded) and not set(available) - set(self.excluded)

    def note(self) -> str | None:
        """'Tolket som: «…»' / 'Interpreted as: «…»' when earlier turns changed the question."""
        if not self.context_used:
            return None
        note = INTERPRETED_AS.get(self.language, INTERPRETED_AS["nb"]).format(q=self.interpreted)
        if self.excluded:
            note += EXCLUDING.get(self.language, EXCLUDING["nb"]).format(parties=_join(self.excluded, self.language))
        if self.more:
            note += BEYOND_SHOWN.get(self.language, BEYOND_SHOWN["nb"])
        return note

    def to_dict(self) -> dict:
        out = asdict(self)
        out["parties"] = list(self.parties)
        out["compare"] = list(self.compare)
        out["signals"] = list(self.signals)
        out["excluded"] = list(self.excluded)
        return out


@dataclass(frozen=True)
class Parsed:
    """What one turn contains, before any context."""

    text: str  # cleaned
    language: str
    mentions: tuple  # PartyMention
    named: tuple[str, ...]
    rest: str  # the text with party names cut out
    group: str | None  # "other", "both", "all"
    pronoun: bool  # "de", "dem", "they", "partiet" …
    compare: bool
    opening: bool  # "og …", "what about …"
    topic: str  # the topic phrase ('' when none)
    topic_weight: float
    language_hinted: bool


class Rules:
    """The follow-up rules over one party directory and the parties that have sources."""

    def __init__(self, directory: PartyDirectory, available: Sequence[str], max_chars: int = 2000):
        self.directory = directory
        self.available = tuple(available)
        self.max_chars = max_chars  # as the answerer: a longer question is cut

    # ------------------------------------------------------------------ parsing

    def parse(self, question: str) -> Parsed:
        text = clean_question(valid_text(question if isinstance(question, str) else ""))
        if len(text) > self.max_chars:
            text = text[:self.max_chars].rsplit(" ", 1)[0] or text[:self.max_chars]
        mentions = tuple(self.directory.find(text))
        named = tuple(dict.fromkeys(m.party for m in mentions))
        rest = without_mentions(text, mentions)
        lower = rest.casefold()
        words = re.findall(r"[^\W_]+(?:[-'’][^\W_]+)*", lower)
        language = _language(text, words)
        group = "other" if _OTHER.search(rest) else "both" if _BOTH.search(rest) else "all" if _ALL.search(rest) else None
        pronoun = _has_pronoun(words) or any(re.search(p, lower) for p in SINGULAR_REFERENCES)
        # "enige", "difference" …; "samme"/"same" only with a pronoun or group ("Mener de det samme?")
        compare = any(w in COMPARE_WORDS for w in words) or (
            any(w in ("samme", "same", "likt", "alike", "different", "differently") for w in words) and (pronoun or group is not None))
        opening = bool(_OPENING.match(rest)) if rest else bool(_OPENING.match(text))
        topic, weight = self.topic_of(rest, language)
        hinted = any(w in _NB_HINTS or w in _NN_HINTS or w in _EN_HINTS for w in words) or bool(re.search(r"[æøå]", text, re.I))
        return Parsed(text, language, mentions, named, rest, group, pronoun, compare, opening, topic, weight, hinted)

    def topic_of(self, rest: str, language: str) -> tuple[str, float]:
        """The topic phrase of a question with the party names cut out: from its first content
        word to its last ("Hva mener om bolig for rusavhengige?" -> "bolig for rusavhengige"),
        with the weight of its content words. A topic that is a clause or a verb phrase keeps the
        words that make it one, so that it reads right after "om" / "about" (``_clause_topic``):
        "Hvem vil at politiet skal …" -> "at politiet skal …", "Hvem vil tillate surrogati?" ->
        "å tillate surrogati", "Which parties want to ban fur farming?" -> "banning fur farming",
        "kva med dei som nektar …" -> "dei som nektar …"."""
        lang = "en" if language == "en" else "nb"
        spans = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"[^\W_]+(?:[-'’/][^\W_]+)*", rest)]
        first = last = None
        weight = 0.0
        for i, (s, e, word) in enumerate(spans):
            lower = word.casefold()
            if _is_filler(lower) or (lower in PRONOUNS_ALWAYS | PRONOUNS_AFTER_VERB) or lower in COMPARE_WORDS:
                continue
            if lower in ("partiet", "party", "andre", "other", "others", "begge", "both"):
                continue
            terms = question_terms(word, lang)
            if not terms:
                continue
            weight += sum(t.weight for t in terms)
            if first is None:
                first = i
            last = i
        if first is None:
            return "", 0.0
        phrase = _clause_topic(rest, spans, first, last, language)
        return _SENTENCE_END.sub("", phrase).strip(" ,;:-–"), weight

    def context(self, reading: Reading, shown: Sequence[str] = ()) -> Context:
        """What to keep of a turn once it has been answered."""
        topic = reading.topic
        parsed = self.parse(reading.interpreted)
        if not topic:
            topic = parsed.topic
        key = _topic_key(topic, reading.language)
        return Context(reading.question, reading.interpreted, reading.parties, tuple(dict.fromkeys(shown)),
                       reading.language, topic, key, bool(_WHO.match(reading.interpreted)))

    # ------------------------------------------------------------------ the rules

    def literal(self, question: str) -> Reading:
        """The question searched as typed (the user's choice)."""
        p = self.parse(question)
        return Reading(question, p.text or question, p.named, False, LITERAL, language=p.language, topic=p.topic)

    def read(self, question: str, history: Sequence[Context] = ()) -> Reading:
        p = self.parse(question)
        return self._beyond_shown(self._read(question, p, history), p, history)

    def _beyond_shown(self, reading: Reading, p: Parsed, history: Sequence[Context]) -> Reading:
        """"what else …?", "hva annet …", "kva meir …": the reading without the word, asking past the passages
        already shown. A complete question keeps its own party and topic; a bare "hva mer?" is the previous
        question again. "anyone else?" asks for other parties, and is read by rule 6 instead."""
        last = next((c for c in reversed(history) if c.topic), None)
        if last is None or reading.excluded or not _MORE.search(p.rest or p.text):
            return reading
        if reading.kind != STANDALONE:
            return replace(reading, more=True, interpreted=_without_more(reading.interpreted))
        if p.topic_weight >= MIN_TOPIC_WEIGHT:
            return replace(reading, kind=MORE, more=True, context_used=True, interpreted=_without_more(reading.interpreted))
        return replace(reading, kind=MORE, more=True, context_used=True, interpreted=_without_more(last.interpreted),
                       parties=last.parties, topic=last.topic, topic_from_context=True,
                       parties_from_context=bool(last.parties))

    def _read(self, question: str, p: Parsed, history: Sequence[Context]) -> Reading:
        # the latest turn with a topic (a turn such as "ok" or "Helsepartiet?" alone is skipped)
        with_topic = [c for c in history if c.topic]
        history = with_topic
        last = history[-1] if history else None
        language = p.language if (p.language_hinted or last is None) else last.language
        if last is not None and last.language == "nn" and language == "nb" and not _bokmaal_only(p.text):
            language = "nn"  # "og Fjordpartiet?" after a nynorsk turn stays nynorsk
        own_topic = p.topic_weight >= MIN_TOPIC_WEIGHT
        if last is not None and not own_topic and last.language == "en" and language != "en":
            language = "en"  # "og Helsepartiet?" after an English turn: its English topic needs an English frame
        signals = tuple(s for s, on in (("named", bool(p.named)), ("group:" + (p.group or ""), p.group is not None),
                                       ("pronoun", p.pronoun), ("compare", p.compare), ("opening", p.opening),
                                       ("topic", own_topic)) if on)

        def fresh(kind: str = STANDALONE, compare: tuple[str, ...] = ()) -> Reading:
            return Reading(question, p.text or question, p.named, False, kind, compare, language, p.topic, signals=signals)

        if last is None:
            if p.compare and len(p.named) >= 2:
                return fresh(COMPARE, p.named)
            if p.compare and p.group == "all":
                return fresh(COMPARE, self.available)
            return fresh()

        # 2. a bare "why?": the reasons of the parties of the previous question, on its topic
        if _WHY_ONLY.match(p.text) and not p.named:
            parties = self._referred(history)
            many, none = WHY_TEMPLATES.get(language, WHY_TEMPLATES["nb"])
            topic = _in_frame(last.topic, language)
            interpreted = many.format(parties=_join(parties, language), topic=topic) if parties else \
                none.format(topic=topic)
            if language == "en" and len(parties) > 1:
                interpreted = interpreted.replace("What reasons does ", "What reasons do ", 1)
            return Reading(question, interpreted, parties, True, WHY, (), language, last.topic, True, bool(parties),
                           signals)

        # 3. a request to compare
        if p.compare:
            parties = self._group_parties(p.group, history) if p.group and p.group != "all" else ()
            if p.group == "other":  # "do the others agree?": with the parties in play
                parties = tuple(dict.fromkeys(self._in_play(history) + parties))
            if p.group == "all" and not p.named:
                parties = self.available
            parties = tuple(dict.fromkeys(p.named + parties))
            from_context = False
            if len(parties) < 2 and p.group != "all":
                parties = tuple(dict.fromkeys(parties + self._in_play(history)))
                from_context = True
            if len(parties) < 2:
                parties = tuple(dict.fromkeys(parties + last.shown))
                from_context = True
            if len(parties) < 2:
                parties = self.available
            topic, topic_ctx = (p.topic, False) if own_topic else (last.topic, True)
            if not topic:
                return fresh()
            if not (from_context or topic_ctx or p.group in ("other", "both")):
                return fresh(COMPARE, parties)
            interpreted = self._ask(language, parties, topic, last, topic_ctx)
            return Reading(question, interpreted, parties, True, COMPARE, parties, language, topic,
                           topic_ctx, from_context, signals)

        # 4. a party named or a group
        if p.named or p.group in ("other", "both") or (p.group == "all" and not own_topic and not p.pronoun):
            if p.named:
                parties, from_context = p.named, False
                if p.group in ("other", "both"):  # "Venstre og de andre?"
                    parties = tuple(dict.fromkeys(p.named + self._group_parties(p.group, history)))
                    from_context = True
            elif p.group == "all":
                parties, from_context = (), True
            else:
                parties, from_context = self._group_parties(p.group, history), True
            if own_topic and not from_context:
                return fresh()  # a complete question: a party and a topic of its own
            topic, topic_ctx = (p.topic, False) if own_topic else (last.topic, True)
            interpreted = self._ask(language, parties, topic, last, topic_ctx)
            return Reading(question, interpreted, parties, True, PARTY_SWAP, (), language, topic,
                           topic_ctx, from_context, signals)

        asks_which = bool(_WHO.match(_OPENING.sub("", p.rest, count=1)))
        of_every_party = asks_which and not _OF_THEM.search(p.rest)  # "which party …", not "which of them …"
        thing = _ends_in_thing_pronoun(p.text, of_every_party)

        # 5. a reference to the parties in play
        if p.pronoun and not of_every_party:
            parties = self._referred(history)
            if not parties and thing:  # "vil de øke den?" after a question nobody answered: every party
                every = EVERY_PARTY.get(language, EVERY_PARTY["nb"])
                interpreted = _put_topic(_replace_pronouns(p.text, every, language, 2), last.topic, last.language)
                return Reading(question, interpreted, (), True, REFERENCE, (), language, last.topic, True, False,
                               signals)
            if not parties:
                return fresh()
            if own_topic:
                interpreted = _replace_pronouns(p.text, _join(parties, language), language, len(parties))
                topic, topic_ctx = p.topic, False
                if thing:  # "vil de øke den?" -> "Vil Havlista øke kontantstøtten?"
                    interpreted = _put_topic(interpreted, last.topic, last.language)
                    topic, topic_ctx = self.parse(interpreted).topic or last.topic, True
                return Reading(question, interpreted, parties, True, REFERENCE, (), language, topic,
                               topic_ctx, True, signals)
            interpreted = self._ask(language, parties, last.topic, last, True)
            return Reading(question, interpreted, parties, True, REFERENCE, (), language, last.topic,
                           True, True, signals)

        # 6. which party, on the previous topic; "anyone else?" and "who wants the opposite?" leave out the
        # parties in play
        if asks_which and not p.named and p.group in (None, "all"):
            # "who wants the highest?", "hvem vil beholde dagens ordning?": no topic but words of degree
            vague = own_topic and not thing and self._vague(p.rest, language)
            excluded = self._in_play_or_answered(history) if _ELSE.search(p.rest) or _OPPOSITE.search(p.rest) else ()
            others = tuple(x for x in self.available if x not in excluded) if excluded else ()
            if thing or not own_topic or vague:
                text = _OPENING.sub("", p.text, count=1).strip(" ,")
                if _ELSE.search(text) and not re.search(r"[^\W_]", _ELSE.sub("", text)):  # "anyone else?", "noen andre?"
                    interpreted = TEMPLATES.get(language, TEMPLATES["nb"])[1].format(topic=last.topic)
                    if not others:  # every party already in play: there is nobody else (chat.py says so)
                        return Reading(question, interpreted, (), True, WHICH_PARTY, (), language, last.topic, True,
                                       False, signals, excluded)
                else:
                    topic = _without_stance_verb(last.topic) if _STANCE.search(p.rest) and not thing else last.topic
                    interpreted = _put_topic(text, topic, last.language, bracket=vague)
                return Reading(question, interpreted, others, True, WHICH_PARTY, (), language, last.topic, True,
                               bool(others), signals, excluded if others else ())
            if not others and _CONTINUES.search(p.text) and not self._same_topic(p.topic, last, language):
                # "hvem vil sende våpen da?" after Ukraine: its own words, on the previous topic
                text = _CONTINUES.sub("", _OPENING.sub("", p.text, count=1).strip(" ,"))
                topic = f"{p.topic} ({last.topic})"
                return Reading(question, _put_topic(text, last.topic, last.language, bracket=True), (), True,
                               WHICH_PARTY, (), language, topic, True, False, signals)
            if others:  # "anyone else want a max response time?": its own topic, the other parties
                return Reading(question, p.text, others, True, WHICH_PARTY, (), language, p.topic, False, True,
                               signals, excluded)

        # 7. a follow-up opening with a new topic: the previous parties on it (every party when none was in play)
        if p.opening and own_topic:
            # after "who …?" the parties are whoever answered, not the ones to keep: every party again
            parties = () if last.who else last.parties
            interpreted = self._ask(language, parties, p.topic, last, False)
            return Reading(question, interpreted, parties, True, TOPIC_SWAP, (), language, p.topic,
                           False, bool(parties), signals)

        # 8. everything else stands as asked
        return fresh()

    # ------------------------------------------------------------------ helpers

    def _vague(self, rest: str, language: str) -> bool:
        """A topic made only of degree words and "what there is today" ("the highest", "dagens ordning")."""
        core = _AS_TODAY.sub(" ", rest)
        core = " ".join(w for w in re.findall(r"[^\W_]+(?:[-'’][^\W_]+)*", core) if w.casefold() not in DEGREE_WORDS)
        return self.topic_of(core, language)[1] < MIN_TOPIC_WEIGHT

    def _same_topic(self, topic: str, last: Context, language: str) -> bool:
        """The turn's topic shares a content word with the previous topic."""
        return bool(_topic_key(topic, language) & last.topic_key)

    def _in_play(self, history: Sequence[Context]) -> tuple[str, ...]:
        """The parties of the latest turns on the latest topic, oldest first ("V om bolig", "og H?" -> V, H)."""
        last = history[-1]
        chain: list[str] = []
        for c in reversed(history):
            if c.topic_key != last.topic_key and c is not last:
                break
            chain[:0] = [x for x in c.parties if x not in chain]
        return tuple(dict.fromkeys(chain))

    def _referred(self, history: Sequence[Context]) -> tuple[str, ...]:
        """The parties a pronoun points at: the previous question's, else who answered it."""
        last = history[-1]
        if last.parties:
            return last.parties
        if last.who and last.shown:
            return last.shown[:1]
        return last.shown

    def _in_play_or_answered(self, history: Sequence[Context]) -> tuple[str, ...]:
        """The parties in play, else the party whose passage came first in the last answer."""
        return self._in_play(history) or history[-1].shown[:1]

    def _group_parties(self, group: str | None, history: Sequence[Context]) -> tuple[str, ...]:
        in_play = self._in_play_or_answered(history)
        if group == "other":
            others = tuple(x for x in self.available if x not in in_play)
            return others or tuple(x for x in self.available if x not in history[-1].parties) or self.available
        if group == "both":
            if len(self.available) == 2 or len(in_play) < 2:
                chosen = self.available if len(self.available) == 2 or not in_play else in_play
                return tuple(dict.fromkeys([x for x in in_play if x in chosen] + list(chosen)))
            return in_play
        return ()

    def _ask(self, language: str, parties: tuple[str, ...], topic: str, last: Context, reuse_last: bool) -> str:
        """The standalone question: the previous question with the parties put in, when it named
        parties and is in the same language; else the frame of the language on the topic."""
        if reuse_last and last.language == language:
            swapped = self._swap_parties(last.interpreted, parties, language)
            if swapped:
                return _capitalised(_ELSE_WORD.sub("", swapped))  # "what else does V want …" -> "What does H want …"
        many, none = TEMPLATES.get(language, TEMPLATES["nb"])
        topic = _in_frame(topic, language)
        if not parties:
            return none.format(topic=topic)
        text = many.format(parties=_join(parties, language), topic=topic)
        if language == "en" and len(parties) > 1:
            text = text.replace("What does ", "What do ", 1)
        return text

    def _swap_parties(self, question: str, parties: tuple[str, ...], language: str) -> str | None:
        mentions = self.directory.find(question)
        if not mentions or not parties:
            return None
        first, last = mentions[0], mentions[-1]
        between = question[first.end:last.start] if len(mentions) > 1 else ""
        if len(mentions) > 1 and re.sub(r"\b(?:og|and|eller|or|the)\b|[,\s&]", "", between, flags=re.I):
            return None  # the parties are apart in the sentence ("Er Venstre enig med Høyre …"): use the frame
        if _keywords_around(question, first, last, self.directory):
            return None  # "venstre lar" -> "og helsepartiet?": «Hva mener Helsepartiet om lar?», not «Helsepartiet lar»
        name = _join(parties, language) + _genitive(last)  # "Venstres" -> "Helsepartiets"
        out = question[:first.start] + name + question[last.end:]
        if language == "en":
            out = re.sub(r"\b(does|do)(\s+)(?=" + re.escape(name) + ")", "do\\2" if len(parties) > 1 else "does\\2", out, count=1)
        return out


def _keywords_around(question: str, first, last, directory: PartyDirectory) -> bool:
    """The party names stand first or last in a question typed as keywords ("venstre lar", "rus høyre"):
    no cue verb next to them and no genitive, so swapping in another name gives no question."""
    before = question[:first.start].strip(" \t,.:;-–«»\"'")
    after = question[last.end:].strip(" \t?!.,:;-–«»\"'")
    if bool(before) == bool(after):
        return False
    if _genitive(last):
        return False  # a genitive swaps well: "Venstres syn på bolig" -> "Helsepartiets syn på bolig"
    words = (after.split() if not before else before.split()[::-1])
    near = re.sub(r"^\W+|\W+$", "", words[0]).casefold() if words else ""
    cues = directory.cues_after if not before else directory.cues_before
    return near not in cues and not _WHO.match(question.strip()) and not _QUESTION_WORD.match(question.strip())


def _genitive(mention) -> str:
    """The genitive ending a party name was written with ("Venstres": "s"; "the Health Party's": "'s"), or ""."""
    alias = mention.alias
    if alias.endswith("s") and not mention.party.endswith("s") and alias[:-1].casefold() == mention.party.casefold():
        return "s"
    return "'s" if alias.endswith(("'s", "’s")) else ""


_QUESTION_WORD = re.compile(r"(?i)^(?:hva|kva|hvem|kven|hvilke\w*|kva\s+for|hvordan|korleis|hvorfor|kvifor|når|what|who|which|how|why|when|does|do|is|are|vil|er|kan|skal)\b")


# What makes a topic a clause or a verb phrase (``_clause_topic``).
_CLAUSE_OPENERS = frozenset("at that".split())  # "hvem vil at politiet …", "who says that …"
_RELATIVE_HEADS = frozenset("de dei dem those them people folk".split())  # "dei som nektar …"
_RELATIVE_WORDS = frozenset("som who that".split())
_NB_MODALS = frozenset("vil ville skal skulle kan kunne bør burde må måtte ønsker ønskjer".split())
_EN_MODALS = frozenset("would will should could can must might shall 'd 'll".split())
_EN_TO_VERBS = frozenset("""want wants wanted plan plans planned aim aims intend intends like propose proposes
promise promises going seek seeks try tries hope hopes""".split())


def _clause_topic(rest: str, spans, first: int, last: int, language: str) -> str:
    """The topic phrase from word ``first`` to word ``last`` of ``rest``; a clause ("at …", "dei som
    …") also keeps its opening word and runs on to the clause's end ("… saman med ein"); a verb after
    a modal gets the infinitive mark ("vil tillate" -> "å tillate") or, in English, becomes a gerund
    ("want to ban" / "would give" -> "banning" / "giving")."""
    before = [w.casefold() for _, _, w in spans[max(0, first - 2):first]]
    head = spans[first][2]
    start, prefix, clause = spans[first][0], "", False
    if before and before[-1] in _CLAUSE_OPENERS and (language != "en" or before[-1] == "that"):
        start, clause = spans[first - 1][0], True
    elif len(before) == 2 and before[-1] in _RELATIVE_WORDS and before[0] in _RELATIVE_HEADS:
        start, clause = spans[first - 2][0], True
    elif language != "en" and before and before[-1] in _NB_MODALS and head[-1:].casefold() in "aeiouyæøå" \
            and head.isalpha():
        prefix, clause = "å ", True
    elif language == "en" and before and head.isalpha() and not head.casefold().endswith(("ing", "s")) and (
            before[-1] in _EN_MODALS or (before[-1] == "to" and len(before) == 2 and before[0] in _EN_TO_VERBS)):
        prefix, start, clause = _gerund(head), spans[first][1], True
    end = spans[last][1]
    if clause:  # on to the clause's end: "at ektefellen får flytte inn saman med ein"
        for s, e, word in spans[last + 1:]:
            if re.search(r"[,;:?!.…()]", rest[end:s]) or word.casefold() in FILLER:
                break
            end = e
    return prefix + rest[start:end]


def _in_frame(topic: str, language: str) -> str:
    """The topic as put in a question frame of ``language``: an English frame drops the Norwegian
    infinitive mark ("for å avkriminalisere narkotika" reads "for avkriminalisere narkotika")."""
    if language == "en" and topic[:2].casefold() == "å ":
        return topic[2:]
    return topic


def _gerund(verb: str) -> str:
    """An English verb's -ing form: "make" -> "making", "ban" -> "banning", "see" -> "seeing"."""
    low = verb.casefold()
    if low in ("be", "see", "free", "agree", "flee"):
        return verb + "ing"
    if low.endswith("ie"):
        return verb[:-2] + "ying"
    if low.endswith("e") and not low.endswith(("ee", "ye", "oe")):
        return verb[:-1] + "ing"
    vowels = "aeiou"
    if len(low) >= 3 and low[-1] not in vowels + "wxy" and low[-2] in vowels and low[-3] not in vowels \
            and sum(c in vowels for c in low) == 1:
        return verb + verb[-1] + "ing"  # "ban" -> "banning", "cut" -> "cutting"
    return verb + "ing"


# A turn that takes a stand of its own ("hvem er imot?", "who is against?", "who opposes it?").
_STANCE = re.compile(r"\b(?:imot|mot|against|oppose[sd]?|opposing|motstander|motstandere)\b", re.IGNORECASE)


_STANCE_VERB_WORDS = DEGREE_WORDS | {"å", "to"}


def _without_stance_verb(topic: str) -> str:
    """The topic without its leading stance verb ("tillate surrogati" -> "surrogati"), when more is left."""
    words = topic.split()
    while len(words) > 1 and words[0].casefold() in _STANCE_VERB_WORDS:
        words = words[1:]
    return " ".join(words)


def _is_filler(lower: str) -> bool:
    lower = re.split(r"['’]", lower)[0]  # "what's" -> "what"
    return lower in FILLER or lower in FRAME_WORDS or fold(lower) in FILLER or lower in _CUE_WORDS or not tokens(lower)


def _relative_head(words: list[str], i: int) -> bool:
    """Word ``i`` heads a relative clause ("for dem som jobber etter 67", "those who"): people, not the parties."""
    return words[i] in _RELATIVE_HEADS and i + 1 < len(words) and words[i + 1] in ("som", "who")


def _has_pronoun(words: list[str]) -> bool:
    for i, w in enumerate(words):
        if _relative_head(words, i):
            continue
        if w in PRONOUNS_ALWAYS:
            return True
        if w in PRONOUNS_AFTER_VERB:
            nxt = words[i + 1] if i + 1 < len(words) else None
            prev = words[i - 1] if i > 0 else None
            if nxt in ("andre", "fleste", "ulike", "forskjellige", "store", "små", "nye", "som"):
                continue
            if nxt is None or prev in VERBS_BEFORE_PRONOUN or i == 0:
                return True
    return False


_BOKMAAL_ONLY = frozenset("hva hvem hvilke hvilket hvordan hvorfor ikke jeg mener sier de dem deres hun".split())


def _ends_in_thing_pronoun(text: str, asks_which: bool = False) -> bool:
    """A short turn whose last word is a pronoun for a thing: "vil de øke den?", "who wants to keep it?";
    in a turn asking which party, also "dem"/"them" ("noen som vil verne dem?": not the parties asked for)."""
    words = re.findall(r"[^\W_]+", text.casefold())
    if asks_which and 1 < len(words) <= MAX_PLURAL_THING_WORDS and words[-1] in PLURAL_THING_PRONOUNS:
        return True
    return 1 < len(words) <= MAX_THING_REFERENCE_WORDS and words[-1] in THING_PRONOUNS


def _degree_word(word: str) -> bool:
    """A word of degree, also as a gerund ("keeping", "raising", "cutting")."""
    w = word.casefold()
    if w in DEGREE_WORDS:
        return True
    if w.endswith("ing") and len(w) > 5:
        base = w[:-3]
        return any(b in DEGREE_WORDS for b in (base, base + "e", base[:-1]))
    return False


def _topic_word(topic: str, language: str) -> str:
    """What a pronoun for the topic stands for: the topic's rarest word, with a possessive before it
    ("beholde kontantstøtten" -> "kontantstøtten", "the father's quota" -> "father's quota")."""
    spans = list(re.finditer(r"[^\W_]+(?:[-'’/][^\W_]+)*", topic))
    lang = "en" if language == "en" else "nb"
    weights = [sum(t.weight for t in question_terms(m.group(0), lang)) for m in spans]
    if not spans or max(weights) <= 0:
        return topic
    i = weights.index(max(weights))

    def joins(j: int, k: int) -> bool:  # word k, next to word j, is part of the same English compound
        return 0 <= k < len(spans) and weights[k] > 0 and not _degree_word(spans[k].group(0)) \
            and (spans[k].start() - spans[j].end() if k > j else spans[j].start() - spans[k].end()) == 1

    first = last = i
    if language == "en":  # English writes compounds apart: "legal minimum wage", "housing benefit"
        while joins(first, first - 1):
            first -= 1
        while joins(last, last + 1):
            last += 1
    start = spans[first - 1].start() if first > 0 and spans[first - 1].group(0).endswith(("'s", "’s")) else spans[first].start()
    return topic[start:spans[last].end()]


def _put_topic(text: str, topic: str, language: str = "nb", bracket: bool = False) -> str:
    """The previous topic's word in place of the turn's last pronoun ("… øke den?" -> "… øke
    kontantstøtten?"), else the topic after its words ("hvem er imot?" -> "Hvem er imot surrogati?"),
    in brackets after words of degree ("Who wants the highest (age limit)?"); the first letter upper case."""
    body = _SENTENCE_END.sub("", text)
    end = text[len(body):].strip() or "?"
    words = list(re.finditer(r"[^\W_]+", body))
    if words and words[-1].group(0).casefold() in THING_PRONOUNS | PLURAL_THING_PRONOUNS:
        body = body[:words[-1].start()] + _topic_word(topic, language) + body[words[-1].end():]
    elif topic:
        body = f"{body} ({topic})" if bracket else f"{body} {topic}"
    return _capitalised(body.strip()) + end


def _bokmaal_only(text: str) -> bool:
    return any(w in _BOKMAAL_ONLY for w in re.findall(r"[^\W_]+", text.casefold()))


def _join(parties: Sequence[str], language: str) -> str:
    parties = list(parties)
    if len(parties) == 1:
        return parties[0]
    word = " and " if language == "en" else " og "
    return ", ".join(parties[:-1]) + word + parties[-1]


def _replace_pronouns(text: str, name: str, language: str, n: int) -> str:
    """Put the parties' names in place of the pronouns that point at them."""
    def one(m: re.Match) -> str:
        w = m.group(0)
        lw = w.casefold()
        if lw in POSSESSIVE:
            rep = name + ("'s" if language == "en" else "s")
        else:
            rep = name
        return rep

    words = list(re.finditer(r"[^\W_]+(?:[-'’][^\W_]+)*", text))
    out, pos, done = [], 0, False
    lowered = [w.group(0).casefold() for w in words]
    for i, m in enumerate(words):
        lw = lowered[i]
        if _relative_head(lowered, i):
            continue
        hit = lw in PRONOUNS_ALWAYS
        if lw in PRONOUNS_AFTER_VERB:
            hit = _has_pronoun(lowered[max(0, i - 1):i + 2]) if i > 0 else _has_pronoun(lowered[i:i + 2])
        if lw == "partiet" or (lw == "party" and i > 0 and lowered[i - 1] in ("the", "this", "that", "same")):
            hit = True
        if not hit:
            continue
        start = m.start()
        if lw == "party" and i > 0:
            start = words[i - 1].start()
        out.append(text[pos:start])
        out.append(one(m))
        pos = m.end()
        done = True
    out.append(text[pos:])
    result = "".join(out) if done else text
    if language == "en":
        result = re.sub(r"\b(do|does)(\s+)(?=" + re.escape(name) + ")", ("do\\2" if n > 1 else "does\\2"), result, count=1, flags=re.I)
        result = re.sub(r"\b(are|is)(\s+)(?=" + re.escape(name) + ")", ("are\\2" if n > 1 else "is\\2"), result, count=1, flags=re.I)
    return _capitalised(_INTERJECTION.sub("", result.strip()))


def _topic_key(topic: str, language: str) -> frozenset[str]:
    """A topic's content words, to tell the same topic (``Context.topic_key``)."""
    return frozenset(t.text for t in question_terms(topic, "en" if language == "en" else "nb"))


def _without_more(text: str) -> str:
    """The question without its "else"/"annet"/"meir" ("What else does V want?" -> "What does V want?")."""
    out = _MORE_WORD.sub(lambda m: m.group(1) or "", text)
    out = re.sub(r"\s{2,}", " ", out).strip(" ,")
    return _capitalised(out) if out else text


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
