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
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return f"![plot](data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()})"


def _figure(ncols: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(4.2 * ncols, 4), squeeze=False)


def scatter(cells: pd.DataFrame, methods: list[str], reported: str = "reported", title: str = "") -> str:
    """Markdown image: log1p scatter of each method against the reported values."""
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
    """Markdown image: pooled coverage before and after calibration against the nominal share."""
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
    """Markdown image: one line per column against `x` (values divided by `scale`)."""
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
