"""The recoding of stored segment combinations: every class has at least k members."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.segments import GENERALISED as G
from portal.surveys.generalise import recoding

values = st.sampled_from(["early", "mid", "senior", "undisclosed", None])
libs = st.sampled_from(["academic", "public", "school", None])


def test_rare_combinations_move_up_and_the_catch_all_reaches_k():
    counts = Counter({("early", "academic"): 20, ("mid", "public"): 15,
                      ("early", "public"): 3, (None, "school"): 1})
    mapping = recoding(counts, 10, 2)
    assert mapping[("early", "academic")] == ("early", "academic")
    classes = Counter()
    for combo, n in counts.items():
        classes[mapping[combo]] += n
    assert min(classes.values()) >= 10
    # The 4 rare members are too few on their own: the smallest other class joins them.
    assert mapping[(None, "school")] == mapping[("mid", "public")] == (G, G)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.tuples(values, libs), st.integers(1, 40), max_size=20),
       st.integers(2, 12))
def test_every_class_reaches_k_or_everything_is_one_class(raw, k):
    counts = Counter(raw)
    mapping = recoding(counts, k, 2)
    classes = Counter()
    for combo, n in counts.items():
        stored = mapping[combo]
        # A class keeps a prefix of the combination and generalises the rest.
        kept = [v for v in stored if v != G]
        assert list(combo[:len(kept)]) == kept
        classes[stored] += n
    if sum(counts.values()) >= k:
        assert all(n >= k for n in classes.values()), classes
    else:
        assert set(classes) <= {(G, G)}
