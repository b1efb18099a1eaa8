"""The index: the file names of a build (layout), its typed manifest and staleness (manifest), the
file checksums (checksums), the passages on disk (passage_store), party filters (party_rows), the
embedding cache of builds (embed_cache), build, publish, load and verify (store), the dense index
kinds (ann), dense and lexical scores (search) and the English-to-Norwegian word list (lexicon)."""
