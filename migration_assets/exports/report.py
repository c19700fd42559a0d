"""One self-contained HTML page of what a demographer wants to see, read from the warehouse.

Sections (each only where the warehouse holds what it needs): held-out accuracy per source, beside
the paper's on the same cells (published data) — with the reported-vs-predicted scatter per
dataset; coverage of the calibrated intervals by nominal level; global movers per year beside
Meta's measurement, the paper's and (synthetic world) the truth; net migration against the
reported series; ours beside the classic methods computed on the same inputs (and, published data,
beside their published files); the 20 largest corridors over time with their intervals; what the
recent years rest on; the revisions since the previous estimates; the data sources with their
versions. Plots are inline PNGs, so the page is one file that opens anywhere. The same report is
also written as markdown (`facts["markdown"]`), which the asset's metadata holds, so the Dagster
UI opens it with a click: a browser refuses a file:// link from the UI's http page.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone

import duckdb
import pandas as pd

from ..panel.build import dataset as flow_dataset
from ..validation import report as plots

STYLE = """body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0;display:block;overflow-x:auto}td,th{padding:.2em .6em;text-align:right}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}img{max-width:100%}
p.note{color:#555;font-size:.9em}"""


def _exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, table = qualified.split(".")
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? "
                            "and table_name = ?", [schema, table]).fetchone()[0])


def _df(con, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


# A section's body is a list of parts, each written out as HTML (the page) or as markdown (the same
# report in the asset's metadata, which the Dagster UI renders: tables, and images as data URIs).
def _table(frame: pd.DataFrame, digits: int = 3) -> tuple:
    return ("table", frame.rename_axis(columns=None), digits)


def _img(uri: str, alt: str) -> tuple:
    return ("img", uri, alt)


def _text(text: str, note: bool = False) -> tuple:
    return ("text", text, note)


def _html(part: tuple) -> str:
    kind, value, extra = part
    if kind == "table":
        return value.to_html(index=False, border=0, float_format=lambda v: f"{v:,.{extra}f}", na_rep="–")
    if kind == "img":
        return f'<img src="{value}" alt="{html.escape(extra)}">'
    return f"<p class='note'>{html.escape(value)}</p>" if extra else f"<p>{html.escape(value)}</p>"


def _markdown(part: tuple) -> str:
    kind, value, extra = part
    if kind == "table":
        return value.to_markdown(index=False, floatfmt=f",.{extra}f", missingval="–")
    if kind == "img":
        return f"![{extra}]({value})"
    return f"*{value}*" if extra else value


def movers(con) -> pd.DataFrame:
    """Global movers per year, millions: ours, and beside it the paper's, Meta's and the truth where held."""
    frame = _df(con, "select year, sum(mean) / 1e6 as ours from estimates.flows group by year")
    others = {"paper": "select year, sum(flow) / 1e6 as paper from reference.gaskin_abel_flows group by year",
              "meta": "select year, sum(flow) / 1e6 as meta from raw.meta_flows group by year",
              "truth": "select year, sum(flow) / 1e6 as truth from truth.flows group by year"}
    for name, sql in others.items():
        table = sql.split(" from ")[1].split()[0]
        if _exists(con, table):
            frame = frame.merge(_df(con, sql), on="year", how="left")
    return frame.dropna(axis="columns", how="all").sort_values("year").reset_index(drop=True)


def largest_corridors(con, n: int = 20) -> pd.DataFrame:
    """The n corridors with the largest flow over all years: year, mean, p05, p95 and the paper's or
    the truth's flow where held."""
    frame = _df(con, f"""with top as (select origin, destination, sum(mean) as total from estimates.flows
                         group by all order by total desc limit {n})
                         select f.year, f.origin, f.destination, f.mean, f.p05, f.p95, t.total
                         from estimates.flows f join top t using (origin, destination)""")
    for name, table, column in [("paper", "reference.gaskin_abel_flows", "flow"), ("truth", "truth.flows", "flow")]:
        if _exists(con, table):
            other = _df(con, f"select year, origin, destination, {column} as {name} from {table}")
            frame = frame.merge(other, on=["year", "origin", "destination"], how="left")
        else:
            frame[name] = float("nan")
    frame["corridor"] = frame["origin"] + " → " + frame["destination"]
    return frame.sort_values(["total", "year"], ascending=[False, True]).reset_index(drop=True)


def classic_section(con) -> list[tuple]:
    """Ours beside Abel & Cohen's six methods computed in the pipeline on our inputs (classic_*) and, with the
    published data, beside their published files, on the same five-year cells; pooled."""
    scores = _df(con, "select * from validation.classic_scores")
    if _exists(con, "validation.anchor_scores"):  # the published files' scores on the same cells
        scores = _df(con, "select * from validation.anchor_scores where comparison like 'five_year%'")
    body = []
    for comparison, what in [("five_year_true_flows", "the true flows summed over the period (every corridor)"),
                             ("five_year_flows", "held-out reported flows summed over the period"),
                             ("five_year_net_migration_wpp", "WPP net migration summed over the period")]:
        t = plots.table(scores, comparison)
        if not t.empty:
            body += [_text(f"Against {what} ({comparison}):"), _table(t.reset_index())]
    return body + [_text("classic_*: Abel & Cohen's methods computed in the pipeline on the panel's stocks and "
                         "demography (validation.classic_flows); without the prefix: their published files. The "
                         "classic methods count migrant transitions over five years, below a sum of annual moves: "
                         "compare correlations, not levels.", note=True)]


def build(con: duckdb.DuckDBPyConnection, sources: pd.DataFrame, title: str) -> tuple[str, dict]:
    """The page and the figures it shows (for the asset's metadata and the tests)."""
    sections, facts = [], {}
    # held-out accuracy per source, the paper beside ours where the anchors were compared
    if _exists(con, "validation.flow_scores"):
        scores = _df(con, "select * from validation.flow_scores")
        if _exists(con, "validation.anchor_scores"):
            scores = pd.concat([scores, _df(con, "select * from validation.anchor_scores")])
        by_source = plots.table(scores.drop_duplicates(["comparison", "stratum_kind", "stratum", "method", "metric"]),
                                "annual_heldout_flows", "source")
        pooled = plots.table(scores, "annual_heldout_flows").reset_index()
        facts["heldout_cells"] = int(pooled["cells"].max()) if len(pooled) else 0
        body = [_text("Each member is scored only on the corridors of the fold it never saw. Pooled:"),
                _table(pooled), _text("By reporting source:"), _table(by_source)]
        cells = _df(con, "select reported, predicted, source from validation.heldout_flows")
        if len(cells):
            cells["dataset"] = flow_dataset(cells["source"])
            for dataset, part in cells.groupby("dataset"):
                body.append(_img(plots.scatter(part, ["predicted"], title=f"held-out, {dataset}"),
                                 f"held-out {dataset}"))
        sections.append(("Held-out accuracy by source", body))
    if _exists(con, "validation.coverage"):
        coverage = _df(con, "select * from validation.coverage")
        if len(coverage) and coverage["cells"].max() > 0:
            pooled = coverage[coverage["stratum_kind"] == "pooled"].drop(columns=["stratum_kind", "stratum"])
            facts["coverage_p05_p95"] = float(pooled.query("stage == 'calibrated' and interval == 'p05-p95'")
                                              ["coverage"].iloc[0])
            per_table = coverage[coverage["stratum_kind"] == "table"].rename(columns={"stratum": "table"}) \
                .drop(columns=["stratum_kind"])
            sections.append(("Coverage of the intervals", [
                _img(plots.coverage_bars(coverage), "coverage"), _table(pooled),
                _text("By estimate table, calibrated and cross-fitted (each fold scored with a calibration fitted on "
                      "the other folds): flows against the reported flows with each source's reporting bias removed "
                      "(held-out corridors and reported corridor-years), stocks against the UN stock points, net "
                      "migration against its reported series. Flows by birth share their flow's quantiles; nothing "
                      "reports them. median_width: median (p95 + 1) / (p05 + 1); net migration: p95 - p05, persons."),
                _table(per_table)]))
    moved = movers(con)
    facts["movers"] = moved
    lines = [c for c in ("ours", "paper", "meta", "truth") if c in moved.columns]
    sections.append(("Global movers per year",
                     [_img(plots.lines(moved, "year", lines, "movers per year (millions; Meta: pairs ≥ 50)",
                                       "million persons", scale=1), "global movers"), _table(moved, digits=2)]))
    net = _df(con, "select e.year, e.country, e.mean as ours, r.net_migration as reported from estimates.net_migration e "
                   "join raw.net_migration r using (year, country)")
    if _exists(con, "truth.net_migration"):
        net = _df(con, "select e.year, e.country, e.mean as ours, t.net_migration as truth "
                       "from estimates.net_migration e join truth.net_migration t using (year, country)")
    if len(net):
        against = "truth" if "truth" in net.columns else "reported"
        body = [_img(plots.xy(net, against, "ours", f"net migration, ours against {against}"), "net migration")]
        if against == "reported":
            body.append(_text("Reported: the source's net migration series (raw.net_migration).", note=True))
        if _exists(con, "validation.anchor_scores"):
            anchor = _df(con, "select * from validation.anchor_scores")
            for comparison in ("net_migration_wpp", "net_migration_national"):
                t = plots.table(anchor, comparison)
                if not t.empty:
                    body += [_text(f"{comparison}:"), _table(t.reset_index())]
        sections.append(("Net migration", body))
    if _exists(con, "validation.classic_scores"):
        sections.append(("The classic methods on the same inputs", classic_section(con)))
    top = largest_corridors(con)
    facts["corridors"] = list(dict.fromkeys(top["corridor"]))
    others = [c for c in ("paper", "truth") if top[c].notna().any()]
    sections.append(("The 20 largest corridors", [
        _img(plots.corridors(top, others), "largest corridors"),
        _text(f"Mean with the calibrated p05–p95 interval; dashed: {', '.join(others) or 'nothing else held'}.",
              note=True)]))
    if _exists(con, "panel.data_basis"):
        basis = _df(con, "select year, input, basis from panel.data_basis where role != 'unused' "
                         "and year > (select max(year) from panel.data_basis) - 6")
        if len(basis):
            grid = basis.pivot(index="input", columns="year", values="basis").reset_index()
            grid.columns = [str(c) for c in grid.columns]
            facts["data_basis_years"] = sorted(int(y) for y in basis["year"].unique())
            sections.append(("What the recent years rest on", [
                _text("For each input of the last six estimate years: observed, projected (WPP's medium variant), "
                      "interpolated or extrapolated (UN stocks between and after their points), carried_forward "
                      "(a covariate's last year), or none (no reported figure: the estimate is the model's own). "
                      "A year whose inputs are not all observed is a nowcast (panel.data_basis)."),
                _table(grid)]))
    if _exists(con, "estimates.revisions"):
        revised = _df(con, "select * from estimates.revisions order by abs(change) desc")
        if len(revised):
            beyond = int((revised["interval_units"] > 0.5).sum())
            facts["revisions_beyond_half_interval"] = beyond
            sections.append(("Revisions since the previous estimates", [
                _text(f"{beyond:,} corridor-years moved by more than half their earlier p05–p95 width; the 20 "
                      "largest moves (persons; interval_units = |change| / the earlier width):"),
                _table(revised.head(20), digits=2)]))
    sections.append(("Data sources", [_table(sources, digits=0)]))
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    note = f"Made {made} from the warehouse. Persons; stocks on 1 January, flows during the calendar year."
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{_html(_text(note, note=True))}"
            + "".join(f"<section><h2>{html.escape(h)}</h2>{''.join(map(_html, parts))}</section>"
                      for h, parts in sections)
            + "</body></html>")
    facts["sections"] = [h for h, _ in sections]
    facts["markdown"] = f"# {title}\n\n{_markdown(_text(note, note=True))}\n\n" + "\n\n".join(
        f"## {h}\n\n" + "\n\n".join(map(_markdown, parts)) for h, parts in sections)
    return page, facts
