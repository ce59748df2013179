"""A rough sentiment score for comment texts (VADER, offline, rule-based)."""

from __future__ import annotations

from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

POSITIVE = 0.05
NEGATIVE = -0.05


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def score(text: str) -> float:
    """VADER's compound score in [-1, 1]; labelled "rough" wherever it is shown."""
    return float(_analyzer().polarity_scores(text or "")["compound"])


def label(compound: float | None) -> str:
    if compound is None:
        return "unknown"
    if compound >= POSITIVE:
        return "positive"
    if compound <= NEGATIVE:
        return "negative"
    return "neutral"
