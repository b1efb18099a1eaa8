"""Output of ``chatbot eval``: a table a person reads, JSON, a Markdown report and a TREC run."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, NamedTuple

from ..errors import ChatbotError
from . import measures
from .figures import Figures
from .records import Outcome

HELD_OUT = "test (held out)"
LABELS = measures.COUNT_LABELS


class Table(NamedTuple):
    header: list[str]
    rows: list[list[str]]


def fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}"


# --------------------------------------------------------------------------- tables

def group_table(figs: Figures, k: int, groups: list[tuple[str, str]]) -> Table:
    """Rows = figures; columns = 'all' and the given (nested key, group) pairs."""
    header = ["", "all"] + [HELD_OUT if (key == "by_split" and g == "test") else g for key, g in groups]
    cols = [figs] + [figs.group(key)[g] for key, g in groups]
    rows = [[name] + [fmt(c.get(name)) for c in cols] for name in measures.names(k)]
    rows += [[LABELS[n]] + [fmt(c.get(n)) for c in cols] for n in ("n_answerable", "n_unanswerable")]
    return Table(header, rows)


def summary_table(figs: Figures, k: int) -> Table:
    groups = [("by_lang", g) for g in figs.group("by_lang")] + [("by_split", g) for g in figs.group("by_split")]
    return group_table(figs, k, groups)


def category_table(figs: Figures, k: int) -> Table:
    return group_table(figs, k, [("by_category", g) for g in figs.group("by_category")])


def compare_table(evaluations: list, k: int) -> Table:
    """Rows = figures (overall, then per language, then the held-out split); columns = configurations."""
    header = [""] + [ev.config.name for ev in evaluations]
    names = measures.names(k)
    rows = [[n] + [fmt(ev.figures.get(n)) for ev in evaluations] for n in names]
    rows.append(["ms per question"] + [f"{_ms(ev):.0f}" for ev in evaluations])
    first = evaluations[0].figures
    sections = [("by_lang", g, g) for g in first.group("by_lang")]
    if len(first.group("by_split")) > 1 and "test" in first.group("by_split"):
        sections.append(("by_split", "test", HELD_OUT))
    for key, g, label in sections:
        rows.append([f"— {label} —"] + [""] * len(evaluations))
        rows += [[f"{n} [{label.split()[0]}]"] + [fmt(ev.figures.group(key)[g].get(n)) for ev in evaluations]
                 for n in names]
    rows.append([LABELS["n_answerable"]] + [fmt(ev.figures["n_answerable"]) for ev in evaluations])
    rows.append([LABELS["n_unanswerable"]] + [fmt(ev.figures["n_unanswerable"]) for ev in evaluations])
    return Table(header, rows)


def _ms(ev) -> float:
    return sum(o.ms for o in ev.outcomes) / len(ev.outcomes) if ev.outcomes else 0.0


def text(table: Table) -> str:
    """Aligned columns for a terminal: first column left, the others right."""
    widths = [max(len(r[i]) for r in [table.header] + table.rows) for i in range(len(table.header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)).rstrip()

    out = [line(table.header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in table.rows]
    return "\n".join(out)


def cell(value: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(value).replace("\\", "\\\\").replace("|", "\\|").split())


def markdown(table: Table, right: set[int] | None = None) -> str:
    """A Markdown table; columns in ``right`` (default: all but the first) are right-aligned."""
    right = set(range(1, len(table.header))) if right is None else right
    out = ["| " + " | ".join(cell(h) for h in table.header) + " |",
           "|" + "|".join(" ---: " if i in right else " --- " for i in range(len(table.header))) + "|"]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in table.rows]
    return "\n".join(out)


def _title(ev, meta: dict) -> str:
    return (f"{meta['questions']} · split {meta['split']} · k {meta['k']} · mode {ev.config.mode} · "
            f"model {ev.model_id}")


def single_text(ev, meta: dict) -> str:
    figs, k = ev.figures, ev.k
    parts = [_title(ev, meta), "", text(summary_table(figs, k)), "", "by category", "",
             text(category_table(figs, k)), "",
             f"{_ms(ev):.0f} ms per question; MRR@10 and nDCG@10 read 10 ranks, the rest the top {k}."]
    return "\n".join(parts)


def compare_text(evaluations: list, meta: dict) -> str:
    models = ", ".join(dict.fromkeys(ev.model_id for ev in evaluations))
    head = f"{meta['questions']} · split {meta['split']} · k {meta['k']} · models {models}"
    return "\n".join([head, "", text(compare_table(evaluations, meta["k"]))])


# --------------------------------------------------------------------------- JSON

def to_json(ev, meta: dict) -> dict:
    data = ev.figures.to_dict()
    data["ms_per_question"] = round(_ms(ev), 1)
    data["unreachable"] = list(ev.unreachable)
    data["config"] = {"name": ev.config.name, "mode": ev.config.mode, "model": ev.model_id, **meta}
    return data


# --------------------------------------------------------------------------- Markdown report

def misses(ev) -> list[tuple[Outcome, str]]:
    """Answerable questions without a hit at rank 1 (declined included) and answered unanswerable ones."""
    return misses_of(ev.outcomes)


def misses_of(outcomes) -> list[tuple[Outcome, str]]:
    """``misses`` over any outcomes (a collection's, in ``chatbot eval --corpus``)."""
    out = []
    for o in outcomes:
        q = o.question
        if q.answerable and not o.answered:
            out.append((o, "declined, though answerable"))
        elif q.answerable and not (o.returned and o.returned[0].relevant):
            first = next((r.rank for r in o.returned if r.relevant), None)
            why = f"first hit at rank {first}" if first else f"no hit among the {len(o.returned)} passages returned"
            out.append((o, why))
        elif not q.answerable and o.answered:
            out.append((o, "answered, though unanswerable"))
    return out


def _score(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def miss_section(o: Outcome, why: str, level: int = 3) -> str:
    """One miss as Markdown, under a heading of ``level``."""
    q = o.question
    lines = [f"{'#' * level} `{q.id}` — {q.q}", "",
             f"{why} · lang {q.lang} · {q.category} · split {q.split} · party {q.party or '–'} · line {q.line}", ""]
    if q.gold:
        lines.append("Expected:")
        lines += [f"- {g.party}: «{' '.join(g.quote.split())}»" for g in q.gold]
    else:
        lines.append("Expected: no answer (unanswerable).")
    lines.append("")
    if o.returned:
        table = Table(["rank", "party", "hit", "dense", "bm25", "text"],
                      [[str(r.rank), r.party,
                        ("quote " + ", ".join(str(i + 1) for i in sorted(r.gold_hits))) if r.gold_hits else "",
                        _score(r.dense), _score(r.bm25), r.text] for r in o.returned[:3]])
        lines.append(markdown(table, right={0, 3, 4}))
    else:
        lines.append("Returned: nothing (declined).")
    lines.append("")
    return "\n".join(lines)


def markdown_report(evaluations: list, meta: dict, compare: bool) -> str:
    ev0 = evaluations[0]
    out = ["# Evaluation report", "",
           f"Questions `{meta['questions']}`, split {meta['split']}, k {meta['k']}. "
           "A passage hits a gold quote when the parties match and the longest common substring of the "
           "normalised texts is at least 60 % of the quote. The test split is held out.", ""]
    if compare:
        out += ["## Figures", "", markdown(compare_table(evaluations, meta["k"])), ""]
    else:
        out += [f"## Figures — {_title(ev0, meta)}", "", markdown(summary_table(ev0.figures, ev0.k)), "",
                "### By category", "", markdown(category_table(ev0.figures, ev0.k)), ""]
    if ev0.unreachable:
        out += [f"No passage of the index hits the gold of: {', '.join(f'`{i}`' for i in ev0.unreachable)}.", ""]
    for ev in evaluations:
        found = misses(ev)
        out += [f"## Misses — {ev.config.name} ({len(found)})", ""]
        if not found:
            out += ["None.", ""]
        out += [miss_section(o, why) for o, why in found]
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------- TREC

def trec_lines(ev) -> Iterator[str]:
    """``qid Q0 docid rank score tag``; score 1/rank, as in the run given to ir_measures."""
    tag = "chatbot-" + "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in ev.config.name)
    for o in ev.outcomes:
        for r in o.returned:
            yield f"{o.question.id} Q0 {r.doc_id} {r.rank} {1.0 / r.rank:.6f} {tag}\n"


# --------------------------------------------------------------------------- files

def write_output(path: Path, text: str) -> None:
    """A report or run file, its folder made; an unwritable path is a clean error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ChatbotError(f"cannot write {path}: {exc.strerror or exc}") from None
