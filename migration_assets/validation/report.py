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
    """PNG data URI: pooled coverage before and after calibration against the nominal share."""
    pooled = coverage[coverage["stratum_kind"] == "pooled"]
    fig, axes = _figure(1)
    ax = axes[0][0]
    intervals = sorted(pooled["interval"].unique())
    stages = sorted(pooled["stage"].unique(), reverse=True)
    width = 0.8 / max(len(stages), 1)
    for s, stage in enumerate(stages):
        part = pooled[pooled["stage"] == stage].set_index("interval").reindex(intervals)
        ax.bar(np.arange(len(intervals)) + s * width, part["coverage"], width, label=stage)
    for i, interval in enumerate(intervals):
        nominal = pooled.loc[pooled["interval"] == interval, "nominal"].iloc[0]
        ax.hlines(nominal, i - 0.1, i + 0.9, color="black", lw=1)
    ax.set_xticks(np.arange(len(intervals)) + 0.4 - width / 2, intervals)
    ax.set_ylim(0, 1)
    ax.set_xlabel("interval (black line: its nominal coverage)")
    ax.set_ylabel("share of held-out reported flows inside")
    ax.set_title("coverage of the flow intervals on held-out corridors")
    ax.legend(fontsize=8)
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
