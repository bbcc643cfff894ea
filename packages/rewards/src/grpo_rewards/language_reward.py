"""Language-consistency reward of the DAPO tutorial (DeepSeek-R1's, simplified), scored with langid.

langid (and numpy with it) is imported on the first call, never at ``import grpo_rewards``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .base import Reward, Score, logger
from .text import LANGUAGE_CHARS, completion_text_or_none, reasoning_text, sample_evenly

__all__ = ["Language", "detect_language"]

TARGET_SCORE = 5.0
NEAR_MISS_SCORE = -3.0  # English or Chinese: the languages the base model falls back to
OTHER_SCORE = -5.0
MALFORMED_SCORE = -5.0
NEAR_MISS_LANGUAGES = ("en", "zh")

_identifiers: dict[tuple[str, ...], Any] = {}


def detect_language(text: str, candidate_languages: Sequence[str] | None = None) -> str:
    """Return langid's ISO 639-1 code for ``text``; ``"und"`` for empty or blank text. Never raises on a ``str``.

    Args:
        text: any text.
        candidate_languages: restrict langid to these codes (e.g. ``("id", "en", "zh")``).

    >>> detect_language("Aku berpikir kalau aku adalah kamu"), detect_language("")
    ('id', 'und')
    """
    if not text or text.isspace():
        return "und"
    # langid reads UTF-8 bytes and encodes a str strictly, which refuses a lone surrogate ("\ud800", a
    # valid str): encoded here, such a code point keeps its three bytes and any str is classified.
    data = text.encode("utf-8", "surrogatepass")
    if candidate_languages is None:
        import langid

        return langid.classify(data)[0]
    return _identifier(tuple(candidate_languages)).classify(data)[0]


def _identifier(languages: tuple[str, ...]) -> Any:
    key = tuple(sorted(set(languages)))
    identifier = _identifiers.get(key)
    if identifier is None:
        from langid.langid import LanguageIdentifier, model

        identifier = LanguageIdentifier.from_modelstring(model, norm_probs=False)
        identifier.set_languages(list(key))
        _identifiers[key] = identifier
    return identifier


@dataclass
class Language(Reward):
    """Reward reasoning written in the ``target`` language.

    5.0 when langid says ``target``; -3.0 for English or Chinese; -5.0 for any other language,
    for empty text, and for a malformed completion (logged as a warning). A text longer than
    20,000 characters is classified on 8 evenly spread slices of it (see :meth:`scored_text`).

    Attributes:
        target: ISO 639-1 code of the wanted language (``"id"``: Indonesian).
        scope: ``"reasoning"`` (default) scores the text between the reasoning tags;
            ``"completion"`` scores the whole completion, as the tutorial did.
        candidate_languages: restrict langid to these codes (must include ``target``);
            ``None`` lets langid choose among all 97.
        reasoning_start, reasoning_end: the reasoning tags (used with ``scope="reasoning"``).

    >>> Language()(completions=[[{"role": "assistant", "content": "<think>Aku berpikir kalau aku adalah kamu</think>2"}],
    ...                         [{"role": "assistant", "content": "<think>I think this is the answer</think>2"}]])
    [5.0, -3.0]
    """

    target: str = "id"
    scope: Literal["reasoning", "completion"] = "reasoning"
    candidate_languages: tuple[str, ...] | None = None
    reasoning_start: str = "<think>"
    reasoning_end: str = "</think>"

    __name__ = "language"
    score_range = (min(OTHER_SCORE, MALFORMED_SCORE, NEAR_MISS_SCORE), TARGET_SCORE)

    def __post_init__(self) -> None:
        super().__post_init__()
        for tag in ("reasoning_start", "reasoning_end"):
            if not isinstance(getattr(self, tag), str):
                raise TypeError(f"reward 'language': {tag} must be a string, got {getattr(self, tag)!r}")
        if self.scope not in ("reasoning", "completion"):
            raise ValueError(f"reward 'language': scope must be 'reasoning' or 'completion', got {self.scope!r}")
        if self.candidate_languages is not None:
            if isinstance(self.candidate_languages, str):
                raise TypeError("reward 'language': candidate_languages must be a list of codes such as ['id', 'en'], not a string")
            self.candidate_languages = tuple(self.candidate_languages)
            if self.target not in self.candidate_languages:
                raise ValueError(
                    f"reward 'language': target {self.target!r} is not among candidate_languages {list(self.candidate_languages)}; add it"
                )

    def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None, **columns: Any) -> list[Score]:
        if completions is None:
            raise TypeError("reward 'language' was called without completions=")
        scores: list[Score] = []
        texts: list[str] = []
        for completion in completions:
            text = completion_text_or_none(completion)
            if text is None:
                logger.warning("language: malformed completion scored %s: %.200r", MALFORMED_SCORE, completion)
                scores.append(MALFORMED_SCORE)
                texts.append("")
                continue
            text = self.prefix + text
            texts.append(text)
            scores.append(self.score(text, None))
        if self.log_every:
            self._log_sample(prompts, texts, None, scores)
        return scores

    def scored_text(self, text: str) -> str:
        """The part of a completion (prefix included) whose language is scored.

        At most 20,000 characters: a longer text is sampled in 8 evenly spread slices, which bounds
        langid's work (linear in the text) on a multi-MB completion.
        """
        if self.scope != "completion":
            text = reasoning_text(text, self.reasoning_start, self.reasoning_end)
        return sample_evenly(text, LANGUAGE_CHARS)

    def score(self, text: str, answer: str | None) -> Score:
        language = detect_language(self.scored_text(text), self.candidate_languages)
        if language == self.target:
            return TARGET_SCORE
        if language in NEAR_MISS_LANGUAGES:
            return NEAR_MISS_SCORE
        return OTHER_SCORE
