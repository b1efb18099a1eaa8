"""The index: build, publish, load and verify it (store), the dense index kinds (ann), dense and lexical
scores (search) and the English-to-Norwegian word list (lexicon)."""
