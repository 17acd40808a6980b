"""An attacker for the disclosure tests: everything one output shows, as integer linear constraints.

Written apart from ``analysis.disclosure`` (which it must not trust): a test writes down what an
output shows -- published counts as numbers, hidden ones as unknowns, and what anyone knows
about how tables fit together -- and :meth:`Attack.range` finds, with integer programming
(scipy's ``milp``), the least and the most an unknown can be. A hidden count is recovered when
the two are equal; a small group is exposed when they are less than the threshold apart.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

Term = tuple[float, "str | int"]


class Attack:
    """Unknown counts and the linear facts an output gives about them."""

    def __init__(self) -> None:
        """Start with no unknowns and no facts."""
        self.names: list[str] = []
        self.upper: dict[str, float] = {}
        self.rows: list[tuple[dict[str, float], float, float]] = []

    def unknown(self, name: str, upper: float | None = None) -> str:
        """Add an unknown count (0 or more, at most ``upper``) and return its name."""
        if name not in self.upper:
            self.names.append(name)
            self.upper[name] = np.inf if upper is None else upper
        elif upper is not None:
            self.upper[name] = min(self.upper[name], upper)
        return name

    def _fact(self, terms: Iterable[Term], low: float, high: float) -> None:
        """Record low <= sum(coef * term) <= high, folding published numbers into the bounds."""
        coefs: dict[str, float] = {}
        constant = 0.0
        for coef, term in terms:
            if isinstance(term, str):
                coefs[term] = coefs.get(term, 0.0) + coef
            else:
                constant += coef * term
        if not coefs:
            assert low - 1e-9 <= constant <= high + 1e-9, "the output contradicts itself"
            return
        self.rows.append((coefs, low - constant, high - constant))

    def equal(self, terms: Iterable[Term], value: float = 0.0) -> None:
        """Record sum(coef * term) == value."""
        self._fact(terms, value, value)

    def at_most(self, terms: Iterable[Term], value: float = 0.0) -> None:
        """Record sum(coef * term) <= value."""
        self._fact(terms, -np.inf, value)

    def share(self, part: str | int, whole: str | int, percent: int) -> None:
        """Record that part / whole, rounded, printed as ``percent``% (so within half a point)."""
        self._fact([(100.0, part), (-(percent - 0.5), whole)], 0.0, np.inf)
        self._fact([(100.0, part), (-(percent + 0.5), whole)], -np.inf, 0.0)

    def range(self, name: str) -> tuple[int, int]:
        """Return the least and the most an unknown can be, given every fact (integer programming)."""
        index = {n: i for i, n in enumerate(self.names)}
        matrix = np.zeros((len(self.rows), len(self.names)))
        lows, highs = [], []
        for r, (coefs, low, high) in enumerate(self.rows):
            for n, c in coefs.items():
                matrix[r, index[n]] = c
            lows.append(low)
            highs.append(high)
        upper = np.array([self.upper[n] for n in self.names])
        # Every unknown is a count of people or answers in this output: at most all of them.
        upper = np.minimum(upper, 10_000)
        ends = []
        for sense in (1.0, -1.0):
            objective = np.zeros(len(self.names))
            objective[index[name]] = sense
            constraints = [LinearConstraint(matrix, lows, highs)] if self.rows else []
            # HiGHS's MIP presolve can return a wrong "optimum" on small models like these (seen here
            # with scipy 1.17.1; ERGO-Code/HiGHS#3073, #2995): solve without it, and check the answer.
            result = milp(objective, constraints=constraints, integrality=np.ones(len(self.names)),
                          bounds=Bounds(np.zeros(len(self.names)), upper), options={"presolve": False})
            assert result.status == 0, f"the attacker's program failed: {result.message}"
            if self.rows:
                reached = matrix @ result.x
                assert np.all(reached >= np.array(lows) - 1e-6) and np.all(reached <= np.array(highs) + 1e-6)
            ends.append(round(sense * result.fun))
        return ends[0], ends[1]
