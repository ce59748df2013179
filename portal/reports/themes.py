"""Main themes of a set of comments: TF-IDF weighted terms factorised with NMF.

Offline and deterministic (fixed random_state). Themes are rough summaries:
each comment is assigned to its strongest theme, and a theme is described by a
readable label made from its top terms, its share of the comments and two or three
representative quotes (the comments that weigh most on it, never with a name).
Callers show themes only for slices that hold at least PRIVACY_MIN_COMMENTS comments.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

WORDS = r"(?u)\b[a-zA-Z][a-zA-Z-]+\b"  # words of two letters or more, no numbers
MAX_DOCS = 5000  # the newest comments; keeps a page fast on a very large slice


QUOTES = 3          # representative quotes per theme
QUOTE_CHARS = 240   # a quote longer than this is cut at a word, with an ellipsis


@dataclass(frozen=True)
class Theme:
    terms: tuple[str, ...]
    comments: int          # comments whose strongest theme this is
    share: float
    label: str = ""
    quotes: tuple[str, ...] = ()


def theme_label(terms: tuple[str, ...] | list[str]) -> str:
    """A short name from a theme's top terms: its strongest two-word term when one is
    among the first three ("Continuing education"), otherwise the first two terms
    ("Funding and advocacy"); words already in the name are not repeated."""
    if not terms:
        return ""
    phrase = next((t for t in terms[:3] if " " in t), None)
    if phrase is None:
        words = [terms[0]]
        extra = next((t for t in terms[1:] if t not in terms[0] and terms[0] not in t), None)
        if extra:
            words.append(extra)
        phrase = " and ".join(words)
    return phrase[:1].upper() + phrase[1:]


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:-") + "…"


def find_themes(texts: list[str], max_themes: int = 5, top_terms: int = 6) -> list[Theme]:
    """Up to `max_themes` themes, largest first; [] when the texts share no vocabulary."""
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [t for t in texts[:MAX_DOCS] if t and t.strip()]
    if len(texts) < 2:
        return []
    vectorizer = TfidfVectorizer(stop_words="english", min_df=2, max_df=0.9,
                                 ngram_range=(1, 2), max_features=4000,
                                 token_pattern=WORDS)
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # nothing left after the stop words and min_df
        return []
    n_terms = matrix.shape[1]
    k = max(1, min(max_themes, len(texts) // 10, n_terms - 1))
    if n_terms < 2:
        return []
    model = NMF(n_components=k, init="nndsvda", random_state=0, max_iter=400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on tiny slices
        weights = model.fit_transform(matrix)
    terms = vectorizer.get_feature_names_out()
    strongest = weights.argmax(axis=1)
    assigned = weights.max(axis=1) > 0
    themes = []
    for i, component in enumerate(model.components_):
        top = [terms[j] for j in component.argsort()[::-1][:top_terms] if component[j] > 0]
        mine = (strongest == i) & assigned
        count = int(mine.sum())
        if top and count:
            # The comments of this theme that weigh most on it, strongest first; the
            # same text twice is quoted once.
            order = [int(j) for j in weights[:, i].argsort()[::-1] if mine[j]]
            quotes: list[str] = []
            for j in order:
                q = quote(texts[j])
                if q and q not in quotes:
                    quotes.append(q)
                if len(quotes) == QUOTES:
                    break
            themes.append(Theme(tuple(top), count, count / len(texts),
                                label=theme_label(top), quotes=tuple(quotes)))
    themes.sort(key=lambda t: -t.comments)
    return themes
