"""Iterative proportional fitting as the classic methods use it, in a few lines of numpy.

No library: the golden results of migest can only be reproduced cell for cell with migest's own stopping
rules (1.8.1 stops on the largest margin deviation, measured before each scaling; 2.0.5 calls mipfp::Ipfp,
which stops on the largest cell change over an iteration) and with migest's division rule (0/0 and x/0 give 0,
so a zero seed row stays zero and a zero target empties its row). Python IPF packages (e.g. `ipfn`) stop on
other criteria and would add a dependency for about twenty lines.

Arrays: a matrix is `[row, column]`; a three-way flow array is `mu[origin, destination, birthplace]`, with
margins `start[origin, birthplace] = sum over destinations` and `end[destination, birthplace] = sum over origins`.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Fit:
    """An IPF result: the fitted array, the iterations run and the stopping criterion's last value."""

    table: np.ndarray
    iterations: int
    deviation: float


def sum_like_r(values: np.ndarray, axis: int) -> np.ndarray:
    """Sums along an axis accumulated in extended precision, as R's sum, rowSums and colSums do: migest's
    IPFs then hit the same floating-point values, and halves (x.5) round the same way."""
    return values.sum(axis=axis, dtype=np.longdouble).astype(float)


def safe_divide(numerator, denominator) -> np.ndarray:
    """numerator / denominator with every NaN or infinite quotient (0/0, x/0) replaced by 0 (the spec's ⊘)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = np.divide(numerator, denominator)
    return np.where(np.isfinite(quotient), quotient, 0.0)


def scale_rows(table: np.ndarray, row_totals) -> np.ndarray:
    """Each row scaled to its total; a row that sums to 0 stays 0 (its total is then not met)."""
    return table * safe_divide(row_totals, table.sum(axis=1))[:, None]


def scale_columns(table: np.ndarray, column_totals) -> np.ndarray:
    """Each column scaled to its total; a column that sums to 0 stays 0 (its total is then not met)."""
    return table * safe_divide(column_totals, table.sum(axis=0))[None, :]


def ipf2(seed: np.ndarray, row_totals, column_totals=None, tol: float = 1e-5, max_iterations: int = 500) -> Fit:
    """Fit a matrix to row and column totals as migest's `ipf2` does (1.8.1 and 2.0.5 alike).

    Each iteration scales the columns, then the rows; it stops after the first iteration whose largest margin
    deviation (each measured before its scaling) is ≤ `tol`. Row totals come out exact, column totals within
    about `tol`. Without `column_totals` only the rows are fitted.

    >>> ipf2(np.ones((2, 2)), [3.0, 1.0], [2.0, 2.0]).table
    array([[1.5, 1.5],
           [0.5, 0.5]])
    """
    table = np.asarray(seed, dtype=float).copy()
    row_totals = np.asarray(row_totals, float)
    for iteration in range(1, max_iterations + 1):
        deviation = 0.0
        if column_totals is not None:
            column_sums = table.sum(axis=0)
            table *= safe_divide(column_totals, column_sums)[None, :]
            deviation = np.abs(np.asarray(column_totals, float) - column_sums).max()
        row_sums = table.sum(axis=1)
        table *= safe_divide(row_totals, row_sums)[:, None]
        deviation = float(max(deviation, np.abs(row_totals - row_sums).max()))
        if deviation <= tol:
            break
    return Fit(table, iteration, deviation)


def ipfp2(seed: np.ndarray, row_totals, column_totals, tol: float = 1e-3, max_iterations: int = 100_000) -> Fit:
    """Fit a matrix to row and column totals as `mipfp::Ipfp` does (migest 2.0.5's birthplace matching).

    Each iteration scales the rows, then the columns; it stops when no cell moved by `tol` or more (column
    totals exact). Targets whose sums differ by more than `tol` raise (mipfp would silently switch to
    proportions).
    """
    table = np.asarray(seed, dtype=float).copy()
    row_totals, column_totals = np.asarray(row_totals, float), np.asarray(column_totals, float)
    if abs(row_totals.sum() - column_totals.sum()) > tol:
        raise ValueError(f"IPF: row totals sum to {row_totals.sum()} but column totals to {column_totals.sum()}; "
                         "make the two margins sum to the same total")
    for iteration in range(1, max_iterations + 1):
        before = table
        table = scale_columns(scale_rows(table, row_totals), column_totals)
        change = float(np.abs(table - before).max())
        if change < tol:
            break
    return Fit(table, iteration, change)


def ipf3(start: np.ndarray, end: np.ndarray, offset: np.ndarray | None = None, stayers: bool = True,
         tol: float = 1e-5, max_iterations: int = 500, version: str = "1.8.1") -> Fit:
    """Flows by birthplace `mu[i, j, k]` whose margins are the stocks by birthplace at the start and end.

    `start[i, k]`: persons born in k living in i at the start; `end[j, k]`: the same at the end; for each k
    both must sum to the same total. Log-linear form `mu[i, j, k] = alpha[i, k] * beta[j, k] * offset[i, j, k]`
    (`offset` n×n or n×n×n, default all 1).

    `stayers=True` (minimisation, migest `ipf3_qi`): the most persons possible stay, `min(start, end)` on the
    diagonal; the movers `start − stay` and `end − stay` are fitted off the diagonal. `stayers=False`
    (independence, migest `ipf3`): the whole margins are fitted, stayers included.
    1.8.1 (`tol` 1e-5, 500 iterations): scale to the start margins, then to the end margins, then (stayers)
    zero the diagonal; stop when the largest margin deviation, and the largest diagonal cell zeroed, is
    ≤ `tol`. 2.0.5 (mipfp::Ipfp) stops when no cell moves by `tol` (migest passes 1e-3) or more; with stayers it
    ignores the offset (seed 1 off the diagonal, 0 on it) and first rescales the end movers to the start
    movers' birthplace totals.
    """
    start, end = np.asarray(start, float), np.asarray(end, float)
    n, births = start.shape
    stay = np.minimum(start, end) if stayers else np.zeros_like(start)
    leaving, arriving = start - stay, end - stay
    diagonal = np.arange(n)
    if version == "2.0.5" and stayers:
        arriving = arriving * safe_divide(sum_like_r(leaving, 0), sum_like_r(arriving, 0))[None, :]
        mu = np.ones((n, n, births))
        mu[diagonal, diagonal, :] = 0.0
    else:
        mu = np.broadcast_to(np.ones((n, n)) if offset is None else np.asarray(offset, float).reshape(n, n, -1),
                             (n, n, births)).copy()
    for iteration in range(1, max_iterations + 1):
        before = mu.copy() if version == "2.0.5" else None
        leaving_sums = sum_like_r(mu, 1)
        mu *= safe_divide(leaving, leaving_sums)[:, None, :]
        arriving_sums = sum_like_r(mu, 0)
        mu *= safe_divide(arriving, arriving_sums)[None, :, :]
        if version == "2.0.5":
            deviation = float(np.abs(mu - before).max())
            if deviation < tol:
                break
        else:
            deviation = max(np.abs(leaving - leaving_sums).max(), np.abs(arriving - arriving_sums).max())
            if stayers:
                deviation = max(deviation, np.abs(mu[diagonal, diagonal, :]).max())
                mu[diagonal, diagonal, :] = 0.0
            if deviation <= tol:
                break
    if stayers:
        mu[diagonal, diagonal, :] = stay
    return Fit(mu, iteration, float(deviation))
