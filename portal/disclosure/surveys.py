"""The disclosure step of survey results: what leaders may see of one survey.

Three decisions, each an attacker's problem solved by `portal.disclosure.audit`:

1. **Selections** (`selections()`), once per survey and state: the respondent counts
   of every filter the portal offers (all; each value of each breakdown dimension;
   each answer of each choice question; each segment value crossed with each answer)
   form linked tables (the crossed cells of one dimension and one question sum to
   the answer's count along the dimension, and, for a single choice, to the
   question's respondents in the segment along the answers). Counts of 1..k-1 are
   refused and refusals extended until no refused count can be narrowed from the
   allowed ones. A refused selection shows the same suppressed view whether it
   holds nobody or a few people; a crossed one needs both parents allowed.
2. **Linked tables** (`families()`): every question's table for all respondents with
   its tables for each value of one breakdown dimension, as one problem.
3. **One distribution** (`portal.disclosure.distribution.publish`): the counts,
   percentages, n, mean, interval, median, NPS of one question under one filter.

`decide_slice()` runs them for the page a leader asked for; pages, charts, exports
and highlights read only its result. `audit_survey()` re-checks everything the
portal would publish now, from the published figures alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from flask import current_app, g, has_app_context, has_request_context, request

from portal import privacy, segments
from portal.disclosure import distribution, linked
from portal.disclosure.distribution import Published, Shape
from portal.models import Survey, SurveyQuestion
from portal.survey_results import queries
from portal.survey_results.queries import ALL, Slice
from portal.surveys.answers import NA

MAX_NUMBER_ROWS = 20
REFUSED = (f"This selection is {distribution.REASON}: it, or a difference between it "
           "and other selections, would describe too few people.")


# -- distributions of a question ---------------------------------------------------

@dataclass(frozen=True)
class Dist:
    """One distribution of a question: its caption, labels and shape, and the counts."""

    caption: str
    labels: tuple[tuple, ...]          # (key, label)
    shape: Shape
    counts: tuple[tuple, ...]          # (key, count)
    n: int
    table: bool = True                 # False: only estimates are published


def dists(q: SurveyQuestion, hist: dict, n: int, months: dict | None = None) -> list[Dist]:
    """The distributions a results page publishes for question `q` (in page order)."""
    t = q.type
    by_item: dict = {}
    for (item, _v), c in hist.items():
        by_item[item] = by_item.get(item, 0) + c
    if t in ("single_choice", "multiple_choice", "ranking"):
        if t == "ranking":
            by_item = {i: c for (i, v), c in hist.items() if v == 1}
            caption = ("Ranked first (share of respondents), how often ranked and mean "
                       "rank (1 = top)")
        else:
            caption = "Answers" + (" (more than one allowed; % of respondents)"
                                   if t == "multiple_choice" else "")
        keys = tuple(o.id for o in q.options)
        return [Dist(caption, tuple((o.id, o.label) for o in q.options),
                     # Each respondent puts exactly one option first.
                     Shape(keys, exclusive=(t != "multiple_choice")),
                     tuple((k, by_item.get(k, 0)) for k in keys), n)]
    if t in ("likert", "likert_matrix"):
        keys = [v for v, _ in q.scale] + ([NA] if q.setting("allow_na") else [])
        labels = tuple((v, f"{v} – {label}") for v, label in q.scale) + \
            (((NA, "Not applicable"),) if q.setting("allow_na") else ())
        scale = [v for v, _ in q.scale]
        shape = Shape(tuple(keys), tuple((v, v) for v in scale),
                      bounds=(min(scale), max(scale)) if len(scale) > 1 else None,
                      apart=(NA,) if q.setting("allow_na") else ())
        statements = [(None, "Answers")] if t == "likert" else [(o.id, o.label)
                                                                 for o in q.options]
        out = []
        for item, caption in statements:
            values = {int(v): c for (i, v), c in hist.items()
                      if v is not None and (item is None or i == item)}
            counts = tuple((k, values.get(k, 0)) for k in keys)
            out.append(Dist(caption, labels, shape, counts,
                            n if item is None else sum(values.values())))
        return out
    if t == "rating_0_10":
        values = {int(v): c for (_i, v), c in hist.items() if v is not None}
        keys = tuple(range(11))
        return [Dist("Answers", tuple((v, str(v)) for v in keys),
                     Shape(keys, tuple((v, v) for v in keys), nps=True, bounds=(0, 10)),
                     tuple((v, values.get(v, 0)) for v in keys), n)]
    if t == "number":
        values: dict = {}
        for (_i, v), c in hist.items():
            if v is not None:
                values[v] = values.get(v, 0) + c
        keys = tuple(sorted(values))
        return [Dist("Answers", tuple((v, _num(v)) for v in keys),
                     Shape(keys, tuple((v, v) for v in keys)),
                     tuple((v, values[v]) for v in keys), n,
                     table=len(keys) <= MAX_NUMBER_ROWS)]
    if t == "date" and months:
        keys = tuple(sorted(months))
        return [Dist("Answers by month", tuple((m, m) for m in keys), Shape(keys),
                     tuple((m, months[m]) for m in keys), n)]
    return []


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


@lru_cache(maxsize=8192)
def _publish(shape: Shape, counts: tuple, n: int, k: int, force: frozenset,
             table: bool) -> Published:
    if not table:
        # No table: only estimates about n >= k people, nothing hidden to work out.
        pub = distribution.render(shape, dict(counts), n, frozenset(), distribution.LADDER[0], k)
        return Published(pub.n, {}, {}, pub.mean, pub.mean_n, pub.lo, pub.hi, pub.decimals,
                         pub.median, pub.sd)
    return distribution.publish(shape, dict(counts), n, k, force)


def publish(d: Dist, k: int, force=frozenset()) -> Published:
    return _publish(d.shape, d.counts, d.n, k, frozenset(force), d.table)


# -- selections -------------------------------------------------------------------

def _code(value: str | None) -> str:
    return "none" if value is None else value


@dataclass(frozen=True)
class Selections:
    k: int
    total: int
    refused_segments: frozenset       # (dimension, code)
    refused_answers: frozenset        # (question id, option id)
    refused_crossed: frozenset        # (dimension, code, question id, option id)
    hidden: frozenset                 # every hidden key of the count tables
    known_segments: frozenset         # (dimension, code) the portal offers
    known_answers: frozenset          # (question id, option id)

    def known(self, where: Slice) -> bool:
        if where.segment and (where.segment, where.segment_value) not in self.known_segments:
            return False
        return not where.question_id or \
            (where.question_id, where.option_id) in self.known_answers

    def refuses(self, where: Slice) -> bool:
        """Whether `where` may not be shown (its view is then the suppressed one)."""
        if not privacy.is_reportable(self.total, self.k):
            return True
        seg = (where.segment, where.segment_value) if where.segment else None
        ans = (where.question_id, where.option_id) if where.question_id else None
        if seg and seg in self.refused_segments:
            return True
        if ans and ans in self.refused_answers:
            return True
        return bool(seg and ans and (*seg, *ans) in self.refused_crossed)


def _grid(total, seg_counts, dim, q, a_counts, nq, x_counts, nqv):
    """Values, sums and at-most relations of one dimension x one choice question (or
    of one of them alone, when the other is None)."""
    values, sums, at_most = {("all",): total}, [], []
    if dim is not None:
        t_keys = tuple(("T", dim, c) for c in seg_counts)
        values.update({("T", dim, c): n for c, n in seg_counts.items()})
        sums.append((("all",), t_keys))
    if q is not None:
        a_keys = tuple(("A", q.id, o.id) for o in q.options)
        values.update({("A", q.id, o.id): a_counts.get(o.id, 0) for o in q.options})
        values[("nq", q.id)] = nq
        at_most.append((("nq", q.id), ("all",)))
        if q.type == "single_choice":
            sums.append((("nq", q.id), a_keys))
        else:
            at_most += [(a, ("nq", q.id)) for a in a_keys]
    if dim is not None and q is not None:
        nqv_keys = []
        for c in seg_counts:
            xk = tuple(("X", dim, c, q.id, o.id) for o in q.options)
            values.update({("X", dim, c, q.id, o.id): x_counts.get((c, o.id), 0)
                           for o in q.options})
            nk = ("nqv", dim, c, q.id)
            nqv_keys.append(nk)
            values[nk] = nqv.get(c, 0)
            at_most.append((nk, ("T", dim, c)))
            if q.type == "single_choice":
                sums.append((nk, xk))
            else:
                at_most += [(x, nk) for x in xk]
        for o in q.options:
            sums.append((("A", q.id, o.id),
                         tuple(("X", dim, c, q.id, o.id) for c in seg_counts)))
        sums.append((("nq", q.id), tuple(nqv_keys)))
    return values, sums, at_most


def selections(survey: Survey) -> Selections:
    """Which selections may be shown (see the module docstring)."""
    return _cached(survey, "selections", lambda: _selections(survey))


def _count_tables(survey: Survey):
    """(total, grids, offered segment values, choice questions): the respondent counts
    of every selection as linked tables, one per dimension and choice question."""
    total = queries.count_responses(survey)
    hists = queries.histograms(survey, ALL)
    n_by_q = queries.respondents_per_question(survey, ALL, hists)
    choice = [q for q in survey.ordered_questions() if q.is_choice]
    dims = list(survey.breakdown_keys)
    seg = {d: {_code(c): n for c, n in queries.segment_counts(survey, d, ALL).items()}
           for d in dims}
    known_seg = {(d, code) for d in dims for code, _label in segments.get(d).choices} | \
        {(d, "none") for d in dims} | \
        ({(d, segments.GENERALISED) for d in dims} if survey.anonymous else set())
    for d, code in known_seg:
        seg[d].setdefault(code, 0)
    a_counts = {q.id: {item: c for (item, _v), c in hists.get(q.id, {}).items()}
                for q in choice}
    by_seg = {d: queries.histograms_by_segment(survey, d) for d in dims} if choice else {}
    multi = {d: queries.multi_respondents_by_segment(survey, d) for d in dims} \
        if any(q.type != "single_choice" for q in choice) else {}
    grids = []
    for d in dims or [None]:
        for q in choice or [None]:
            x, nqv = {}, {}
            if d is not None and q is not None:
                for raw, per_q in by_seg[d].items():
                    c = _code(raw)
                    for (item, _v), n in per_q.get(q.id, {}).items():
                        x[(c, item)] = x.get((c, item), 0) + n
                    nqv[c] = (sum(per_q.get(q.id, {}).values()) if q.type == "single_choice"
                              else multi[d].get((raw, q.id), 0))
            grids.append(_grid(total, seg[d] if d else {}, d, q,
                               a_counts.get(q.id, {}) if q else {},
                               n_by_q.get(q.id, 0) if q else 0, x, nqv))
    return total, grids, known_seg, choice


def _selections(survey: Survey) -> Selections:
    k = privacy.min_n()
    total, grids, known_seg, choice = _count_tables(survey)
    hidden: set = set()
    if not privacy.is_reportable(total, k):
        hidden.add(("all",))
    changed = True
    while changed:  # grids share the segment and answer counts: repeat until stable
        changed = False
        for values, sums, at_most in grids:
            mine = {h for h in hidden if h in values}
            new = linked.protect(values, sums, mine, k, at_most)
            if new - hidden:
                hidden |= new
                changed = True
    every = {}
    for values, _s, _a in grids:
        every.update(values)
    small = {key for key, v in every.items() if v < k}   # nobody and few look alike
    refused = hidden | small
    return Selections(
        k, total,
        frozenset((key[1], key[2]) for key in refused if key[0] == "T"),
        frozenset((key[1], key[2]) for key in refused if key[0] == "A"),
        frozenset(key[1:] for key in refused if key[0] == "X"),
        frozenset(hidden), frozenset(known_seg),
        frozenset((q.id, o.id) for q in choice for o in q.options))


# -- linked tables of the other questions ------------------------------------------

@dataclass
class Family:
    """What the linked table of one distribution hides, on the parent's page and on
    each child's."""

    parent: set = field(default_factory=set)        # cell keys
    parent_n: bool = False                           # the question's n
    children: dict = field(default_factory=dict)     # (dim, code) -> cell keys
    children_n: set = field(default_factory=set)     # (dim, code) whose n is hidden


def families(survey: Survey) -> dict:
    """{(question id, distribution index): Family} for the questions that are not
    choice questions (those are linked in `selections`)."""
    return _cached(survey, "families", lambda: _families(survey))


def _family_problems(survey: Survey, sel: Selections, k: int):
    """(question id, index, dimension, values, sums, hidden before protection)."""
    questions = [q for q in survey.ordered_questions() if not q.is_choice
                 and q.type in ("likert", "likert_matrix", "rating_0_10", "number")]
    if not survey.breakdown_keys or not questions:
        return
    hists = queries.histograms(survey, ALL)
    n_by_q = queries.respondents_per_question(survey, ALL, hists)
    for d in survey.breakdown_keys:
        by_seg = queries.histograms_by_segment(survey, d)
        for q in questions:
            parents = dists(q, hists.get(q.id, {}), n_by_q.get(q.id, 0))
            children = {_code(raw): dists(q, per_q.get(q.id, {}),
                                          sum(per_q.get(q.id, {}).values()))
                        for raw, per_q in by_seg.items()}
            for i, parent in enumerate(parents):
                if not parent.table or not privacy.is_reportable(parent.n, k):
                    continue
                # Cells of 1..k-1 start hidden (`linked.protect` adds them); each page's
                # own step may hide more later, which only widens what this problem
                # allows, so the family's protection holds whatever the pages add.
                values = {("P", key): c for key, c in parent.counts}
                hidden = set()
                sums, nq_keys = [], []
                for code, ds in children.items():
                    child = ds[i]
                    keys = tuple(("C", code, key) for key, _c in child.counts)
                    values.update({("C", code, key): c for key, c in child.counts})
                    values[("n", code)] = child.n
                    nq_keys.append(("n", code))
                    sums.append((("n", code), keys))
                    if sel.refuses(Slice(d, code)) or not privacy.is_reportable(child.n, k):
                        hidden |= set(keys) | {("n", code)}
                for key, _c in parent.counts:
                    sums.append((("P", key), tuple(("C", code, key) for code in children)))
                values[("N",)] = parent.n
                sums.append((("N",), tuple(nq_keys)))
                yield q.id, i, d, values, sums, hidden


def _families(survey: Survey) -> dict:
    k = privacy.min_n()
    sel = selections(survey)
    out: dict = {}
    for qid, i, d, values, sums, hidden in _family_problems(survey, sel, k):
        new = linked.protect(values, sums, hidden, k)
        fam = out.setdefault((qid, i), Family())
        fam.parent.update(key[1] for key in new if key[0] == "P")
        fam.parent_n = fam.parent_n or ("N",) in new
        for key in new:
            if key[0] == "C":
                fam.children.setdefault((d, key[1]), set()).add(key[2])
            elif key[0] == "n":
                fam.children_n.add((d, key[1]))
    return out


def _family_keys(fam: Family, d: str) -> set:
    keys = {("P", key) for key in fam.parent} | ({("N",)} if fam.parent_n else set())
    for (dd, code), cells in fam.children.items():
        if dd == d:
            keys |= {("C", code, key) for key in cells}
    keys |= {("n", code) for dd, code in fam.children_n if dd == d}
    return keys


# -- one page ------------------------------------------------------------------------

@dataclass
class QuestionFigures:
    question: SurveyQuestion
    n: int | None                                  # None = hidden
    figures: list[tuple[Dist, Published]] = field(default_factory=list)
    raw_n: int = 0


@dataclass
class SliceFigures:
    where: Slice
    refused: bool
    total: int | None                              # None = hidden
    questions: list[QuestionFigures] = field(default_factory=list)
    reason: str = ""


def decide_slice(survey: Survey, where: Slice = ALL) -> SliceFigures:
    """Every figure of the results page (and its exports) for `where`."""
    k = privacy.min_n()
    sel = selections(survey)
    questions = survey.ordered_questions()
    if sel.refuses(where):
        return SliceFigures(where, True, None, [QuestionFigures(q, None) for q in questions],
                            REFUSED)
    total = queries.count_responses(survey, where)
    hists = queries.histograms(survey, where)
    n_by_q = queries.respondents_per_question(survey, where, hists)
    months = queries.date_months(survey, where, [q.id for q in questions if q.type == "date"])
    fam = families(survey) if not where.question_id else {}
    out = SliceFigures(where, False, total)
    for q in questions:
        n = n_by_q.get(q.id, 0)
        qf = QuestionFigures(q, privacy.suppress_total(n, k), raw_n=n)
        if _n_hidden(sel, fam, where, q):
            qf.n = None
        if qf.n:
            for i, d in enumerate(dists(q, hists.get(q.id, {}), n, months.get(q.id))):
                qf.figures.append((d, publish(d, k, _forced(sel, fam, where, q, i, d))))
        out.questions.append(qf)
    return out


def _n_hidden(sel: Selections, fam: dict, where: Slice, q: SurveyQuestion) -> bool:
    if not q.is_choice:
        if where.question_id:
            return False
        entries = [f for (qid, _i), f in fam.items() if qid == q.id]
        if where.segment:
            return any((where.segment, where.segment_value) in f.children_n for f in entries)
        return any(f.parent_n for f in entries)
    if not where.is_filtered:
        return ("nq", q.id) in sel.hidden
    if where.segment and not where.question_id:
        return ("nqv", where.segment, where.segment_value, q.id) in sel.hidden
    return False


def _forced(sel: Selections, fam: dict, where: Slice, q: SurveyQuestion, i: int,
            d: Dist) -> frozenset:
    """Cells a linked table hides in this distribution."""
    if where.question_id:
        return frozenset()
    if q.is_choice:
        if where.segment:
            return frozenset(o.id for o in q.options
                             if (where.segment, where.segment_value, q.id, o.id)
                             in sel.refused_crossed)
        return frozenset(o.id for o in q.options if ("A", q.id, o.id) in sel.hidden)
    entry = fam.get((q.id, i))
    if entry is None:
        return frozenset()
    if where.segment:
        return frozenset(entry.children.get((where.segment, where.segment_value), ()))
    return frozenset(entry.parent)


def participation(taken_part: int, eligible: int) -> tuple[bool, str]:
    """Whether "k of n eligible" (and the rate) may be shown, and why not."""
    if privacy.is_reportable_split(taken_part, eligible):
        return True, ""
    return False, (f"The response rate is {distribution.REASON}: fewer than "
                   f"{privacy.min_n()} members have taken part, or fewer than "
                   f"{privacy.min_n()} have not.")


# Selections and families per survey state, across requests: building them reads
# every count table of the survey (a GROUP BY per dimension and question), seconds at
# 20,000 responses. Released responses are never edited and a published survey's
# questions do not change, so the number of responses the pages read (the snapshot's,
# while the survey is open) and the survey's own updated_at name a state.
_ACROSS_REQUESTS: dict[tuple, object] = {}
_ACROSS_REQUESTS_MAX = 64


def _cached(survey: Survey, name: str, build):
    """Once per survey state (see _ACROSS_REQUESTS), or per state outside a request
    (the solver's work is memoised on its inputs besides)."""
    if has_request_context():
        store = request.environ.setdefault("portal.survey_disclosure", {})
        key = (survey.id, name, privacy.min_n())
        if key not in store:
            state = (current_app.config.get("SQLALCHEMY_DATABASE_URI"), *key,
                     queries.count_responses(survey), survey.updated_at)
            if state not in _ACROSS_REQUESTS:
                if len(_ACROSS_REQUESTS) >= _ACROSS_REQUESTS_MAX:
                    _ACROSS_REQUESTS.clear()
                _ACROSS_REQUESTS[state] = build()
            store[key] = _ACROSS_REQUESTS[state]
        return store[key]
    elif has_app_context():
        store = g.setdefault("_survey_disclosure", {})
        # The CLI and tests keep one context across changes: released responses are
        # never edited, so their number tells a new state.
        key = (survey.id, name, privacy.min_n(), queries.count_responses(survey))
    else:
        return build()
    if key not in store:
        store[key] = build()
    return store[key]


def clear_request_cache() -> None:
    if has_request_context():
        request.environ.pop("portal.survey_disclosure", None)
    if has_app_context():
        g.pop("_survey_disclosure", None)


# -- the audit ---------------------------------------------------------------------

def audit_survey(survey: Survey) -> list[str]:
    """Run the auditor over every slice the portal would publish now for `survey`;
    one description per failing slice (empty when all pass)."""
    clear_request_cache()
    k = privacy.min_n()
    sel = selections(survey)
    problems: list[str] = []
    for where in _published_slices(survey, sel):
        figures = decide_slice(survey, where)
        for qf in figures.questions:
            for d, pub in qf.figures:
                bad = distribution.exposed(d.shape, pub, k) if d.table else {}
                if bad:
                    problems.append(f"{_describe(where)} {qf.question.code} {d.caption}: "
                                    f"hidden cells narrowed to {bad}")
    return problems + _selection_problems(survey, sel, k)


def _selection_problems(survey: Survey, sel: Selections, k: int) -> list[str]:
    """The count tables and the linked tables again, each hidden cell against every
    figure they publish."""
    out = []
    _total, grids, _known, _choice = _count_tables(survey)
    for values, sums, at_most in grids:
        bad = linked.exposed_cells(values, sel.hidden & set(values), sums, at_most, k)
        if bad:
            out.append(f"selection counts: hidden counts narrowed to {bad}")
    fam = families(survey)
    for qid, i, d, values, sums, _hidden in _family_problems(survey, sel, k):
        hidden = _family_keys(fam[(qid, i)], d) & set(values) if (qid, i) in fam else set()
        bad = linked.exposed_cells(values, hidden, sums, (), k)
        if bad:
            out.append(f"question {qid} table {i} by {d}: hidden cells narrowed to {bad}")
    return out


def _published_slices(survey: Survey, sel: Selections):
    yield ALL
    for d, code in sorted(sel.known_segments):
        where = Slice(d, code)
        if not sel.refuses(where):
            yield where
    for qid, oid in sorted(sel.known_answers):
        where = Slice(question_id=qid, option_id=oid)
        if sel.refuses(where):
            continue
        yield where
        for d, code in sorted(sel.known_segments):
            crossed = Slice(d, code, qid, oid)
            if not sel.refuses(crossed):
                yield crossed


def _describe(where: Slice) -> str:
    return "all respondents" if not where.is_filtered else \
        ", ".join(f"{k}={v}" for k, v in where.query_args().items())
