import re
from pathlib import Path

import pytest

from chatbot.catalog import load_catalog
from chatbot.errors import CatalogError

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "sources"


def write(tmp_path: Path, catalog: str, files: dict[str, str]) -> Path:
    (tmp_path / "catalog.toml").write_text(catalog, encoding="utf-8")
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


ENTRY = '[[document]]\nfile = "{file}"\nparty = "P"\ntitle = "T"\nkind = "partiprogram"\nlanguage = "nb"\n'


def test_real_catalog_documents_and_metadata():
    catalog = load_catalog(ROOT / "sources")
    by = catalog.by_source()
    assert sorted(by) == ["helsepartiet-rusomsorg.txt", "venstre-rusomsorg.txt"]
    hp = by["helsepartiet-rusomsorg.txt"]
    assert (hp.party, hp.kind, hp.date, hp.language) == ("Helsepartiet", "prinsipprogram", "2017-02-08", "nb")
    assert hp.chapter == "Helsepartiet vil sikre et godt, trygt og rettferdig pasienttilbud til alle"
    assert "Lillestrøm 8. februar 2017" in hp.provenance
    assert hp.citation_label() == "Helsepartiet, Prinsipprogram (vedtatt 8. februar 2017)"
    v = by["venstre-rusomsorg.txt"]
    assert (v.party, v.date, v.provenance) == ("Venstre", None, None)
    assert catalog.parties == ("Helsepartiet", "Venstre")


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/sources not beside the project")
def test_sources_are_byte_copies_of_the_collected_files():
    assert (ROOT / "sources/venstre-rusomsorg.txt").read_bytes() == (SHARED / "000_d22552bfdd8bb953.txt").read_bytes()
    assert (ROOT / "sources/helsepartiet-rusomsorg.txt").read_bytes() == (SHARED / "002_1ee39f5d3736e670.txt").read_bytes()


def test_helsepartiet_chrome_is_excluded_as_data():
    catalog = load_catalog(ROOT / "sources")
    hp = catalog.by_source()["helsepartiet-rusomsorg.txt"]
    text = catalog.text(hp.source)
    excluded = "".join(text[a:b] for a, b in hp.excluded)
    assert "DU ER HER" in excluded
    assert "Pasient- og brukermedvirkning" in excluded
    assert "Fra Helsepartiets prinsipprogram" in excluded
    assert "Styrke ettervernet." not in excluded


def test_unknown_format_is_rejected_with_a_clear_message(tmp_path):
    root = write(tmp_path, ENTRY.format(file="prog.pdf"), {"prog.pdf": "x"})
    with pytest.raises(CatalogError, match=r"prog.pdf has format \.pdf; supported formats are \.txt, \.md"):
        load_catalog(root)


def test_markdown_is_accepted(tmp_path):
    root = write(tmp_path, ENTRY.format(file="prog.md"), {"prog.md": "# Tittel\n\nTekst.\n"})
    assert load_catalog(root).documents[0].source == "prog.md"


@pytest.mark.parametrize("catalog, message", [
    ("", "lists no"),
    ("[[document]\n", "not valid TOML"),
    ('[[document]]\nfile = "a.txt"\n', "missing party, title, kind, language"),
    (ENTRY.format(file="../a.txt"), "plain name"),
    (ENTRY.format(file="missing.txt"), "does not exist"),
    (ENTRY.format(file="a.txt") + '[[document.exclude]]\nlines = "5-9"\n', "outside the file's 2 lines"),
    (ENTRY.format(file="a.txt") + '[[document.exclude]]\nlines = "x"\n', "must look like"),
    (ENTRY.format(file="a.txt") + '[[document.exclude]]\nlines = "2-end"\nstarts_with = "Meny"\n', "file changed"),
    (ENTRY.format(file="a.txt") * 2, "listed twice"),
])
def test_bad_catalogs(tmp_path, catalog, message):
    root = write(tmp_path, catalog, {"a.txt": "Første linje.\nAndre linje.\n"})
    with pytest.raises(CatalogError, match=message):
        load_catalog(root)


def test_missing_catalog(tmp_path):
    with pytest.raises(CatalogError, match="no catalog"):
        load_catalog(tmp_path)


def test_non_utf8_source(tmp_path):
    (tmp_path / "catalog.toml").write_text(ENTRY.format(file="a.txt"), encoding="utf-8")
    (tmp_path / "a.txt").write_bytes("Rusomsorg på alvor".encode("latin-1"))
    with pytest.raises(CatalogError, match="not valid UTF-8"):
        load_catalog(tmp_path)


# ---- the url field ------------------------------------------------------------------------------

def test_url_is_optional_and_kept(tmp_path):
    entry = ENTRY.format(file="a.txt") + 'url = " https://www.venstre.no/tema/rusomsorg/ "\n'
    doc = load_catalog(write(tmp_path, entry, {"a.txt": "Tekst.\n"})).documents[0]
    assert doc.url == "https://www.venstre.no/tema/rusomsorg/"


@pytest.mark.parametrize("url, message", [
    ('"ftp://example.org/a"', "absolute http:// or https://"),
    ('"www.venstre.no/tema"', "absolute http:// or https://"),
    ('"https:///tema"', "absolute http:// or https://"),
    ('"https://example.org/a b"', "without spaces"),
    ('"https://example.org/a#:~:text=x"', "must not carry a text fragment"),
    ("42", "url must be text"),
])
def test_bad_urls_are_one_line_errors(tmp_path, url, message):
    root = write(tmp_path, ENTRY.format(file="a.txt") + f"url = {url}\n", {"a.txt": "Tekst.\n"})
    with pytest.raises(CatalogError, match=re.escape(message)):
        load_catalog(root)


# ---- citation fields: byte offsets, TextQuoteSelector, URL text fragments -------------------------

def test_document_text_is_the_file_as_read(tmp_path):
    raw = "Første linje.\r\nÆrlig talt: sjøen.\r\n"
    (tmp_path / "catalog.toml").write_text(ENTRY.format(file="a.txt"), encoding="utf-8")
    (tmp_path / "a.txt").write_bytes(raw.encode("utf-8"))
    catalog = load_catalog(tmp_path)
    assert catalog.documents[0].text == raw == catalog.text("a.txt")  # CRLF kept: offsets count the \r


def hand_made(text: str, passage: str, url: str | None = None):
    from chatbot.records import Document, Hit, Passage

    start = text.index(passage)
    doc = Document(source="a.txt", party="Fjordpartiet", title="T", kind="partiprogram", language="nb",
                   sha256="0" * 64, url=url, text=text)
    p = Passage(id="x", party="Fjordpartiet", source="a.txt", title="T", section="", start=start,
                end=start + len(passage), line=text.count("\n", 0, start) + 1, text=passage,
                context_start=start, context_end=start + len(passage), context=passage)
    return Hit(rank=1, passage=p, score=0.5), doc


SOURCE = "Fjordpartiet vil:\r\n- Gi alle på øyene ferje døgnet rundt, også i helgene.\r\n- Bygge bru.\r\n"


def test_byte_offsets_selector_and_fragment_exactly():
    hit, doc = hand_made(SOURCE, "Gi alle på øyene ferje døgnet rundt, også i helgene.", "https://fjord.example/program")
    data = hit.to_dict(doc)
    assert (data["start"], data["end"]) == (21, 73)
    assert (data["byte_start"], data["byte_end"]) == (21, 77)  # all ASCII before; "å ø ø å" inside: 2 bytes each
    assert SOURCE.encode("utf-8")[21:77].decode("utf-8") == data["text"]
    assert data["selector"] == {"type": "TextQuoteSelector",
                                "exact": "Gi alle på øyene ferje døgnet rundt, også i helgene.",
                                "prefix": "Fjordpartiet vil:\r\n- ",
                                "suffix": "\r\n- Bygge bru.\r\n"}
    assert data["url"] == ("https://fjord.example/program#:~:text=Gi%20alle%20p%C3%A5%20%C3%B8yene,"
                           "rundt%2C%20ogs%C3%A5%20i%20helgene.")  # 9 words: first 4, last 4


def test_prefix_and_suffix_are_32_characters():
    text = "a" * 40 + "Brua over sundet." + "b" * 40
    data = hand_made(text, "Brua over sundet.")[0].to_dict(hand_made(text, "Brua over sundet.")[1])
    assert data["selector"]["prefix"] == "a" * 32 and data["selector"]["suffix"] == "b" * 32
    assert (data["byte_start"], data["byte_end"]) == (40, 57)


def test_fragment_terms_encode_the_directive_delimiters():
    from chatbot.records import text_fragment_url

    assert text_fragment_url("https://x.example/a", "Rus- & psykiatri, nå") == \
        "https://x.example/a#:~:text=Rus%2D%20%26%20psykiatri%2C%20n%C3%A5"
    assert text_fragment_url("https://x.example/a#kap2", "Bru\n  over  sundet") == \
        "https://x.example/a#kap2:~:text=Bru%20over%20sundet"  # after the URL's own fragment; whitespace as one space


def test_no_url_gives_null_and_no_text_gives_null_bytes():
    hit, doc = hand_made(SOURCE, "Bygge bru.")
    data = hit.to_dict(doc)
    assert (data["start"], data["end"]) == (77, 87)
    assert (data["url"], data["byte_start"], data["byte_end"]) == (None, 81, 91)  # the four 2-byte letters before
    from dataclasses import replace

    data = hit.to_dict(replace(doc, text=None))  # a Document made by hand: prefix/suffix from the paragraph only
    assert (data["byte_start"], data["byte_end"], data["selector"]["prefix"], data["selector"]["suffix"]) == \
        (None, None, "", "")
    assert hit.to_dict(None)["url"] is None


def test_every_passage_of_a_crlf_source_with_aeoeaa_maps_to_its_bytes(tmp_path):
    from chatbot.index import store as index_mod
    from chatbot.models.fake import FakeEmbedder
    from chatbot.records import Hit

    raw = ("\ufeffFjordpartiet – program\r\n\r\nFjordpartiet vil gi alle på øyene ferje døgnet rundt. "
           "Ærlige løsninger for små samfunn.\r\nVi vil også bygge bru over Sognefjorden.\r\n\r\n"
           "Fjordpartiet vil:\r\n- Styrke skulen i bygdene.\r\n- Gi fiskarane kvote på kysten.\r\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "catalog.toml").write_text(ENTRY.format(file="f.txt") + 'url = "https://fjord.example/p"\n',
                                                   encoding="utf-8")
    (tmp_path / "src" / "f.txt").write_bytes(raw.encode("utf-8"))
    catalog = load_catalog(tmp_path / "src")
    embedder = FakeEmbedder()
    index_mod.build(catalog, embedder, tmp_path / "index")
    passages = index_mod.load(tmp_path / "index", catalog, embedder).passages
    assert len(passages) >= 3
    data_bytes = raw.encode("utf-8")
    doc = catalog.documents[0]
    for p in passages:
        data = Hit(1, p, 0.5).to_dict(doc)
        assert data_bytes[data["byte_start"]:data["byte_end"]].decode("utf-8") == data["text"] == raw[p.start:p.end]
        assert raw[p.start - len(data["selector"]["prefix"]):p.start] == data["selector"]["prefix"]
        assert raw[p.end:p.end + len(data["selector"]["suffix"])] == data["selector"]["suffix"]
        assert data["url"].startswith("https://fjord.example/p#:~:text=")
    first = next(p for p in passages if p.text.startswith("Styrke"))
    data = Hit(1, first, 0.5).to_dict(doc)
    assert data["text"] == "Styrke skulen i bygdene."
    # bytes beyond one per character before it: the BOM and "–" (3 bytes each), then å ø ø Æ ø å å (2 each)
    assert data["byte_start"] - data["start"] == 2 + 2 + 7
