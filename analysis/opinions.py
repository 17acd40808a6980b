"""Opinion groups for design sessions: who votes alike, what sets each group apart, what unites them.

Owns the vote data types and the method, for statements that residents answer with agree (+1),
disagree (-1) or pass (0), each resident voting on some of the statements (a sparse matrix):

- :class:`VoteMatrix` (``VoteMatrix.from_votes`` / ``VoteMatrix.from_arrays``): the votes, last
  vote per participant and statement kept (a resident may change a vote).
- :func:`find_opinion_groups` -> :class:`OpinionGroups`: participants placed in 2 to 5 opinion
  groups (every participant with at least one vote is placed); each group's representative
  statements; **consensus** statements (agreed, or disagreed, by a clear majority of every
  group); **divisive** statements (one group mostly agrees, another mostly disagrees).
- :func:`compare_priority_group` -> :class:`PriorityComparison`: agreement by a priority group
  (for example Black mothers) next to everyone's, statement by statement; :func:`group_size_table`
  and :func:`group_vote_table` for reports. Small counts are hidden by the project's disclosure
  control (:func:`_disclosure`, the only call into :mod:`analysis.disclosure`).
- :func:`statement_priorities` and :func:`next_statement`: which statement a phone shows next,
  favouring statements with few votes and those that separate or unite groups.

The method (details and measurements in ``docs/opinions.md``): as in Pol.is, PCA of the vote
matrix with missing votes at the statement's mean, each participant's position stretched by
``sqrt(statements / own votes)``, then k-means on the participants with enough votes. Unlike
Pol.is, two codings of a vote are tried -- Pol.is's single number (pass half-way between agree
and disagree) and three indicators (agree, disagree, pass as answers of their own) -- and the
coding and the number of groups are chosen together by what groups are for: hide a fifth of
each participant's votes, form groups on the rest, and keep the choice whose groups' most
common votes best predict the hidden ones. Participants with few votes are placed from their
unstretched position (what little they said, read with the average elsewhere), not pushed to
the edges of the map.

Pure Python on numpy, scipy and scikit-learn: no Flask, no SQLite. Machine-made groups are
drafts for people to read, like draft themes.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from analysis import disclosure, messages

__all__ = [
    "AGREE",
    "DISAGREE",
    "PASS",
    "VoteMatrix",
    "StatementTally",
    "groups_from_summary",
    "summary_of",
    "Representative",
    "Consensus",
    "Divisive",
    "OpinionGroup",
    "OpinionGroups",
    "PriorityAgreement",
    "PriorityComparison",
    "find_opinion_groups",
    "compare_priority_group",
    "group_vote_table",
    "group_stance_table",
    "describe_groups",
    "GroupDescriptions",
    "group_size_table",
    "GroupVotes",
    "statement_priorities",
    "next_statement",
    "GROUP_NAMES",
]

AGREE, DISAGREE, PASS = 1, -1, 0
VOTE_VALUES = (AGREE, DISAGREE, PASS)
# Column order of every per-statement count array in this module: agree, disagree, pass.
_A, _D, _P = 0, 1, 2
GROUP_NAMES = ("A", "B", "C", "D", "E")
K_LIMITS = (2, 5)
# Pol.is's "in conversation" rule: a participant shapes the map once they have voted on 7
# statements (or on all of them, when there are fewer); at least 15 participants always do.
CORE_MIN_VOTES = 7
CORE_MIN_PARTICIPANTS = 15
# Model choice: folds of each participant's votes (5: a fifth held out at a time, as the
# benchmark hides); the most participants used (a random sample beyond that: the choice, not
# the final grouping, is made on it); k-means restarts for each candidate.
HOLDOUT_FOLDS = 5
# Conversations of up to 50,000 votes get 3 rounds of fresh folds: there the choice is
# noisiest (a few hundred people) and a round costs little.
HOLDOUT_ROUNDS_SMALL = 3
SMALL_VOTES = 50_000
SELECTION_SAMPLE = 4000
SELECTION_RESTARTS = 3
COMPONENTS = 2
# k-means stops when at most this share of points changed group in an iteration; power
# iterations of the randomized SVD (two leading components of a vote matrix separate well).
KMEANS_TOLERANCE = 0.001
PCA_POWER_ITERATIONS = 4
# Pol.is's one-sided 90% z threshold (polismath.math.stats/z-sig-90?).
Z_90 = 1.2816
MAX_REPRESENTATIVE = 5
CODINGS = ("signed", "indicators")

ParticipantId = Hashable
StatementId = Hashable


# --- data ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class VoteMatrix:
    """Votes of participants on statements, sparse: one entry per (participant, statement) voted.

    ``rows`` and ``cols`` index ``participants`` and ``statements``; ``values`` holds +1 agree,
    -1 disagree, 0 pass. A participant or statement may have no votes at all.
    """

    participants: tuple[ParticipantId, ...]
    statements: tuple[StatementId, ...]
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray

    @classmethod
    def from_votes(
        cls,
        votes: Iterable[tuple[ParticipantId, StatementId, int]],
        *,
        participants: Iterable[ParticipantId] = (),
        statements: Iterable[StatementId] = (),
    ) -> VoteMatrix:
        """Build the matrix from (participant, statement, vote) triples; a later vote replaces an earlier one.

        ``participants`` and ``statements`` list ids to keep even without votes (in that order,
        before any others met in ``votes``). A vote other than 1, -1 or 0 raises ``ValueError``.
        """
        p_index: dict[ParticipantId, int] = {}
        s_index: dict[StatementId, int] = {}
        for pid in participants:
            p_index.setdefault(pid, len(p_index))
        for sid in statements:
            s_index.setdefault(sid, len(s_index))
        last: dict[tuple[int, int], int] = {}
        for pid, sid, vote in votes:
            value = _vote_value(vote)
            i = p_index.setdefault(pid, len(p_index))
            j = s_index.setdefault(sid, len(s_index))
            last.pop((i, j), None)  # re-insert so that the entry order follows the latest vote
            last[(i, j)] = value
        keys = np.array(list(last.keys()), dtype=np.int64).reshape(-1, 2)
        return cls(
            participants=tuple(p_index),
            statements=tuple(s_index),
            rows=keys[:, 0].astype(np.int32),
            cols=keys[:, 1].astype(np.int32),
            values=np.fromiter(last.values(), dtype=np.int8, count=len(last)),
        )

    @classmethod
    def from_arrays(
        cls,
        rows: np.ndarray,
        cols: np.ndarray,
        values: np.ndarray,
        *,
        participants: Sequence[ParticipantId],
        statements: Sequence[StatementId],
    ) -> VoteMatrix:
        """Build the matrix from index arrays (fast path for large data); for repeated pairs the last vote wins."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        values = np.asarray(values)
        if not (rows.shape == cols.shape == values.shape) or rows.ndim != 1:
            raise ValueError("rows, cols and values must be one-dimensional arrays of the same length")
        if rows.size and (rows.min() < 0 or rows.max() >= len(participants) or cols.min() < 0 or cols.max() >= len(statements)):
            raise ValueError("a row or column index is outside the participants or statements given")
        if values.size and not np.isin(values, VOTE_VALUES).all():
            raise ValueError("votes must be 1 (agree), -1 (disagree) or 0 (pass)")
        key = rows * max(len(statements), 1) + cols
        # np.unique keeps the first occurrence; reversing keeps the last vote of each pair.
        _, first_from_end = np.unique(key[::-1], return_index=True)
        keep = np.sort(len(key) - 1 - first_from_end)
        return cls(
            participants=tuple(participants),
            statements=tuple(statements),
            rows=rows[keep].astype(np.int32),
            cols=cols[keep].astype(np.int32),
            values=values[keep].astype(np.int8),
        )

    @property
    def shape(self) -> tuple[int, int]:
        """Return (number of participants, number of statements)."""
        return len(self.participants), len(self.statements)

    @property
    def n_votes(self) -> int:
        """Return the number of votes."""
        return int(self.values.size)

    def votes_per_participant(self) -> np.ndarray:
        """Return how many statements each participant voted on."""
        return np.bincount(self.rows, minlength=len(self.participants))

    def tallies(self) -> tuple[StatementTally, ...]:
        """Return agree, disagree and pass counts of every statement, in statement order."""
        counts = _counts(self.cols, self.values, len(self.statements))
        return tuple(
            StatementTally(statement=sid, agree=int(a), disagree=int(d), passes=int(p))
            for sid, (a, d, p) in zip(self.statements, counts)
        )

    def subset_statements(self, keep: Collection[StatementId]) -> VoteMatrix:
        """Return the matrix restricted to some statements (for example, without moderated-out ones)."""
        wanted = set(keep)
        kept = [j for j, sid in enumerate(self.statements) if sid in wanted]
        new_index = np.full(len(self.statements), -1, dtype=np.int64)
        new_index[kept] = np.arange(len(kept))
        mask = new_index[self.cols] >= 0
        return VoteMatrix(
            participants=self.participants,
            statements=tuple(self.statements[j] for j in kept),
            rows=self.rows[mask],
            cols=new_index[self.cols[mask]].astype(np.int32),
            values=self.values[mask],
        )


@dataclass(frozen=True)
class StatementTally:
    """How many participants agreed with, disagreed with and passed on one statement."""

    statement: StatementId
    agree: int
    disagree: int
    passes: int

    @property
    def votes(self) -> int:
        """Return every vote on the statement, passes included."""
        return self.agree + self.disagree + self.passes


@dataclass(frozen=True)
class Representative:
    """A statement on which a group stands apart from the other groups (Pol.is's "repness").

    ``share`` is the group's share voting ``direction`` (smoothed: (n+1)/(votes+2)); ``ratio``
    how many times that share is the other groups' share; ``z_share`` and ``z_ratio`` the
    one-sided tests that the share is above half and above the others' (both above 1.2816,
    90%); ``score`` = ratio x z_ratio x share x z_share ranks them.
    """

    statement: StatementId
    group: str
    direction: str  # "agree" or "disagree"
    count: int  # group members who voted that way
    votes: int  # group members who voted on the statement (passes included)
    share: float
    others_share: float
    ratio: float
    z_share: float
    z_ratio: float
    score: float


@dataclass(frozen=True)
class Consensus:
    """A statement that a clear majority of every group agreed with (or disagreed with)."""

    statement: StatementId
    direction: str  # "agree" or "disagree"
    shares: Mapping[str, float]  # group -> smoothed share voting that way
    votes: Mapping[str, int]  # group -> members who voted on it
    weakest: float  # the lowest share among the groups: how far "everyone" goes


@dataclass(frozen=True)
class Divisive:
    """A statement on which one group mostly agrees while another mostly disagrees."""

    statement: StatementId
    agreeing_group: str
    agree_share: float
    disagreeing_group: str
    disagree_share: float
    spread: float  # agree_share + disagree_share - 1: 0 when barely apart, near 1 when fully opposed


@dataclass(frozen=True)
class OpinionGroup:
    """One opinion group: its members, its place on the map and what sets it apart."""

    id: str
    size: int
    members: tuple[ParticipantId, ...]
    centre: tuple[float, float]
    representative: tuple[Representative, ...]


@dataclass(frozen=True)
class OpinionGroups:
    """Participants placed in opinion groups, with representative, consensus and divisive statements.

    ``assignment`` maps every participant of the matrix to a group id, or ``None`` for a
    participant without a vote. ``stances`` maps (group id, statement) to the group's agree,
    disagree and pass counts. ``k_scores`` holds the held-out accuracy of every coding and
    number of groups tried (empty when the data were too few to choose that way).
    """

    groups: tuple[OpinionGroup, ...]
    assignment: Mapping[ParticipantId, str | None]
    consensus: tuple[Consensus, ...]
    divisive: tuple[Divisive, ...]
    tallies: tuple[StatementTally, ...]
    stances: Mapping[tuple[str, StatementId], tuple[int, int, int]]
    extremity: Mapping[StatementId, float]
    k_chosen: int
    coding: str
    k_scores: Mapping[str, float]
    seed: int
    k_requested: int | None
    n_participants: int
    n_placed: int
    n_statements: int
    n_votes: int

    def method_note(self) -> str:
        """Return a plain-language note on how the groups were made, for reports."""
        coding = messages.OPINIONS_CODINGS.get(self.coding, self.coding)
        if self.k_chosen < max(2, self.k_requested or 2):
            choice = messages.OPINIONS_CHOICE_FEWER.format(k=self.k_chosen, coding=coding)
        elif not self.k_scores:
            choice = messages.OPINIONS_CHOICE_FEW.format(k=self.k_chosen, coding=coding)
        elif self.k_requested is not None:
            choice = messages.OPINIONS_CHOICE_FIXED.format(k=self.k_chosen, coding=coding)
        else:
            choice = messages.OPINIONS_CHOICE_AUTO.format(k=self.k_chosen, coding=coding)
        return messages.OPINIONS_METHOD.format(choice=choice, seed=self.seed)

    def group(self, group_id: str) -> OpinionGroup:
        """Return the group with this id."""
        for group in self.groups:
            if group.id == group_id:
                return group
        raise KeyError(group_id)


@dataclass(frozen=True)
class PriorityAgreement:
    """One statement's agreement by a priority group next to everyone's; hidden figures are ``None``.

    Shares are of the votes cast on the statement (passes included): agreed, against
    disagreed or passed. Counting those two together, rather than three ways, hides fewer
    figures: a rare pass would otherwise hide its whole column.
    """

    statement: StatementId
    priority_votes: int | None
    priority_agree: float | None
    everyone_votes: int | None
    everyone_agree: float | None
    difference: float | None  # priority_agree - everyone_agree, in proportion points
    suppressed: bool  # some figure of this statement is hidden


@dataclass(frozen=True)
class PriorityComparison:
    """Agreement of a priority group compared with everyone, under disclosure control."""

    label: str
    threshold: int
    members_voting: int | None  # priority-group participants with a vote (None when below the threshold)
    statements: tuple[PriorityAgreement, ...]  # largest visible differences first


# --- small helpers ---------------------------------------------------------------------------


def _vote_value(vote: object) -> int:
    """Return a vote as +1, -1 or 0, or raise ``ValueError`` for anything else."""
    if isinstance(vote, bool):
        raise ValueError(f"a vote must be 1, -1 or 0, not {vote!r}")
    try:
        number = float(vote)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"a vote must be 1, -1 or 0, not {vote!r}") from None
    if number not in (1.0, -1.0, 0.0):
        raise ValueError(f"a vote must be 1, -1 or 0, not {vote!r}")
    return int(number)


_CODE_OF = np.array([_D, _P, _A], dtype=np.int64)  # indexed by vote + 1


def _code(values: np.ndarray) -> np.ndarray:
    """Return each vote's column in the count arrays: 0 agree, 1 disagree, 2 pass."""
    return _CODE_OF[values.astype(np.int64) + 1]


def _counts(cols: np.ndarray, values: np.ndarray, n_statements: int, labels: np.ndarray | None = None, k: int = 1) -> np.ndarray:
    """Return vote counts per statement (shape m x 3), or per group and statement (k x m x 3)."""
    index = cols.astype(np.int64) * 3 + _code(values)
    if labels is None:
        return np.bincount(index, minlength=n_statements * 3).reshape(n_statements, 3)
    keep = labels >= 0
    flat = labels[keep].astype(np.int64) * (n_statements * 3) + index[keep]
    return np.bincount(flat, minlength=k * n_statements * 3).reshape(k, n_statements, 3)


def _prop_test(successes: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """Return Pol.is's one-proportion z statistic that a share is above one half (with +1 smoothing)."""
    s, n = successes + 1.0, trials + 1.0
    return 2.0 * np.sqrt(n) * (s / n - 0.5)


def _two_prop_test(succ_in: np.ndarray, succ_out: np.ndarray, n_in: np.ndarray, n_out: np.ndarray) -> np.ndarray:
    """Return Pol.is's two-proportion z statistic that the first share is above the second (+1 smoothing)."""
    s1, s2, n1, n2 = succ_in + 1.0, succ_out + 1.0, n_in + 1.0, n_out + 1.0
    pooled = (s1 + s2) / (n1 + n2)
    spread = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (s1 / n1 - s2 / n2) / spread
    return np.where(spread > 0, z, 0.0)


# --- the map: PCA of the vote matrix ---------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Votes:
    """Internal view of the votes as index arrays (a participant subset and split reuse it)."""

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    n: int
    m: int


def _centred(votes: _Votes, coding: str) -> sp.csr_matrix:
    """Return the centred sparse matrix of a coding; a missing vote sits at the statement's mean (zero).

    ``signed``: one column per statement, the vote (+1, 0, -1) minus the statement's mean vote
    (Pol.is). ``indicators``: three columns per statement (agreed, disagreed, passed: 1 or 0)
    minus their shares, so a pass is an answer of its own rather than half-way between.
    Votes must be sorted by participant (``find_opinion_groups`` sorts them once; subsets keep
    the order), so the matrix is assembled directly, without a sort.
    """
    n, m = votes.n, votes.m
    per_statement = np.bincount(votes.cols, minlength=m).astype(float)
    seen = np.maximum(per_statement, 1.0)
    own = np.bincount(votes.rows, minlength=n)
    if coding == "signed":
        mean = np.bincount(votes.cols, weights=votes.values.astype(float), minlength=m) / seen
        data = votes.values.astype(float) - mean[votes.cols]
        indptr = np.concatenate([[0], np.cumsum(own)])
        return sp.csr_matrix((data, votes.cols, indptr), shape=(n, m))
    code = _code(votes.values)
    share = _counts(votes.cols, votes.values, m) / seen[:, None]  # m x 3
    indices = votes.cols[:, None] + np.array([0, m, 2 * m])[None, :]
    data = (code[:, None] == np.arange(3)[None, :]).astype(float) - share[votes.cols]
    indptr = np.concatenate([[0], np.cumsum(own * 3)])
    return sp.csr_matrix((data.ravel(), indices.ravel(), indptr), shape=(n, 3 * m))


def _components(matrix: sp.csr_matrix, seed: int) -> np.ndarray:
    """Return the first two principal axes (rows) of a centred matrix, signs fixed for repeatability."""
    n, width = matrix.shape
    dims = min(COMPONENTS, n, width)
    axes = np.zeros((COMPONENTS, width))
    if dims == 0 or matrix.nnz == 0:
        return axes
    if min(n, width) <= 8:
        _, _, vt = np.linalg.svd(matrix.toarray(), full_matrices=False)
        found = vt[:dims]
    else:
        from sklearn.utils.extmath import randomized_svd  # noqa: PLC0415 - scikit-learn takes a second to import: not at the app's start

        _, _, found = randomized_svd(matrix, n_components=dims, n_iter=PCA_POWER_ITERATIONS, random_state=seed)
    for r, axis in enumerate(found):
        biggest = int(np.argmax(np.abs(axis)))
        axes[r] = axis if axis[biggest] >= 0 else -axis
    return axes


def _positions(votes: _Votes, coding: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return stretched and plain 2-D positions of every participant, and the principal axes.

    The stretched position is Pol.is's sparsity-aware projection: the projection of what a
    participant voted, times sqrt(statements / their votes), so that people who voted on few
    statements are not all crowded at the centre.
    """
    matrix = _centred(votes, coding)
    axes = _components(matrix, seed)
    plain = np.asarray(matrix @ axes.T)
    own = np.bincount(votes.rows, minlength=votes.n)
    active = max(int(np.count_nonzero(np.bincount(votes.cols, minlength=votes.m))), 1)
    stretch = np.sqrt(active / np.maximum(own, 1))
    return plain * stretch[:, None], plain, axes


def _core(own_votes: np.ndarray, m_active: int) -> np.ndarray:
    """Return the participants who shape the groups: enough votes, or else the most active (Pol.is's rule)."""
    need = min(CORE_MIN_VOTES, max(m_active, 1))
    core = own_votes >= need
    voters = np.flatnonzero(own_votes > 0)
    if core.sum() < CORE_MIN_PARTICIPANTS and voters.size > core.sum():
        order = voters[np.argsort(-own_votes[voters], kind="stable")]
        core[order[:CORE_MIN_PARTICIPANTS]] = True
    return core


# --- k-means ---------------------------------------------------------------------------------


def _kmeans(points: np.ndarray, k: int, rng: np.random.Generator, restarts: int = 6, iterations: int = 60) -> np.ndarray:
    """Return k centroids for low-dimensional points: k-means++ starts, Lloyd iterations, best of restarts.

    The restarts run side by side as one array computation (a Python loop per restart costs
    more than the arithmetic on a few thousand 2-D points).
    """
    n, dim = points.shape
    squared = (points**2).sum(1)
    centres = np.empty((restarts, k, dim))
    for r in range(restarts):  # k-means++ seeding
        centres[r, 0] = points[rng.integers(n)]
        closest = ((points - centres[r, 0]) ** 2).sum(1)
        for c in range(1, k):
            total = closest.sum()
            pick = rng.choice(n, p=closest / total) if total > 0 else rng.integers(n)
            centres[r, c] = points[pick]
            closest = np.minimum(closest, ((points - centres[r, c]) ** 2).sum(1))
    labels = np.full((restarts, n), -1)
    offsets = (np.arange(restarts) * k)[:, None]
    tiled = [np.tile(points[:, d], restarts) for d in range(dim)]
    for _ in range(iterations):
        # |x|^2 is the same for every centre of a point, so it is left out of the comparison.
        dist = (centres**2).sum(2)[:, None, :] - 2.0 * np.matmul(points[None, :, :], centres.transpose(0, 2, 1))
        new = dist.argmin(2)
        moved = int((new != labels).sum())
        labels = new
        if moved <= KMEANS_TOLERANCE * labels.size:
            break
        flat = (labels + offsets).ravel()
        counts = np.bincount(flat, minlength=restarts * k).reshape(restarts, k)
        sums = np.stack([np.bincount(flat, weights=w, minlength=restarts * k) for w in tiled], axis=1).reshape(restarts, k, dim)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled][:, None]
        for r, c in zip(*np.nonzero(~filled)):  # an empty group restarts at the point worst served
            served = dist[r, np.arange(n), labels[r]] + squared
            centres[r, c] = points[int(served.argmax())]
    picked = np.take_along_axis(centres, labels[:, :, None], axis=1)  # restarts x n x dim
    inertia = ((points[None, :, :] - picked) ** 2).sum((1, 2))
    return centres[int(inertia.argmin())].copy()


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Return the index of each point's nearest centre."""
    return (-2.0 * points @ centres.T + (centres**2).sum(1)[None, :]).argmin(1)


def _distinct_rows(points: np.ndarray) -> int:
    """Return how many distinct points there are (rounded, so that float noise does not count)."""
    if len(points) == 0:
        return 0
    return len(np.unique(np.round(points, 9), axis=0))


def _group(votes: _Votes, coding: str, k: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Place every participant with a vote in one of k groups; return labels (-1: no vote), centres, axes."""
    stretched, plain, axes = _positions(votes, coding, seed)
    own = np.bincount(votes.rows, minlength=votes.n)
    m_active = int(np.count_nonzero(np.bincount(votes.cols, minlength=votes.m)))
    core = _core(own, m_active)
    points = stretched[core]
    k = max(1, min(k, _distinct_rows(points)))
    centres = _kmeans(points, k, np.random.default_rng(seed)) if len(points) else np.zeros((1, 2))
    labels = np.full(votes.n, -1)
    labels[core] = _nearest(points, centres)
    # Few votes: the unstretched position, i.e. what they said, with the average elsewhere.
    light = (~core) & (own > 0)
    if light.any():
        labels[light] = _nearest(plain[light], centres)
    return labels, centres, axes


# --- choosing the coding and k by held-out votes ---------------------------------------------


def _folds(votes: _Votes, rng: np.random.Generator, folds: int) -> np.ndarray:
    """Return a fold number for every vote: each participant's votes dealt at random across the folds.

    Dealing within each participant (not across all votes) hides about the same share of
    everyone's votes in every fold, as the benchmark does; the starting fold is random, so
    that people with one vote are not all held out in the same fold.
    """
    # Sorting row + a random fraction shuffles each participant's votes while keeping rows together.
    order = np.argsort(votes.rows + rng.random(votes.rows.size))
    own = np.bincount(votes.rows, minlength=votes.n)
    start = np.concatenate([[0], np.cumsum(own)[:-1]])
    rows_sorted = votes.rows[order]
    rank = np.arange(rows_sorted.size) - start[rows_sorted]
    offset = rng.integers(0, folds, votes.n)
    fold = np.empty(votes.rows.size, dtype=np.int64)
    fold[order] = (rank + offset[rows_sorted]) % folds
    return fold


def _predicted_votes(train: _Votes, labels: np.ndarray, k: int) -> np.ndarray:
    """Return each group's most common vote code per statement (k+1 rows; the last is everyone's).

    Ties go to the value most common among everyone; a statement the group never voted on
    takes everyone's most common vote.
    """
    overall = _counts(train.cols, train.values, train.m)  # m x 3
    # rank 0 = most common among everyone (ties in the fixed order agree, disagree, pass)
    rank = np.argsort(np.argsort(-overall, axis=1, kind="stable"), axis=1, kind="stable")
    everyone = rank.argmin(1)
    per_group = _counts(train.cols, train.values, train.m, labels[train.rows], k)  # k x m x 3
    top = per_group.max(2, keepdims=True)
    tied_rank = np.where(per_group == top, rank[None, :, :], 9)
    modes = tied_rank.argmin(2)
    empty = per_group.sum(2) == 0
    modes[empty] = np.broadcast_to(everyone, modes.shape)[empty]
    return np.vstack([modes, everyone[None, :]])


def _held_out_hits(votes: _Votes, seed: int, candidates: Sequence[tuple[str, int]], folds: int) -> dict[tuple[str, int], np.ndarray]:
    """Return, for each (coding, k), whether its groups' most common votes predicted each held-out vote.

    Cross-validation over ``folds`` folds of each participant's votes: every vote is held out
    once per round, and every candidate is scored on the same folds. Small conversations, where
    the choice is noisiest and rounds are cheap, get several rounds with fresh folds.
    """
    rng = np.random.default_rng(seed)
    hits: dict[tuple[str, int], list[np.ndarray]] = {c: [] for c in candidates}
    rounds = HOLDOUT_ROUNDS_SMALL if votes.values.size <= SMALL_VOTES else 1
    for f in range(folds * rounds):
        if f % folds == 0:
            fold_of = _folds(votes, rng, folds)
        held = fold_of == f % folds
        train = _Votes(votes.rows[~held], votes.cols[~held], votes.values[~held], votes.n, votes.m)
        truth = _code(votes.values[held])
        h_rows, h_cols = votes.rows[held], votes.cols[held]
        for coding in CODINGS:
            ks = [k for c, k in candidates if c == coding]
            if not ks:
                continue
            stretched, plain, _ = _positions(train, coding, seed + f)
            own = np.bincount(train.rows, minlength=train.n)
            m_active = int(np.count_nonzero(np.bincount(train.cols, minlength=train.m)))
            core = _core(own, m_active)
            light = (~core) & (own > 0)
            for k in ks:
                centres = _kmeans(stretched[core], k, np.random.default_rng(seed + f), restarts=SELECTION_RESTARTS)
                labels = np.full(train.n, -1)
                labels[core] = _nearest(stretched[core], centres)
                labels[light] = _nearest(plain[light], centres)
                modes = _predicted_votes(train, labels, k)
                group_of = np.where(labels[h_rows] >= 0, labels[h_rows], k)
                hits[(coding, k)].append(modes[group_of, h_cols] == truth)
    return {c: np.concatenate(h) for c, h in hits.items()}


def _choose(votes: _Votes, k: int | None, k_min: int, k_max: int, seed: int) -> tuple[str, int, dict[str, float]]:
    """Return the coding and number of groups whose groups best predict held-out votes, and the scores."""
    own = np.bincount(votes.rows, minlength=votes.n)
    ks = [k] if k is not None else list(range(k_min, k_max + 1))
    # Too few votes to hold some out and learn anything: Pol.is's coding and the fewest groups.
    if (own >= 5).sum() < 10 or votes.values.size < 100:
        return "signed", ks[0], {}
    sample = votes
    voters = np.flatnonzero(own > 0)
    if voters.size > SELECTION_SAMPLE:
        chosen = np.sort(np.random.default_rng(seed).choice(voters, SELECTION_SAMPLE, replace=False))
        new_index = np.full(votes.n, -1)
        new_index[chosen] = np.arange(chosen.size)
        mask = new_index[votes.rows] >= 0
        sample = _Votes(new_index[votes.rows[mask]], votes.cols[mask], votes.values[mask], chosen.size, votes.m)
    candidates = [(coding, kk) for coding in CODINGS for kk in ks]
    hits = _held_out_hits(sample, seed, candidates, HOLDOUT_FOLDS)
    scores = {c: float(h.mean()) for c, h in hits.items()}
    # Best score; on a tie, fewer groups.
    best = max(candidates, key=lambda c: (round(scores[c], 12), -c[1], c[0] == "indicators"))
    if best[0] != "indicators":
        # Within one standard error of the best (paired over the same held-out votes), read a
        # pass as an answer of its own rather than half-way between agree and disagree.
        close = []
        for c in candidates:
            if c[0] != "indicators":
                continue
            diff = hits[best].astype(float) - hits[c].astype(float)
            se = diff.std() / math.sqrt(diff.size) if diff.size > 1 else 0.0
            if scores[best] - scores[c] <= se:
                close.append(c)
        if close:
            best = max(close, key=lambda c: (round(scores[c], 12), -c[1]))
    return best[0], best[1], {f"{c}:{kk}": s for (c, kk), s in scores.items()}


# --- what each group stands for ----------------------------------------------------------------


def _representative(stances: np.ndarray, group_ids: Sequence[str], statements: Sequence[StatementId], exclude: Collection[StatementId]) -> list[tuple[Representative, ...]]:
    """Return each group's representative statements, best first (Pol.is's repness test and metric)."""
    k = stances.shape[0]
    skip = np.array([sid in exclude for sid in statements], dtype=bool) if exclude else np.zeros(len(statements), bool)
    out = []
    total = stances.sum(0)  # m x 3
    for g in range(k):
        mine = stances[g].astype(float)
        rest = (total - stances[g]).astype(float)
        n_in, n_out = mine.sum(1), rest.sum(1)
        found = []
        for direction, c in (("agree", _A), ("disagree", _D)):
            share = (mine[:, c] + 1) / (n_in + 2)
            others = (rest[:, c] + 1) / (n_out + 2)
            ratio = share / others
            z_share = _prop_test(mine[:, c], n_in)
            z_ratio = _two_prop_test(mine[:, c], rest[:, c], n_in, n_out)
            ok = (z_share > Z_90) & (z_ratio > Z_90) & (mine[:, c] > 0) & ~skip
            for j in np.flatnonzero(ok):
                found.append(
                    Representative(
                        statement=statements[j], group=group_ids[g], direction=direction, count=int(mine[j, c]),
                        votes=int(n_in[j]), share=float(share[j]), others_share=float(others[j]), ratio=float(ratio[j]),
                        z_share=float(z_share[j]), z_ratio=float(z_ratio[j]),
                        score=float(ratio[j] * z_ratio[j] * share[j] * z_share[j]),
                    )
                )
        # A statement can pass for one direction only (a majority agreeing leaves no majority disagreeing).
        found.sort(key=lambda r: (-r.score, str(r.statement)))
        out.append(tuple(found[:MAX_REPRESENTATIVE]))
    return out


def _consensus(stances: np.ndarray, group_ids: Sequence[str], statements: Sequence[StatementId], exclude: Collection[StatementId]) -> list[Consensus]:
    """Return statements a significant majority of every group agreed (or disagreed) with, strongest first."""
    k = stances.shape[0]
    n = stances.sum(2).astype(float)  # k x m
    out = []
    for direction, c in (("agree", _A), ("disagree", _D)):
        count = stances[:, :, c].astype(float)
        share = (count + 1) / (n + 2)
        z = _prop_test(count, n)
        ok = ((share > 0.5) & (z > Z_90)).all(0)
        for j in np.flatnonzero(ok):
            if statements[j] in exclude:
                continue
            out.append(
                Consensus(
                    statement=statements[j], direction=direction,
                    shares=MappingProxyType({group_ids[g]: float(share[g, j]) for g in range(k)}),
                    votes=MappingProxyType({group_ids[g]: int(n[g, j]) for g in range(k)}),
                    weakest=float(share[:, j].min()),
                )
            )
    out.sort(key=lambda s: (-s.weakest, s.direction, str(s.statement)))
    return out


def _divisive(stances: np.ndarray, group_ids: Sequence[str], statements: Sequence[StatementId], exclude: Collection[StatementId]) -> list[Divisive]:
    """Return statements where a significant majority of one group agrees and of another disagrees."""
    k = stances.shape[0]
    if k < 2:
        return []
    n = stances.sum(2).astype(float)
    agree = (stances[:, :, _A] + 1) / (n + 2)
    disagree = (stances[:, :, _D] + 1) / (n + 2)
    agree_ok = (agree > 0.5) & (_prop_test(stances[:, :, _A].astype(float), n) > Z_90)
    disagree_ok = (disagree > 0.5) & (_prop_test(stances[:, :, _D].astype(float), n) > Z_90)
    out = []
    for j in range(stances.shape[1]):
        if statements[j] in exclude or not agree_ok[:, j].any() or not disagree_ok[:, j].any():
            continue
        ga = int(np.argmax(np.where(agree_ok[:, j], agree[:, j], -1)))
        gd = int(np.argmax(np.where(disagree_ok[:, j], disagree[:, j], -1)))
        out.append(
            Divisive(
                statement=statements[j], agreeing_group=group_ids[ga], agree_share=float(agree[ga, j]),
                disagreeing_group=group_ids[gd], disagree_share=float(disagree[gd, j]),
                spread=float(agree[ga, j] + disagree[gd, j] - 1.0),
            )
        )
    out.sort(key=lambda d: (-d.spread, str(d.statement)))
    return out


# --- the public entry point --------------------------------------------------------------------


def _validate(k: int | None, k_min: int, k_max: int) -> None:
    """Raise ``ValueError`` unless the numbers of groups asked for are possible (2 to 5)."""
    lo, hi = K_LIMITS
    for name, value in (("k", k), ("k_min", k_min), ("k_max", k_max)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number, not {value!r}")
        if not lo <= value <= hi:
            raise ValueError(f"{name} must be from {lo} to {hi} groups, not {value}")
    if k_min > k_max:
        raise ValueError(f"k_min ({k_min}) must not exceed k_max ({k_max})")


def summary_of(groups: OpinionGroups | None) -> dict:
    """Return what may be kept of opinion groups, as JSON-ready data: sizes, stances, extremity, consensus,
    what sets each group apart, divisive statements and how the groups were chosen; never who is in which group.

    `groups_from_summary` gives it back as an OpinionGroups without members (`assignment` and each group's
    `members` empty), enough for every table a page or report shows of the groups.
    """
    if groups is None:
        return {"groups": [], "stances": [], "extremity": [], "consensus": []}
    return {
        "groups": [[g.id, g.size] for g in groups.groups],
        "stances": [[gid, sid, *counts] for (gid, sid), counts in sorted(groups.stances.items())],
        "extremity": [[sid, value] for sid, value in sorted(groups.extremity.items())],
        "consensus": [[c.statement, c.direction] for c in groups.consensus],
        "consensus_detail": [[dict(c.shares), dict(c.votes), c.weakest] for c in groups.consensus],
        "representative": [[[r.statement, r.group, r.direction, r.count, r.votes, r.share, r.others_share, r.ratio,
                             r.z_share, r.z_ratio, r.score] for r in g.representative] for g in groups.groups],
        "centres": [list(g.centre) for g in groups.groups],
        "divisive": [[d.statement, d.agreeing_group, d.agree_share, d.disagreeing_group, d.disagree_share, d.spread]
                     for d in groups.divisive],
        "tallies": [[t.statement, t.agree, t.disagree, t.passes] for t in groups.tallies],
        "method": {"k_chosen": groups.k_chosen, "coding": groups.coding, "k_scores": dict(groups.k_scores),
                   "seed": groups.seed, "k_requested": groups.k_requested, "n_participants": groups.n_participants,
                   "n_placed": groups.n_placed, "n_statements": groups.n_statements, "n_votes": groups.n_votes},
    }


def groups_from_summary(summary: dict) -> OpinionGroups | None:
    """Return kept groups (`summary_of`) as OpinionGroups without members, or None when there were too few voters.

    A summary kept before the details were (sizes, stances, extremity and consensus only) gives groups with no
    representative or divisive statements and an empty method."""
    if not summary["groups"]:
        return None
    ids = [gid for gid, _size in summary["groups"]]
    reps = summary.get("representative") or [[] for _ in ids]
    centres = summary.get("centres") or [(0.0, 0.0) for _ in ids]
    groups = tuple(OpinionGroup(gid, size, (), tuple(centre), tuple(Representative(*r) for r in rep))
                   for (gid, size), rep, centre in zip(summary["groups"], reps, centres))
    stances = {(gid, sid): (a, d, p) for gid, sid, a, d, p in summary["stances"]}
    empty = MappingProxyType({})
    details = summary.get("consensus_detail") or [({}, {}, 0.0) for _ in summary["consensus"]]
    consensus = tuple(Consensus(sid, direction, MappingProxyType(shares), MappingProxyType(votes), weakest)
                      for (sid, direction), (shares, votes, weakest) in zip(summary["consensus"], details))
    method = summary.get("method") or {}
    size = sum(g.size for g in groups)
    return OpinionGroups(
        groups=groups, assignment=empty, consensus=consensus,
        divisive=tuple(Divisive(*d) for d in summary.get("divisive") or ()),
        tallies=tuple(StatementTally(*t) for t in summary.get("tallies") or ()),
        stances=MappingProxyType(stances), extremity=MappingProxyType({sid: value for sid, value in summary["extremity"]}),
        k_chosen=method.get("k_chosen", len(groups)), coding=method.get("coding", ""),
        k_scores=MappingProxyType(method.get("k_scores") or {}), seed=method.get("seed", 0),
        k_requested=method.get("k_requested"), n_participants=method.get("n_participants", size),
        n_placed=method.get("n_placed", size), n_statements=method.get("n_statements", 0),
        n_votes=method.get("n_votes", 0))


def find_opinion_groups(
    matrix: VoteMatrix,
    *,
    k: int | None = None,
    k_min: int = 2,
    k_max: int = 5,
    seed: int = 0,
    exclude: Collection[StatementId] = (),
) -> OpinionGroups:
    """Place participants in opinion groups and find each group's, and all groups', statements.

    ``k`` fixes the number of groups; otherwise it is chosen from ``k_min`` to ``k_max`` (2 to
    5) by held-out votes. ``exclude`` lists statements to leave out of the representative,
    consensus and divisive lists (their votes still place people). Every participant with at
    least one vote is placed; with fewer distinct voters than groups, there are fewer groups.
    """
    _validate(k, k_min, k_max)
    # The matrix products here are thin (two components): BLAS threads only contend with the
    # web workers and each other, so the engine keeps to one. Limits reach only libraries already
    # loaded, so scikit-learn (and SciPy's BLAS with it), imported late to keep the app's start fast, is loaded first.
    import sklearn.utils.extmath  # noqa: F401, PLC0415

    with threadpool_limits(limits=1):
        return _find_opinion_groups(matrix, k, k_min, k_max, seed, exclude)


def _find_opinion_groups(matrix: VoteMatrix, k: int | None, k_min: int, k_max: int, seed: int, exclude: Collection[StatementId]) -> OpinionGroups:
    """Do the work of :func:`find_opinion_groups` (arguments already checked)."""
    n, m = matrix.shape
    by_participant = np.lexsort((matrix.cols, matrix.rows))
    votes = _Votes(matrix.rows[by_participant].astype(np.int64), matrix.cols[by_participant].astype(np.int64), matrix.values[by_participant].astype(np.int8), n, m)
    tallies = matrix.tallies()
    if votes.values.size == 0:
        return OpinionGroups(
            groups=(), assignment=MappingProxyType({p: None for p in matrix.participants}), consensus=(), divisive=(),
            tallies=tallies, stances=MappingProxyType({}), extremity=MappingProxyType({s: 0.0 for s in matrix.statements}),
            k_chosen=0, coding="signed", k_scores=MappingProxyType({}), seed=seed, k_requested=k, n_participants=n, n_placed=0,
            n_statements=m, n_votes=0,
        )
    coding, k_wanted, scores = _choose(votes, k, k_min, k_max, seed)
    labels, centres, axes = _group(votes, coding, k_wanted, seed)
    k_found = len(centres)
    # Name groups by size, largest "A" (ties: by position on the first axis, for repeatability).
    sizes = np.bincount(labels[labels >= 0], minlength=k_found)
    order = sorted(range(k_found), key=lambda g: (-sizes[g], centres[g][0], centres[g][1]))
    rename = np.empty(k_found, dtype=np.int64)
    rename[order] = np.arange(k_found)
    labels = np.where(labels >= 0, rename[np.maximum(labels, 0)], -1)
    centres = centres[order]
    group_ids = GROUP_NAMES[:k_found]
    stances = _counts(votes.cols, votes.values, m, labels[votes.rows], k_found)  # k x m x 3
    excluded = set(exclude)
    representative = _representative(stances, group_ids, matrix.statements, excluded)
    groups = []
    for g, gid in enumerate(group_ids):
        members = tuple(matrix.participants[i] for i in np.flatnonzero(labels == g))
        groups.append(OpinionGroup(id=gid, size=len(members), members=members, centre=(float(centres[g][0]), float(centres[g][1])), representative=representative[g]))
    assignment = {pid: (group_ids[labels[i]] if labels[i] >= 0 else None) for i, pid in enumerate(matrix.participants)}
    stance_map = {(group_ids[g], sid): (int(a), int(d), int(p)) for g in range(k_found) for sid, (a, d, p) in zip(matrix.statements, stances[g])}
    return OpinionGroups(
        groups=tuple(groups),
        assignment=MappingProxyType(assignment),
        consensus=tuple(_consensus(stances, group_ids, matrix.statements, excluded)) if k_found >= 2 else (),
        divisive=tuple(_divisive(stances, group_ids, matrix.statements, excluded)),
        tallies=tallies,
        stances=MappingProxyType(stance_map),
        extremity=MappingProxyType(_extremity(votes, coding, axes, matrix.statements)),
        k_chosen=k_found,
        coding=coding,
        k_scores=MappingProxyType(scores),
        seed=seed,
        k_requested=k,
        n_participants=n,
        n_placed=int((labels >= 0).sum()),
        n_statements=m,
        n_votes=matrix.n_votes,
    )


def _extremity(votes: _Votes, coding: str, axes: np.ndarray, statements: Sequence[StatementId]) -> dict[StatementId, float]:
    """Return how far each statement lies from the centre of the opinion map (Pol.is's comment extremity).

    As Pol.is, a statement's place is where a participant who agreed with it alone would be
    projected (stretched like everyone's position); a statement everyone votes alike sits near
    the centre, one that lines up with the room's main division far out. Scaled so that the
    most extreme statement is 1.
    """
    m = votes.m
    seen = np.maximum(np.bincount(votes.cols, minlength=m), 1).astype(float)
    if coding == "signed":
        mean = np.bincount(votes.cols, weights=votes.values.astype(float), minlength=m) / seen
        place = axes[:, :m] * (1.0 - mean)
    else:
        share = _counts(votes.cols, votes.values, m) / seen[:, None]
        place = axes[:, :m] * (1.0 - share[:, _A]) - axes[:, m : 2 * m] * share[:, _D] - axes[:, 2 * m :] * share[:, _P]
    active = max(int(np.count_nonzero(np.bincount(votes.cols, minlength=m))), 1)
    reach = math.sqrt(active) * np.linalg.norm(place, axis=0)
    top = float(reach.max()) if reach.size and reach.max() > 0 else 1.0
    return {sid: float(reach[j] / top) for j, sid in enumerate(statements)}


# --- priority groups and reports under disclosure control ------------------------------------


def _disclosure(lines: Sequence[disclosure.Line], grids: Sequence[disclosure.Grid] = (), links: Sequence[disclosure.Cap] = (), *, threshold: int) -> disclosure.Published:
    """Return what may be shown of some tables taken together: the one call into the project's disclosure control.

    :func:`analysis.disclosure.protect` hides counts below ``threshold`` and every count that,
    with what else the tables show, would narrow a hidden one; shares are then drawn only from
    what it publishes.
    """
    return disclosure.protect(lines, grids, links, threshold=threshold)


PRIORITY_SEGMENT = "priority"
OTHERS_SEGMENT = "everyone else"
_PEOPLE = "people"
_VOTES = "votes"
_BY = "by"


def compare_priority_group(
    matrix: VoteMatrix,
    members: Collection[ParticipantId],
    *,
    label: str = "priority group",
    threshold: int = disclosure.DEFAULT_THRESHOLD,
) -> PriorityComparison:
    """Compare how a priority group voted with how everyone voted, statement by statement.

    For each statement, what the report shows -- voters in and out of the priority group, votes
    agreeing or not among everyone, and the same split by priority group and everyone else, with
    the link that a group casts at most one vote each -- goes through the project's disclosure
    control together; every share is drawn from published counts only. Statements are sorted by
    the size of the visible difference, largest first; hidden ones come last.
    """
    threshold = disclosure.validate_threshold(threshold)
    wanted = set(members)
    in_group = np.fromiter((p in wanted for p in matrix.participants), dtype=bool, count=len(matrix.participants))
    voters = np.unique(matrix.rows)
    people = disclosure.Line(_PEOPLE, (PRIORITY_SEGMENT, OTHERS_SEGMENT), (int(in_group[voters].sum()), int((~in_group[voters]).sum())))
    shown_people = _disclosure([people], threshold=threshold).lines[_PEOPLE]
    order = np.argsort(matrix.cols, kind="stable")
    bounds = np.searchsorted(matrix.cols[order], np.arange(len(matrix.statements) + 1))
    rows_out = []
    for j, sid in enumerate(matrix.statements):
        idx = order[bounds[j] : bounds[j + 1]]
        rows_out.append(_priority_row(sid, people, matrix.rows[idx], matrix.values[idx], in_group, threshold))
    rows_out.sort(key=lambda r: (r.difference is None, -abs(r.difference or 0.0), str(r.statement)))
    return PriorityComparison(label=label, threshold=threshold, members_voting=shown_people.count(PRIORITY_SEGMENT), statements=tuple(rows_out))


def _priority_row(statement: StatementId, people: disclosure.Line, rows: np.ndarray, values: np.ndarray, in_group: np.ndarray, threshold: int) -> PriorityAgreement:
    """Return one statement's priority-versus-everyone agreement as it may be shown."""
    if rows.size == 0:
        return PriorityAgreement(statement, 0, None, 0, None, None, False)
    agree = values == AGREE
    prio = in_group[rows]
    counts = ((int((agree & prio).sum()), int((agree & ~prio).sum())), (int((~agree & prio).sum()), int((~agree & ~prio).sum())))
    everyone = disclosure.Line(_VOTES, ("agree", "not"), (counts[0][0] + counts[0][1], counts[1][0] + counts[1][1]))
    shown = _disclosure([people, everyone], threshold=threshold).lines[_VOTES]
    everyone_votes = shown.total
    everyone_agree = shown.share("agree")
    if shown.hidden_any():
        # The split by group has the whole room's counts as its totals: it cannot be shown
        # when they are hidden.
        return PriorityAgreement(statement, None, None, everyone_votes, everyone_agree, None, True)
    grid = disclosure.Grid(_BY, ("agree", "not"), (PRIORITY_SEGMENT, OTHERS_SEGMENT), counts)
    caps = [disclosure.Cap(_BY, (seg,), ((_PEOPLE, seg),), 1) for seg in (PRIORITY_SEGMENT, OTHERS_SEGMENT)]
    split = _disclosure([people, everyone], [grid], caps, threshold=threshold).grids[_BY]
    prio_votes = None if split.withheld else split.column_total(PRIORITY_SEGMENT)
    prio_agree = None if split.withheld else split.column_share("agree", PRIORITY_SEGMENT)
    difference = prio_agree - everyone_agree if prio_agree is not None and everyone_agree is not None else None
    return PriorityAgreement(statement, prio_votes, prio_agree, everyone_votes, everyone_agree, difference, split.hidden_any())


@dataclass(frozen=True)
class GroupVotes:
    """One statement's votes by opinion group as a report may show them (``None``: hidden).

    Votes are split into agreed and did not agree (disagreed or passed): with three rows a
    rare pass would hide the whole table.
    """

    statement: StatementId
    groups: tuple[str, ...]
    counts: Mapping[tuple[str, str], int | None]  # ("agree" or "not", group) -> count
    totals: Mapping[str, int | None]  # group -> its members' votes on the statement

    def share(self, vote: str, group: str) -> float | None:
        """Return the share of a group's votes that were ``vote`` ("agree" or "not"), only from published counts."""
        return disclosure.share(self.counts.get((vote, group)), self.totals.get(group))


def _sizes_line(groups: OpinionGroups) -> disclosure.Line:
    """Return the line of group sizes (people placed in each group)."""
    return disclosure.Line(_PEOPLE, tuple(g.id for g in groups.groups), tuple(g.size for g in groups.groups))


def group_size_table(groups: OpinionGroups, *, threshold: int = disclosure.DEFAULT_THRESHOLD) -> dict[str, int | None]:
    """Return each group's size as a report may show it: the count, or ``None`` when hidden.

    A group smaller than ``threshold`` is hidden, and so is another whose size would give it
    away from the total: a tiny opinion group's votes are a few people's votes.
    """
    threshold = disclosure.validate_threshold(threshold)
    shown = _disclosure([_sizes_line(groups)], threshold=threshold).lines[_PEOPLE]
    return {g.id: shown.count(g.id) for g in groups.groups}


def group_vote_table(groups: OpinionGroups, statement: StatementId, *, threshold: int = disclosure.DEFAULT_THRESHOLD) -> GroupVotes:
    """Return how many in each group agreed with a statement and how many did not, as a report may show them.

    Shown with the group sizes and the whole room's votes on the statement, and the link that a
    group casts at most one vote per member, all protected together. When the whole room's
    counts must be hidden, so is the split by group (its totals are the room's counts).
    """
    return _protected_votes(groups, statement, ("agree", "not"), threshold)


def group_stance_table(groups: OpinionGroups, statement: StatementId, *, threshold: int = disclosure.DEFAULT_THRESHOLD) -> GroupVotes:
    """Return how many in each group agreed with, disagreed with and passed on a statement, as a page may show them.

    What `group_vote_table` does with three rows: the shares that describe groups (what sets a group apart,
    where groups part ways, how far every group agreed) are drawn from it, so none comes from a handful of votes.
    """
    return _protected_votes(groups, statement, ("agree", "disagree", "pass"), threshold)


def _protected_votes(groups: OpinionGroups, statement: StatementId, rows: tuple[str, ...], threshold: int) -> GroupVotes:
    """Return a statement's votes by group in `rows` ("agree" and "not", or "agree", "disagree" and "pass") as the
    disclosure control publishes them together with the group sizes and the whole room's votes."""
    threshold = disclosure.validate_threshold(threshold)
    ids = tuple(g.id for g in groups.groups)
    per = [groups.stances.get((gid, statement), (0, 0, 0)) for gid in ids]
    pick = {"agree": lambda p: p[_A], "not": lambda p: p[_D] + p[_P], "disagree": lambda p: p[_D], "pass": lambda p: p[_P]}
    split_counts = tuple(tuple(pick[r](p) for p in per) for r in rows)
    hidden = GroupVotes(statement, ids, MappingProxyType({(r, g): None for r in rows for g in ids}), MappingProxyType({g: None for g in ids}))
    if not ids:
        return hidden
    sizes = _sizes_line(groups)
    everyone = disclosure.Line(_VOTES, rows, tuple(sum(row) for row in split_counts))
    if _disclosure([sizes, everyone], threshold=threshold).lines[_VOTES].hidden_any():
        return hidden
    grid = disclosure.Grid(_BY, rows, ids, split_counts)
    caps = [disclosure.Cap(_BY, (gid,), ((_PEOPLE, gid),), 1) for gid in ids]
    split = _disclosure([sizes, everyone], [grid], caps, threshold=threshold).grids[_BY]
    if split.withheld:
        return hidden
    return GroupVotes(
        statement, ids,
        MappingProxyType({(r, g): split.cell(r, g) for r in rows for g in ids}),
        MappingProxyType({g: split.column_total(g) for g in ids}),
    )


@dataclass(frozen=True)
class ShownRepresentative:
    """A statement that sets a group apart, with the group's share voting that way and the other groups' share,
    both from published counts (``others_share`` None: not published)."""

    statement: StatementId
    direction: str
    share: float
    others_share: float | None


@dataclass(frozen=True)
class ShownConsensus:
    """A statement every group agreed (or disagreed) with; ``weakest`` (the lowest group's share) None when unpublished."""

    statement: StatementId
    direction: str
    weakest: float | None


@dataclass(frozen=True)
class ShownDivisive:
    """A statement that divides the groups; which groups and their shares are None when they may not be shown."""

    statement: StatementId
    agreeing_group: str | None
    agree_share: float | None
    disagreeing_group: str | None
    disagree_share: float | None


@dataclass(frozen=True)
class GroupDescriptions:
    """What a page or report may say of opinion groups beyond their sizes: every share drawn from published counts.

    The engine finds a group's representative statements, the consensus and the divisive statements from every
    vote, however few: a group of 12 can be "set apart" by a statement one of its members voted on. A
    representative statement whose group share is not published is left out of that group's list; a divisive one
    names no group and no share, a consensus gives no share, unless every figure it would show is published.
    """

    sizes: Mapping[str, int | None]
    representative: Mapping[str, tuple[ShownRepresentative, ...]]
    consensus: tuple[ShownConsensus, ...]
    divisive: tuple[ShownDivisive, ...]
    # True when the engine found consensus but a group is too small to show: "every group agreed" would say how
    # most of that hidden group voted, so no consensus is listed (see `consensus_shown`).
    consensus_withheld: bool = False


def _others_share(table: GroupVotes, direction: str, group: str) -> float | None:
    """Return the other groups' share voting `direction`, only if every other group's counts are published."""
    others = [g for g in table.groups if g != group]
    counts = [table.counts.get((direction, g)) for g in others]
    totals = [table.totals.get(g) for g in others]
    if not others or any(c is None for c in counts) or any(t is None for t in totals):
        return None
    return disclosure.share(sum(counts), sum(totals))


def describe_groups(groups: OpinionGroups, *, threshold: int = disclosure.DEFAULT_THRESHOLD) -> GroupDescriptions:
    """Return what may be said of opinion groups (`GroupDescriptions`): sizes, representative, consensus and divisive
    statements, every share from `group_stance_table`'s published counts."""
    threshold = disclosure.validate_threshold(threshold)
    sizes = group_size_table(groups, threshold=threshold)
    tables: dict[StatementId, GroupVotes] = {}

    def table(statement: StatementId) -> GroupVotes:
        """Return (once per statement) the statement's published votes by group."""
        if statement not in tables:
            tables[statement] = group_stance_table(groups, statement, threshold=threshold)
        return tables[statement]

    representative: dict[str, tuple[ShownRepresentative, ...]] = {}
    for group in groups.groups:
        shown = []
        for r in group.representative if sizes.get(group.id) is not None else ():
            share = table(r.statement).share(r.direction, group.id)
            if share is not None:
                shown.append(ShownRepresentative(r.statement, r.direction, share, _others_share(table(r.statement), r.direction, group.id)))
        representative[group.id] = tuple(shown)
    consensus = []
    for c in consensus_shown(groups, sizes):
        shares = [table(c.statement).share(c.direction, g.id) for g in groups.groups]
        consensus.append(ShownConsensus(c.statement, c.direction, None if None in shares else min(shares)))
    divisive = []
    for d in groups.divisive:
        both = sizes.get(d.agreeing_group) is not None and sizes.get(d.disagreeing_group) is not None
        agree = table(d.statement).share("agree", d.agreeing_group) if both else None
        disagree = table(d.statement).share("disagree", d.disagreeing_group) if both else None
        if agree is None or disagree is None:
            divisive.append(ShownDivisive(d.statement, None, None, None, None))
        else:
            divisive.append(ShownDivisive(d.statement, d.agreeing_group, agree, d.disagreeing_group, disagree))
    return GroupDescriptions(MappingProxyType(sizes), MappingProxyType(representative), tuple(consensus), tuple(divisive),
                             consensus_withheld=bool(groups.consensus) and not consensus)


def consensus_shown(groups: OpinionGroups, sizes: Mapping[str, int | None]) -> tuple[Consensus, ...]:
    """Return the consensus statements that may be shown, given the groups' published sizes (`group_size_table`):
    none while a group is too small to show. A consensus says a clear majority of every group agreed (or disagreed),
    so listing one would tell how most of a hidden group of a few people voted."""
    if not sizes or any(size is None for size in sizes.values()):
        return ()
    return tuple(groups.consensus)


# --- which statement a phone shows next --------------------------------------------------------


def statement_priorities(
    tallies: Iterable[StatementTally],
    groups: OpinionGroups | None = None,
    *,
    exclude: Collection[StatementId] = (),
) -> dict[StatementId, float]:
    """Return each statement's weight for being shown next (higher: sooner); excluded ones get 0.

    As Pol.is's comment priority: (importance x novelty) squared, where novelty = 1 + 8 x
    2^(-votes/5) lets new statements be seen quickly, and importance = (1 - pass share) x
    (1 + extremity) x signal, shares smoothed (+1/+2). Before there are groups the signal is
    the agree share (Pol.is); once there are, it is how much the statement separates groups
    (the gap between the most and the least agreeing group) or unites them (the agreement of
    the least agreeing group), whichever is larger, so that both kinds get the votes that
    confirm them.
    """
    skip = set(exclude)
    out: dict[StatementId, float] = {}
    for tally in tallies:
        if tally.statement in skip:
            out[tally.statement] = 0.0
            continue
        votes = tally.votes
        agree = (tally.agree + 1) / (votes + 2)
        passed = (tally.passes + 1) / (votes + 2)
        extremity = groups.extremity.get(tally.statement, 0.0) if groups is not None else 0.0
        separate = unite = 0.0
        if groups is not None and len(groups.groups) >= 2:
            shares = []
            for group in groups.groups:
                a, d, p = groups.stances.get((group.id, tally.statement), (0, 0, 0))
                shares.append((a + 1) / (a + d + p + 2))
            separate = max(shares) - min(shares)
            unite = min(shares)
        signal = max(separate, unite) if groups is not None and len(groups.groups) >= 2 else agree
        importance = (1.0 - passed) * (1.0 + extremity) * signal
        novelty = 1.0 + 8.0 * 2.0 ** (-votes / 5.0)
        out[tally.statement] = float((importance * novelty) ** 2)
    return out


def next_statement(
    priorities: Mapping[StatementId, float],
    voted: Collection[StatementId],
    *,
    draw: float,
) -> StatementId | None:
    """Return the statement to show next: drawn among those not yet voted, in proportion to priority.

    ``draw`` is a number in [0, 1) from the caller's random source (so this stays pure and
    testable). Drawing, rather than always taking the top statement, spreads votes over
    statements as Pol.is does. ``None`` when nothing is left to vote on.
    """
    if not 0.0 <= draw < 1.0 or math.isnan(draw):
        raise ValueError(f"draw must be in [0, 1), not {draw!r}")
    done = set(voted)
    left = [(sid, max(float(w), 0.0)) for sid, w in priorities.items() if sid not in done]
    if not left:
        return None
    total = sum(w for _, w in left)
    if total <= 0:
        live = [sid for sid, w in left]
        return live[int(draw * len(live))]
    target = draw * total
    running = 0.0
    for sid, weight in left:
        running += weight
        if target < running:
            return sid
    return left[-1][0]
