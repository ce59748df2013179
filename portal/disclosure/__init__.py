"""Disclosure control: every figure about one group of people is decided together.

`audit` holds the attacker's problem and its solver; the modules beside it build
that problem for each kind of published slice and withhold more until every hidden
cell keeps its protection interval (see `audit.protected`).
"""
