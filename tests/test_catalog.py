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
