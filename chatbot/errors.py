"""Errors with messages meant for people: one line, saying what to do."""


class ChatbotError(Exception):
    """Base class: the CLI prints ``str(error)`` as one line and exits non-zero.

    ``message`` says what is wrong, ``hint`` (optional) what to do about it; ``str()`` is
    ``"message; hint"``. Code that wants the problem alone reads ``message``.
    """

    def __init__(self, message: str = "", *args, hint: str | None = None):
        super().__init__(message, *args)
        self.message = str(message)
        self.hint = hint

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}; {self.hint}" if self.hint else text


class CatalogError(ChatbotError):
    """The source catalog or a source file is missing or invalid."""


class IndexError_(ChatbotError):
    """The index is missing, corrupted or built from other inputs."""


class StaleIndexError(IndexError_):
    """The index was built from other sources, another model or other settings."""


class ModelError(ChatbotError):
    """The embedding model cannot be found or loaded."""


class QuestionError(ChatbotError):
    """The question cannot be used (empty, only control characters, ...)."""


class SettingsError(ChatbotError):
    """An option or environment variable has a value that cannot be used (chatbot/settings.py)."""


BUILD_HINT = "run `chatbot build`"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none): for one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
