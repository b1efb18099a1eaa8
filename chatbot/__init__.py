"""Party-programme chatbot: answers questions with the parties' own words, cited exactly.

Importing this package does no work: models and indexes load only when asked.
"""

__version__ = "0.1.0"
