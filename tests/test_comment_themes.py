"""Comment themes say something: a readable label, a share and representative quotes."""

from __future__ import annotations

from portal.reports.themes import QUOTE_CHARS, find_themes, quote, theme_label

FUNDING = ["State funding for libraries was cut again and advocacy with legislators "
           "matters more than ever.",
           "Advocacy with state legislators on library funding should be the first task.",
           "Our funding depends on legislators; more advocacy toolkits for funding please.",
           "Legislators listen when advocacy brings local funding stories."]
LEARNING = ["Continuing education webinars are too expensive for rural staff.",
            "Free continuing education webinars would help our paraprofessionals.",
            "The continuing education catalogue needs shorter webinars on cataloguing.",
            "Webinars for continuing education should be recorded for later viewing."]


def test_each_theme_has_a_label_a_share_and_quotes_from_its_own_comments():
    texts = (FUNDING + LEARNING) * 3
    themes = find_themes(texts, max_themes=2)
    assert len(themes) == 2
    assert abs(sum(t.share for t in themes) - 1) < 1e-9
    by_label = {t.label: t for t in themes}
    labels = " ".join(by_label).lower()
    assert "education" in labels or "webinars" in labels
    assert "funding" in labels or "advocacy" in labels or "legislators" in labels
    for t in themes:
        assert t.label and t.label[0].isupper()
        assert 1 <= len(t.quotes) <= 3 and len(set(t.quotes)) == len(t.quotes)
        own = FUNDING if set(t.quotes) <= set(FUNDING) else LEARNING
        assert set(t.quotes) <= set(own)  # quotes come from the theme's own comments


def test_labels_read_as_names():
    assert theme_label(("continuing education", "webinars", "rural")) == "Continuing education"
    assert theme_label(("funding", "advocacy", "legislators")) == "Funding and advocacy"
    assert theme_label(("webinar", "webinars", "cost")) == "Webinar and cost"
    assert theme_label(()) == ""


def test_long_quotes_are_cut_at_a_word():
    text = "word " * 100
    q = quote(text)
    assert len(q) <= QUOTE_CHARS + 1 and q.endswith("…") and not q.endswith(" …")
    assert quote("  short   text ") == "short text"
