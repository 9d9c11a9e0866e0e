"""Writing an experiment report: CSV and JSON tables, PNG plots, one self-contained HTML page."""

from __future__ import annotations

import base64
import csv
import html
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from faithtrace.probes._report import ExperimentReport

PLOT_DPI = 110


def _pyplot() -> Any:
    import matplotlib

    # Agg: no display, no GUI toolkit; reports are written on servers and in tests.
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _curve_plot(path: Path, rows: Sequence[dict[str, Any]], title: str, xlabel: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8), dpi=PLOT_DPI)
    xs = [100 * float(r["kept"]) for r in rows]
    ys = [100 * float(r["same_rate"]) for r in rows]
    ax.plot(xs, ys, marker="o", color="#1f77b4")
    for x, y, r in zip(xs, ys, rows, strict=True):
        ax.annotate(f"n={r['n']}", (x, y), textcoords="offset points", xytext=(0, 6),
                    ha="center", fontsize=7, color="#555")
    ax.set(xlim=(-3, 103), ylim=(-5, 112), xlabel=xlabel, ylabel="% same answer", title=title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _heatmap(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    plt = _pyplot()
    items = sorted({(r["item_index"], r["item_id"]) for r in rows})
    width = max(r["step"] for r in rows) + 1
    grid = [[float("nan")] * width for _ in items]
    position = {item: i for i, item in enumerate(items)}
    for r in rows:
        grid[position[(r["item_index"], r["item_id"])]][r["step"]] = r["tvd"]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * width + 2.5), max(2.5, 0.35 * len(items) + 1.5)),
                           dpi=PLOT_DPI)
    image = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0,
                      interpolation="nearest")
    ax.set(xlabel="step position", ylabel="episode", title="Step importance (TVD when removed)")
    ax.set_xticks(range(width))
    ax.set_yticks(range(len(items)), [str(item_id)[-24:] for _, item_id in items], fontsize=7)
    fig.colorbar(image, ax=ax, label="TVD")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _accuracy_plot(path: Path, summary: dict[str, Any]) -> None:
    plt = _pyplot()
    bars = [(label, float(summary[key])) for label, key in (
        ("with CoT", "accuracy_cot"), ("no CoT", "accuracy_no_cot"),
        ("empty reasoning\n(scored)", "empty_reasoning_accuracy"),
        ("filler\n(scored)", "filler_accuracy")) if summary.get(key) is not None]
    fig, ax = plt.subplots(figsize=(5.5, 3.5), dpi=PLOT_DPI)
    ax.bar([b[0] for b in bars], [100 * b[1] for b in bars], color="#4c72b0")
    ax.set(ylim=(0, 100), ylabel="% correct", title="Accuracy")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_plots(report: ExperimentReport, out: Path) -> dict[str, Path]:
    """The PNG plots there is data for, by name."""
    plots: dict[str, Path] = {}
    if report.summary.get("accuracy_cot") is not None:
        plots["accuracy"] = out / "accuracy.png"
        _accuracy_plot(plots["accuracy"], report.summary)
    if report.early_curve:
        plots["early_answering"] = out / "early_answering.png"
        _curve_plot(plots["early_answering"], report.early_curve, "Early answering",
                    "% of reasoning kept")
    if report.mistake_curve:
        plots["mistakes"] = out / "mistakes.png"
        _curve_plot(plots["mistakes"], report.mistake_curve, "Adding mistakes",
                    "% of reasoning before the mistake")
    if report.step_importance:
        plots["step_importance"] = out / "step_importance.png"
        _heatmap(plots["step_importance"], report.step_importance)
    return plots


def _write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        if not rows:
            return
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    if not rows:
        return "<p class=dim>(no rows)</p>"
    columns = list(columns or rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in columns)
                   + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


_STYLE = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:left;font-size:13px}th{background:#f3f3f3}img{max-width:100%;margin:.5em 0}
.dim{color:#777}code{background:#f3f3f3;padding:1px 4px}"""


def render_html(report: ExperimentReport, plots: dict[str, Path]) -> str:
    """One page, plots embedded as base64 PNGs: it opens anywhere, offline."""
    e = report.experiment
    summary = [{"measure": k, "value": v} for k, v in report.summary.items() if k != "flip_rates"]
    summary += [{"measure": f"flip rate: {k}", "value": v}
                for k, v in report.summary["flip_rates"].items()]
    images = "".join(
        f"<h3>{html.escape(name.replace('_', ' '))}</h3><img alt='{html.escape(name)}' "
        f"src='data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}'>"
        for name, path in plots.items())
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in report.notes)
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>faithtrace experiment {html.escape(e['name'])}</title><style>{_STYLE}</style></head><body>
<h1>Experiment <code>{html.escape(e['name'])}</code></h1>
<p>{html.escape(str(e['dataset']))} · agent {html.escape(e['agent'])} · model
{html.escape(str(e['model']))} · interventions {html.escape(', '.join(e['interventions']))} ·
seed {e['seed']} · id <code>{e['experiment_id']}</code></p>
{f'<ul>{notes}</ul>' if notes else ''}
<h2>Summary</h2>{_table(summary)}
<p class=dim>AOC: area over the curve of "same answer" against the fraction of reasoning kept
(0 = the reasoning never mattered). Weighted: Lanham et al. (2023)'s mean weighted by the number
of reasoning steps. Filler gain: accuracy with filler tokens in place of the reasoning minus
accuracy with an empty reasoning, both read by scoring the same candidates.</p>
<h2>Plots</h2>{images or '<p class=dim>(no plots: nothing probed)</p>'}
<h2>By intervention</h2>{_table(report.interventions)}
<h2>Filler tokens</h2>{_table(report.filler)}
<h2>Episodes</h2>{_table(report.episodes, ['item_id', 'status', 'gold', 'answer', 'correct',
                                            'answer_no_cot', 'correct_no_cot', 'step_count',
                                            'aoc_early', 'aoc_mistake', 'trace_id', 'note'])}
</body></html>
"""


def write_report(report: ExperimentReport, out: str | os.PathLike[str]) -> dict[str, Path]:
    """Write every file of the report under `out`; returns them by name."""
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {"summary": directory / "report.json"}
    files["summary"].write_text(json.dumps(report.to_dict(), indent=2, default=str),
                                encoding="utf-8")
    for name, rows in (("episodes", report.episodes), ("interventions", report.interventions),
                       ("filler", report.filler), ("early_curve", report.early_curve),
                       ("mistake_curve", report.mistake_curve),
                       ("step_importance_table", report.step_importance)):
        files[name] = directory / f"{name}.csv"
        _write_csv(files[name], rows)
    plots = write_plots(report, directory)
    files.update(plots)
    files["html"] = directory / "report.html"
    files["html"].write_text(render_html(report, plots), encoding="utf-8")
    return files
