"""The one calibrated decision: how likely each candidate passage is to answer the question.

A logistic model over ``features.NAMES`` (per retrieval mode) gives every candidate a
probability of being relevant. The question is answered when the best candidate reaches
``answer_at``; the passages shown are those reaching ``show_at`` and ``show_relative`` times the best
probability of their party, best first. The cut-offs
and the weights are fitted together across the evaluation collections
(``chatbot eval --calibrate``), never by hand, and stored as data (``decision.json``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import ChatbotError
from . import features as F

DECISION_FILE = "decision.json"
FORMAT = 1


class DecisionError(ChatbotError):
    """A decision file that is missing, unreadable or does not fit this version."""


@dataclass(frozen=True)
class ModeModel:
    """Logistic weights for one retrieval mode, over standardised features."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    answer_at: float  # answer when the best candidate's probability reaches this
    show_at: float  # show candidates whose probability reaches this (<= answer_at)
    question: QuestionModel | None = None  # answer or decline, over question-level features
    gate: bool = False  # with a question model: the best passage must also reach answer_at
    # a passage is shown only when its probability also reaches this share of the best passage's of its party
    # (0: show_at alone): a strong best passage does not come with weak neighbours
    show_relative: float = 0.0

    def __post_init__(self):
        n = len(self.features)
        if not n or any(len(v) != n for v in (self.mean, self.scale, self.coef)):
            raise DecisionError("a decision model needs as many means, scales and weights as features")
        unknown = [f for f in self.features if f not in F.NAMES]
        if unknown:
            raise DecisionError(f"the decision model reads unknown features {unknown}; recalibrate")
        if not 0.0 < self.show_at <= self.answer_at < 1.0:
            raise DecisionError("a decision model needs 0 < show_at <= answer_at < 1")
        if not 0.0 <= self.show_relative < 1.0:
            raise DecisionError("a decision model needs 0 <= show_relative < 1")

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(relevant) for each row of a full feature matrix (columns in ``features.NAMES`` order)."""
        if not len(x):
            return np.zeros(0)
        cols = [F.NAMES.index(f) for f in self.features]
        z = (x[:, cols] - np.asarray(self.mean)) / np.asarray(self.scale)
        return F.logistic(z @ np.asarray(self.coef) + self.intercept)


@dataclass(frozen=True)
class QuestionModel:
    """Logistic weights over ``features.QUESTION_NAMES``: answer the question, or decline."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    answer_at: float

    def __post_init__(self):
        n = len(F.QUESTION_NAMES)
        if any(len(v) != n for v in (self.mean, self.scale, self.coef)):
            raise DecisionError("the question model does not fit this version's features; recalibrate")

    def probability(self, row: np.ndarray) -> float:
        z = (row - np.asarray(self.mean)) / np.asarray(self.scale)
        return float(F.logistic(np.array([z @ np.asarray(self.coef) + self.intercept]))[0])


@dataclass(frozen=True)
class DecisionModel:
    """The fitted decision for one embedding model, one ``ModeModel`` per retrieval mode."""

    model_id: str
    modes: dict[str, ModeModel]
    fitted_on: tuple[str, ...] = ()  # collections the weights were fitted on
    note: str = ""
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        missing = [m for m in ("hybrid", "dense", "bm25") if m not in self.modes]
        if missing:
            raise DecisionError(f"the decision model lacks the mode(s) {', '.join(missing)}")

    def for_mode(self, mode: str) -> ModeModel:
        return self.modes[mode]

    def to_dict(self) -> dict:
        return {"format": FORMAT, "model_id": self.model_id, "fitted_on": list(self.fitted_on), "note": self.note,
                "meta": self.meta, "modes": {m: asdict(v) for m, v in self.modes.items()}}

    @classmethod
    def from_dict(cls, data: dict, where: str = "decision file") -> "DecisionModel":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DecisionError(f"{where} is not a decision file of format {FORMAT}; recalibrate with `chatbot eval --calibrate`")
        try:
            modes = {m: ModeModel(features=tuple(v["features"]), mean=tuple(map(float, v["mean"])),
                                  scale=tuple(map(float, v["scale"])), coef=tuple(map(float, v["coef"])),
                                  intercept=float(v["intercept"]), answer_at=float(v["answer_at"]),
                                  show_at=float(v["show_at"]), gate=bool(v.get("gate", False)),
                                  show_relative=float(v.get("show_relative", 0.0)),
                                  question=QuestionModel(**{k2: (tuple(map(float, x)) if isinstance(x, list) else float(x))
                                                            for k2, x in v["question"].items()}) if v.get("question") else None)
                     for m, v in data["modes"].items()}
            return cls(str(data["model_id"]), modes, tuple(data.get("fitted_on", ())), str(data.get("note", "")),
                       dict(data.get("meta", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise DecisionError(f"{where} is damaged ({exc}); recalibrate with `chatbot eval --calibrate`") from None

    def save(self, path: Path) -> None:
        from ..fsutil import atomic_write_text

        atomic_write_text(Path(path), json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n")


def load(path: Path) -> DecisionModel:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DecisionError(f"no decision file at {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DecisionError(f"cannot read the decision file {path}: {exc}") from None
    return DecisionModel.from_dict(data, str(path))


def shipped() -> DecisionModel:
    """The decision fitted for the default model, shipped with the package."""
    try:
        text = resources.files(__package__).joinpath(DECISION_FILE).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise DecisionError(f"the package's {DECISION_FILE} is missing ({exc}); reinstall") from None
    return DecisionModel.from_dict(json.loads(text), f"the package's {DECISION_FILE}")


def default_path(model_id: str) -> Path:
    """Where ``chatbot eval --calibrate`` writes the decision for ``model_id``: the package's own
    file for the default model, the cache folder for any other."""
    from ..models.spec import DEFAULT_MODEL

    if model_id == DEFAULT_MODEL:
        return Path(__file__).with_name(DECISION_FILE)
    from ..fsutil import cache_name
    from ..settings import default_cache_dir

    return default_cache_dir() / "decisions" / f"{cache_name(model_id)}.json"


def for_model(model_id: str, warn=None) -> DecisionModel:
    """The decision fitted for ``model_id``; for a model nobody calibrated, the default model's,
    with a warning (its probabilities then are only approximate)."""
    path = default_path(model_id)
    if path.is_file() and path != Path(__file__).with_name(DECISION_FILE):
        return load(path)
    model = shipped()
    if model.model_id != model_id and warn is not None:
        warn(f"the answer/decline decision was fitted for {model.model_id}, not {model_id}; "
             f"run `chatbot eval --calibrate --model {model_id}` to fit one for it")
    return model
