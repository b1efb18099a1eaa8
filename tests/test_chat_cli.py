"""`chatbot chat` (plain and JSON Lines) and `chatbot eval --conversations`, in-process with the fake embedder."""

from __future__ import annotations

import io
import json

from chatbot.cli import main


def run_chat(monkeypatch, capsys, text: str, *extra: str) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["chat", *extra]) == 0
    return capsys.readouterr().out


def test_chat_json_lines_and_an_empty_line_starts_afresh(fake_model, monkeypatch, capsys):
    out = run_chat(monkeypatch, capsys, "Hva mener Venstre om bolig?\nOg Helsepartiet?\n\nOg Helsepartiet?\n", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 3  # the empty line prints nothing
    assert [r["question"] for r in rows] == ["Hva mener Venstre om bolig?", "Og Helsepartiet?", "Og Helsepartiet?"]
    assert [r["interpreted"] for r in rows] == ["Hva mener Venstre om bolig?", "Hva mener Helsepartiet om bolig?",
                                                "Og Helsepartiet?"]
    assert [r["context_used"] for r in rows] == [False, True, False]
    assert rows[1]["parties"] == ["Helsepartiet"] and rows[1]["answered"] is True
    assert {p["party"] for p in rows[1]["passages"]} == {"Helsepartiet"}
    for key in ("answered", "notice", "parties", "missing_parties", "mode", "passages"):  # the ask --json object
        assert key in rows[0]
    assert rows[0]["passages"][0]["citation"].startswith("Venstre, ")


def test_chat_json_compare_turn(fake_model, monkeypatch, capsys):
    out = run_chat(monkeypatch, capsys, "Hva mener Venstre om bolig?\nOg Helsepartiet?\nEr de enige?\n", "--json")
    last = json.loads(out.splitlines()[-1])
    assert last["rule"] == "compare" and last["context_used"] is True
    assert last["interpreted"] == "Hva mener Venstre og Helsepartiet om bolig?"
    assert set(last["compare"]) == {"Venstre", "Helsepartiet"}
    for party, answer in last["compare"].items():
        assert all(p["party"] == party for p in answer["passages"])


def test_chat_literal_flag_searches_the_words_as_typed(fake_model, monkeypatch, capsys):
    out = run_chat(monkeypatch, capsys, "Hva mener Venstre om bolig?\nOg Helsepartiet?\n", "--json", "--literal")
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[1]["interpreted"] == "Og Helsepartiet?" and rows[1]["context_used"] is False


def test_chat_plain_text_says_how_a_follow_up_was_read(fake_model, monkeypatch, capsys):
    out = run_chat(monkeypatch, capsys, "Hva mener Venstre om bolig?\nOg Helsepartiet?\n/bokstavelig\n\nwhat about LAR?\n")
    assert "Tolket som: «Hva mener Helsepartiet om bolig?» (skriv /bokstavelig for å søke på ordene slik de står)" in out
    assert out.count("Tolket som") == 1  # not for the first turn, not for the literal repeat
    assert "(Ny samtale)" in out
    assert "Interpreted as" not in out  # after the reset, "what about LAR?" has no earlier turn


def test_chat_english_note(fake_model, monkeypatch, capsys):
    out = run_chat(monkeypatch, capsys, "What does Venstre want for LAR?\nand the Health Party?\n")
    assert "Interpreted as: «What does Helsepartiet want for LAR?» (type /literal to search the words as typed)" in out


def test_chat_bad_k_is_one_line_error(fake_model, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("LAR\n"))
    assert main(["chat", "--k", "0"]) == 1
    assert capsys.readouterr().err.strip() == "chatbot: error: --k must be between 1 and 50"


def test_eval_conversations_command(fake_model, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("CHATBOT_CACHE_DIR", str(tmp_path / "cache"))  # the collection's index is built there
    dialogue = {"id": "c1", "corpus": "rusomsorg", "turns": [
        {"q": "Hva vil Helsepartiet med sprøyterom?", "followup": False, "answerable": True,
         "standalone": "Hva vil Helsepartiet med sprøyterom?",
         "gold": [{"party": "Helsepartiet", "quote": "i stedet for dagens sprøyterom for rusavhengige"}]},
        {"q": "og Venstre?", "followup": True, "answerable": False, "standalone": "Hva vil Venstre med sprøyterom?",
         "gold": []}]}
    # a follow-up by its writer's reading that names its topic again: read as a question of its own, answered right
    again = {"id": "c2", "corpus": "rusomsorg", "turns": [
        {"q": "Hva vil Helsepartiet med sprøyterom?", "followup": False, "answerable": True,
         "standalone": "Hva vil Helsepartiet med sprøyterom?",
         "gold": [{"party": "Helsepartiet", "quote": "i stedet for dagens sprøyterom for rusavhengige"}]},
        {"q": "hvem vil ha brukerrom i stedet for sprøyterom?", "followup": True, "answerable": True,
         "standalone": "Hvem vil ha brukerrom i stedet for sprøyterom?",
         "gold": [{"party": "Helsepartiet", "quote": "i stedet for dagens sprøyterom for rusavhengige"}]}]}
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(dialogue, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["eval", "--conversations", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dialogues"] == 1 and data["turns"] == 2
    assert data["rules"]["recognised"] == 1.0
    assert data["rules"]["n_unrecognised"] == 0 and data["rules"]["unrecognised_right_as_typed"] is None
    assert data["turns_detail"][1]["interpreted"] == "Hva vil Venstre med sprøyterom?"
    assert main(["eval", "--conversations", str(path), "--min-recognised", "1.5"]) == 1
    captured = capsys.readouterr()
    assert "follow-ups recognised: 1.00 of 1" in captured.out
    assert "recognised 1.000 is below the floor --min-recognised 1.5" in captured.err
    both = tmp_path / "d2.jsonl"
    both.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in (dialogue, again)), encoding="utf-8")
    assert main(["eval", "--conversations", str(both), "--json"]) == 0
    rules = json.loads(capsys.readouterr().out)["rules"]
    assert (rules["recognised"], rules["n_unrecognised"], rules["unrecognised_right_as_typed"]) == (0.5, 1, 1.0)
    assert main(["eval", "--conversations", str(both)]) == 0
    assert "follow-ups recognised: 0.50 of 2 (of the 1 not recognised, 1.00 answered right as typed)" in capsys.readouterr().out


def test_eval_conversations_bad_file_is_one_line_error(fake_model, capsys, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "x", "turns": []}\n', encoding="utf-8")
    assert main(["eval", "--conversations", str(path)]) == 1
    assert capsys.readouterr().err.strip().endswith('bad.jsonl line 1: "turns" must be a non-empty list')


def test_anyone_else_when_every_party_was_asked_says_there_is_nobody_else(fake_bot):
    from chatbot.chat import Conversation, take_turn

    conversation = Conversation()
    for q in ("Hva mener Venstre om LAR?", "og Helsepartiet?"):
        take_turn(fake_bot, conversation, q)
    turn = take_turn(fake_bot, conversation, "noen andre?")
    assert (turn.answer.answered, turn.answer.hits) == (False, ())
    assert turn.answer.notice == "Kildene har ingen andre partier enn Venstre og Helsepartiet."
    assert turn.reading.note() == "Tolket som: «Hva mener partiene om LAR?» (andre enn Venstre og Helsepartiet)"


def test_anyone_else_when_only_the_parties_left_out_have_passages():
    from chatbot.chat import _only_the_excluded_have
    from chatbot.followup import WHICH_PARTY, Reading
    from chatbot.records import Answer

    reading = Reading("noen andre?", "Hva mener partiene om LAR?", ("Helsepartiet",), True, WHICH_PARTY,
                      excluded=("Venstre",))
    declined = Answer("Hva mener partiene om LAR?", False,
                      "Fant ingen relevante avsnitt fra Helsepartiet om dette i kildene. Venstre har avsnitt om dette; "
                      "ta med Venstre i partifilteret for å se dem.", (), others_with_passages=("Venstre",))
    assert _only_the_excluded_have(declined, reading).notice == \
        "Fant ingen relevante avsnitt fra Helsepartiet om dette i kildene. Bare Venstre har avsnitt om dette."
    someone_new = Answer("x", False, "…", (), others_with_passages=("Venstre", "Rødt"))
    assert _only_the_excluded_have(someone_new, reading) is someone_new  # a party not yet seen: the hint stays
