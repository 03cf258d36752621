"""Figures for docs/performance.md (matplotlib, PNG): throughput, routing cost, per-test overhead, scaling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._harness import Section

__all__ = ["write_plots"]


def write_plots(sections: list[Section], out: Path) -> tuple[dict[str, str], str | None]:
    """Draw what the sections measured into `out`; the file name per section key, or why none were drawn."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ModuleNotFoundError:
        return {}, "matplotlib is not installed (pip install -e '.[bench]'): no plots"
    drawers = {"throughput": _throughput, "latency": _latency, "routing": _routing, "overhead": _overhead,
               "scaling": _scaling}
    written: dict[str, str] = {}
    for section in sections:
        draw = drawers.get(section.key)
        if draw is None or not section.plot:
            continue
        figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
        if not draw(axes, section.plot):
            plt.close(figure)
            continue
        figure.tight_layout()
        name = f"performance-{section.key}.png"
        figure.savefig(out / name)
        plt.close(figure)
        written[section.key] = name
    return written, None


def _barh(axes: Any, values: dict[str, float], xlabel: str, title: str) -> bool:
    if not values:
        return False
    names = list(values)[::-1]
    bars = axes.barh(names, [values[n] for n in names],
                     color=["tab:blue" if "memq" in n else "tab:gray" for n in names])
    axes.set_xscale("log")
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    axes.bar_label(bars, labels=[f"{values[n]:,.0f}" if values[n] >= 10 else f"{values[n]:.1f}" for n in names],
                   padding=3, fontsize=8)
    axes.margins(x=0.25)
    return True


def _throughput(axes: Any, plot: dict[str, Any]) -> bool:
    return _barh(axes, plot["rates"], "messages per second (log scale; more is better)",
                 "publish -> deliver -> ack, 100-byte bodies")


def _latency(axes: Any, plot: dict[str, Any]) -> bool:
    return _barh(axes, {k: v * 1e6 for k, v in plot["per_op"].items()},
                 "microseconds per basic_get + ack (log scale; less is better)", "basic_get + ack round trip")


def _overhead(axes: Any, plot: dict[str, Any]) -> bool:
    return _barh(axes, {k: v * 1e6 for k, v in plot["each"].items()},
                 "microseconds per fresh broker/connection + channel (log scale; less is better)",
                 "per-test overhead")


def _lines(axes: Any, curves: dict[str, dict[int, float]], xlabel: str, title: str,
           ylabel: str = "microseconds per message (log scale)", log_y: bool = True) -> bool:
    import matplotlib.ticker

    drawn = False
    for name, curve in curves.items():
        if curve:
            xs = sorted(curve)
            axes.plot(xs, [curve[x] * 1e6 for x in xs], marker="o", label=name)
            drawn = True
    axes.set_xscale("log")
    if log_y:
        axes.set_yscale("log")
        plain = matplotlib.ticker.FuncFormatter(lambda value, _position: f"{value:g}")
        axes.yaxis.set_major_formatter(plain)
        axes.yaxis.set_minor_formatter(plain)
        axes.tick_params(axis="y", which="minor", labelsize=7)
    else:
        axes.set_ylim(bottom=0)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    return drawn


def _routing(axes: Any, plot: dict[str, Any]) -> bool:
    curves = {"memq (CPU time)": plot["curves"]["memq"], "RabbitMQ (wall-clock time)": plot["curves"]["RabbitMQ"]}
    return _lines(axes, curves, "bindings on the topic exchange", "topic routing cost per message")


def _scaling(axes: Any, plot: dict[str, Any]) -> bool:
    return _lines(axes, plot["curves"], "N (idle queues, consumers, unacked or ready messages)",
                  "memq: cost per message as the broker grows", "CPU microseconds per message", log_y=False)
