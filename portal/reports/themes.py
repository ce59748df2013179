"""Main themes of a set of comments: TF-IDF weighted terms factorised with NMF.

Offline and deterministic (fixed random_state). Themes are rough summaries:
each comment is assigned to its strongest theme, and a theme is described by
its top terms. Callers show themes only for slices that hold at least
PRIVACY_MIN_COMMENTS comments.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

WORDS = r"(?u)\b[a-zA-Z][a-zA-Z-]+\b"  # words of two letters or more, no numbers
MAX_DOCS = 5000  # the newest comments; keeps a page fast on a very large slice


@dataclass(frozen=True)
class Theme:
    terms: tuple[str, ...]
    comments: int          # comments whose strongest theme this is
    share: float


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
        count = int(((strongest == i) & assigned).sum())
        if top and count:
            themes.append(Theme(tuple(top), count, count / len(texts)))
    themes.sort(key=lambda t: -t.comments)
    return themes
