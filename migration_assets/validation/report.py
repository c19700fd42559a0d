"""The validation report: markdown tables and PNG plots for the Dagster UI (asset metadata)."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd

HEADLINE_METRICS = ["pearson", "pearson_log1p", "pearson_proportion", "pearson_rate", "spearman",
                    "median_relative_error"]


def table(scores: pd.DataFrame, comparison: str, stratum_kind: str = "pooled") -> pd.DataFrame:
    """Methods × metrics for one comparison and stratum kind (pooled by default)."""
    s = scores[(scores["comparison"] == comparison) & (scores["stratum_kind"] == stratum_kind)]
    if s.empty:
        return pd.DataFrame()
    wide = s.pivot_table(index=["stratum", "method"], columns="metric", values="value", sort=False)
    cells = s.groupby(["stratum", "method"], sort=False)["cells"].first()
    wide = wide[[m for m in HEADLINE_METRICS if m in wide.columns]].assign(cells=cells)
    return wide.reset_index() if stratum_kind != "pooled" else wide.reset_index(level="stratum", drop=True)


def markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    if frame.empty:
        return "(no cells)"
    f = frame.reset_index() if frame.index.name else frame
    head = "| " + " | ".join(map(str, f.columns)) + " |\n|" + "---|" * len(f.columns)

    def fmt(v) -> str:
        if isinstance(v, (float, np.floating)):
            return "–" if np.isnan(v) else f"{v:.{digits}f}"
        return str(v)

    return head + "\n" + "\n".join("| " + " | ".join(fmt(v) for v in row) + " |" for row in f.itertuples(index=False))


def _png(fig) -> str:
    """The figure as a PNG data URI (closed afterwards); `md_image` makes it markdown."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return f"data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}"


def md_image(uri: str) -> str:
    return f"![plot]({uri})"


def _figure(ncols: int, nrows: int = 1, size: tuple[float, float] = (4.2, 4)):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False)


def scatter(cells: pd.DataFrame, methods: list[str], reported: str = "reported", title: str = "") -> str:
    """PNG data URI: log1p scatter of each method against the reported values."""
    fig, axes = _figure(len(methods))
    x = np.log1p(cells[reported].clip(lower=0).to_numpy())
    for ax, method in zip(axes[0], methods):
        y = np.log1p(cells[method].clip(lower=0).to_numpy())
        ax.scatter(x, y, s=2, alpha=0.2, rasterized=True)
        top = max(float(x.max(initial=1)), float(y.max(initial=1)))
        ax.plot([0, top], [0, top], color="black", lw=0.8)
        ax.set_xlabel(f"log1p({reported})")
        ax.set_ylabel(f"log1p({method})")
        ax.set_title(f"{title} {method}".strip(), fontsize=9)
    return _png(fig)


def coverage_bars(coverage: pd.DataFrame) -> str:
    """PNG data URI: calibrated coverage of p05-p95 and p25-p75 against their nominal share, per stratum
    (left), and the median width p95/p05 of the same strata (right, log scale)."""
    calibrated = coverage[(coverage["stage"] == "calibrated") & (coverage["cells"] > 0)
                          & coverage["stratum_kind"].isin(["table", "corridor", "size", "dataset",
                                                           "years_from_stock_point"])]
    fig, axes = _figure(2)
    ax, wide = axes[0][0], axes[0][1]
    ninety = calibrated[calibrated["interval"] == "p05-p95"]
    names = [f"{k}: {s}" for k, s in zip(ninety["stratum_kind"], ninety["stratum"])]
    y = np.arange(len(names))
    for interval, marker in [("p05-p95", "o"), ("p25-p75", "s")]:
        part = calibrated[calibrated["interval"] == interval].set_index(["stratum_kind", "stratum"]).reindex(
            pd.MultiIndex.from_frame(ninety[["stratum_kind", "stratum"]]))
        ax.scatter(part["coverage"], y, marker=marker, label=interval, s=18)
        nominal = part["nominal"].dropna()
        if len(nominal):
            ax.axvline(float(nominal.iloc[0]), color="grey", lw=0.8, ls="--")
    ax.set_yticks(y, names, fontsize=6)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of known values inside (dashed: nominal)")
    ax.set_title("coverage of the calibrated intervals", fontsize=9)
    ax.legend(fontsize=7)
    flows = ninety[ninety["stratum"] != "net_migration"]
    wide.barh(np.arange(len(flows)), flows["median_width"].to_numpy(dtype=float))
    wide.set_yticks(np.arange(len(flows)), [f"{k}: {s}" for k, s in zip(flows["stratum_kind"], flows["stratum"])],
                    fontsize=6)
    wide.set_xscale("log")
    wide.set_xlabel("median (p95 + 1) / (p05 + 1)")
    wide.set_title("width of the 90 % interval", fontsize=9)
    return _png(fig)


def lines(frame: pd.DataFrame, x: str, columns: list[str], title: str, ylabel: str, scale: float = 1e6) -> str:
    """PNG data URI: one line per column against `x` (values divided by `scale`)."""
    fig, axes = _figure(1)
    ax = axes[0][0]
    for column in columns:
        part = frame[[x, column]].dropna()
        ax.plot(part[x], part[column] / scale, marker="o" if len(part) < 8 else None, ms=3, label=column)
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return _png(fig)


def xy(frame: pd.DataFrame, x: str, y: str, title: str, scale: float = 1e3, unit: str = "thousand persons") -> str:
    """PNG data URI: linear scatter of y against x (values divided by `scale`), with the diagonal and r."""
    fig, axes = _figure(1)
    ax = axes[0][0]
    ax.scatter(frame[x] / scale, frame[y] / scale, s=4, alpha=0.4, rasterized=True)
    low = float(min(frame[x].min(), frame[y].min(), 0)) / scale
    high = float(max(frame[x].max(), frame[y].max(), 1)) / scale
    ax.plot([low, high], [low, high], color="black", lw=0.8)
    r = float(np.corrcoef(frame[x], frame[y])[0, 1]) if len(frame) > 2 else float("nan")
    ax.set_xlabel(f"{x} ({unit})")
    ax.set_ylabel(f"{y} ({unit})")
    ax.set_title(f"{title} (r = {r:.3f})", fontsize=9)
    return _png(fig)


def corridors(frame: pd.DataFrame, others: list[str], ncols: int = 4) -> str:
    """PNG data URI: one small panel per corridor (frame: corridor, year, mean, p05, p95 and `others`),
    the mean with its p05-p95 band, in thousands of persons."""
    names = list(dict.fromkeys(frame["corridor"]))
    nrows = max(1, -(-len(names) // ncols))
    fig, axes = _figure(ncols, nrows, size=(3.2, 2.4))
    for ax, name in zip(axes.flat, names):
        part = frame[frame["corridor"] == name].sort_values("year")
        ax.fill_between(part["year"], part["p05"] / 1e3, part["p95"] / 1e3, alpha=0.25, label="p05-p95")
        ax.plot(part["year"], part["mean"] / 1e3, lw=1.2, label="ours")
        for other in others:
            if part[other].notna().any():
                ax.plot(part["year"], part[other] / 1e3, lw=0.9, ls="--", label=other)
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    axes.flat[0].set_ylabel("thousand persons a year", fontsize=7)
    fig.tight_layout()
    return _png(fig)
