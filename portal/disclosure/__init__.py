"""Disclosure control: every figure about one group of people is decided together.

The promise: leadership never learns a figure about fewer than PRIVACY_MIN_N (N)
people, not even by arithmetic on figures that are shown.

The rule. For each published slice (one objective x measure x round x segment value;
one survey question x selection), all its figures (cells, counts, shares, means,
intervals, NPS groups) are decided in one step before any page, chart, export or
board report sees them. The step first hides every cell of 1..N-1 people
(portal.privacy.suppress_cells), then solves the attacker's problem
(`audit.Problem`): the non-negative integer vectors consistent with every figure it
would publish, each rounded figure taken as the interval it stands for. Each hidden
cell of 1..N-1 people must keep a protection interval: its feasible values span at
least N values, or include 0 and a value of N or more (`audit.protected`). Where one
does not, the step withholds more, least informative first: a decimal of the mean and
its interval, then the shares, then the mean and every scale cell; it audits
each step, until the audit passes. The segment rows of one dimension are decided
together with the all-members row they add up to (`segment_rows`): rows with a small
cell publish groups of answers and shares but no mean, and every small cell must be
shown to keep its protection interval by alternative tables (member exchanges and a
small max-flow), without the solver on the page path; `flask privacy audit` checks
them with the solver. Crossed cells (two dimensions) follow fixed rules.

Why. A mean with the number of answers and the shown cells is a linear equation in
the hidden cells; an interval's width adds the sum of squares; a share adds another.
Two or three hidden cells rarely survive all of them together.

Modules: `audit` (the problem and scipy's milp), `ratings` (one ratings slice),
`segment_rows` (the rows of a segment dimension), `rounds` (the audit of everything a
round publishes, `flask privacy audit`), `surveys` (survey questions and selections), `cli`.
"""
