"""The names of the files in an index folder, the one list every module of the index reads.

    index/
      current -> build-20261125T120000-ab12cd   (symlink, swapped atomically)
      build-.../manifest.json    chatbot/index/manifest.py
      build-.../passages.jsonl   one Passage per line, with its embedding key (chatbot/index/passage_store.py)
      build-.../dense.faiss      chatbot/index/ann.py
      build-.../embeddings.npy   exact vectors for the next build (chatbot/index/embed_cache.py)
      build-.../bm25/            bm25s files
      build-.../lexicon.json     English -> Norwegian corpus words (chatbot/index/lexicon.py)
      build-.../words.json, words.npy   the word table questions are matched with (chatbot/query/wordmatch.py)
      build-.../nynorsk-words.json   nynorsk form -> bokmål word, for question-word weights (chatbot/index/nynorsk_words.py)
"""

CURRENT = "current"
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
DENSE = "dense.faiss"
EMBEDDINGS = "embeddings.npy"
LEXICON = "lexicon.json"
VOCAB = "vocab.json"
VOCAB_VECTORS = "vocab.npy"
WORD_TABLE = "words.json"  # the query-time word table (chatbot/query/wordmatch.py): corpus and English words
WORD_TABLE_VECTORS = "words.npy"  # their vectors, float16, one row per word
NYNORSK_WORDS = "nynorsk-words.json"  # nynorsk form -> bokmål word (chatbot/index/nynorsk_words.py)
PASSAGE_OFFSETS = "passages.offsets.npy"  # where each line of passages.jsonl starts (int64, n + 1)
PASSAGE_KEYS = "passage_keys.npy"  # each passage's BM25 keys as vocabulary ids (int32), row after row
PASSAGE_KEYS_OFFSETS = "passage_keys.offsets.npy"  # where each passage's ids start (int64, n + 1)
BM25_DIR = "bm25"
NOT_CHECKED_BY_LOAD = frozenset({EMBEDDINGS, VOCAB_VECTORS})  # a cache for builds, verified when a build reads it
