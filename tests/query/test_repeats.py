from chatbot.query.repeats import repeats, without_repeats


def test_a_sentence_said_again_as_a_bullet_is_shown_once():
    ranked = [("V", "at rusavhengige gis samme tilgang til ordinære legemidler som andre"),
              ("H", "Helsepartiet vil avkriminalisere bruk av narkotika i små doser."),
              ("V", "Venstre vil at rusavhengige gis samme tilgang til ordinære legemidler som andre, slik at de slipper."),
              ("V", "Venstre vil ha flere behandlingsplasser for gravide rusavhengige.")]
    kept = without_repeats(ranked, lambda item: item[0], lambda item: item[1])
    assert kept == [ranked[2], ranked[1], ranked[3]]  # the fuller text, at the better one's place
    merged = without_repeats(ranked, lambda item: item[0], lambda item: item[1],
                             lambda better, repeat, fuller: (repeat[0], repeat[1], "rank of " + better[1][:3], fuller))
    assert merged[0] == ("V", ranked[2][1], "rank of at ", True)
    ranked.reverse()  # the fuller one first: the shorter repeat is left out
    assert without_repeats(ranked, lambda item: item[0], lambda item: item[1]) == ranked[:3]


def test_the_same_words_from_another_party_are_no_repeat():
    ranked = [("V", "Styrke ettervernet for rusavhengige etter behandling i institusjon."),
              ("H", "Styrke ettervernet for rusavhengige etter behandling i institusjon.")]
    assert without_repeats(ranked, lambda item: item[0], lambda item: item[1]) == ranked


def test_short_passages_and_partial_overlap_are_no_repeat():
    assert not repeats("Øke barnetrygden.", "Øke barnetrygden for alle barn under 18 år.")
    assert not repeats("Styrke ettervernet for rusavhengige i alle kommuner",
                       "Styrke fastlegeordningen for eldre i alle fylker og byer")
    assert repeats("Styrke ettervernet for rusavhengige i kommunene",
                   "Vi vil styrke ettervernet for rusavhengige i kommunene, og gi dem bolig.")
    # the same words in another order are two statements, not one said twice
    assert not repeats("at det opprettes flere bemannede boliger i forkant og etterkant av behandling i samarbeid "
                       "mellom spesialisthelsetjenesten og kommunene og kommersielle eller ideelle aktører",
                       "I samarbeid med spesialisthelsetjenesten bør det tilrettelegges for at kommuner eller ideelle og "
                       "kommersielle aktører kan drive egne bemannede boliger i forkant og etterkant av behandling.")
