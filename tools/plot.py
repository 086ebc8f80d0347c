#!/usr/bin/env python3
"""Draws the push-versus-pull plots from `canopy bench` results.

Usage: plot.py push-vs-pull DIR   (reads DIR/results.json, writes DIR/*.png)
       plot.py tradeoff DIR       (reads DIR/tradeoff.json, writes DIR/tradeoff.png)

Each plot answers one question a newcomer asks: which mode is faster (delay CDF),
how much buffering each needs (continuity against playout delay), and which survives
failure (continuity over time).
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"direct": "#444444", "tree": "#1b9e77", "mesh-donet": "#d95f02", "mesh-chainsaw": "#7570b3"}


def colour(name):
    return COLOURS.get(name, None)


def delay_cdf(results, out):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, report in results["modes"].items():
        cdf = report.get("delay_cdf") or []
        if not cdf:
            continue
        xs = [p[0] for p in cdf]
        ys = [p[1] for p in cdf]
        ax.plot(xs, ys, label=name, color=colour(name), linewidth=2)
    ax.set_xscale("log")
    ax.set_xlabel("delivery delay (ms, log scale): generation at the source to arrival at a peer")
    ax.set_ylabel("fraction of (peer, chunk) deliveries")
    ax.set_title(f"Delay CDF — {results.get('nodes', '?')} nodes (further left is faster)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "delay_cdf.png"), dpi=120)
    plt.close(fig)


def continuity_vs_delay(results, out):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, report in results["modes"].items():
        points = sorted((float(d), c) for d, c in (report.get("continuity") or {}).items() if c is not None)
        if not points:
            continue
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name, color=colour(name), linewidth=2)
    ax.set_xscale("log")
    ax.set_xlabel("playout delay D (s, log scale)")
    ax.set_ylabel("continuity index (chunks on time / due)")
    ax.set_title("Continuity against playout delay (higher is better)")
    ax.axhline(0.99, color="red", linestyle=":", linewidth=1, label="0.99")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "continuity_vs_delay.png"), dpi=120)
    plt.close(fig)


def timeline(results, out):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    drawn = False
    for name, report in results["modes"].items():
        points = [(b["t_s"], b["continuity"]) for b in report.get("timeline") or [] if b.get("continuity") is not None]
        if not points:
            continue
        drawn = True
        ax.plot([p[0] for p in points], [p[1] for p in points], marker=".", label=name, color=colour(name), linewidth=2)
    for event in results.get("churn_marks", []):
        ax.axvline(event, color="red", linestyle="--", linewidth=1)
        ax.annotate("failure", (event, 0.02), color="red", xycoords=("data", "axes fraction"))
    if not drawn:
        plt.close(fig)
        return
    ax.set_xlabel("time since the run started (s)")
    ax.set_ylabel("continuity of chunks generated in each 10 s")
    ax.set_title("Continuity over time (a dip is a failure; the climb back is repair)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "continuity_over_time.png"), dpi=120)
    plt.close(fig)


def tradeoff(points, out):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    series = {}
    for p in points["points"]:
        series.setdefault(p["series"], []).append(p)
    for name, pts in series.items():
        pts.sort(key=lambda p: p["control_overhead"])
        xs = [p["control_overhead"] for p in pts]
        ax.plot(xs, [p["delay_p50_ms"] for p in pts], marker="o", label=f"{name} p50", color=colour(name), linewidth=2)
        ax.plot(xs, [p["delay_p90_ms"] for p in pts], marker="x", linestyle="--", label=f"{name} p90",
                color=colour(name), linewidth=1)
        for p in pts:
            ax.annotate(p["label"], (p["control_overhead"], p["delay_p50_ms"]), fontsize=7, alpha=0.7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("control overhead (control bytes / data bytes, log scale)")
    ax.set_ylabel("delivery delay (ms, log scale)")
    ax.set_title("Latency against overhead (down and left is better)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "tradeoff.png"), dpi=120)
    plt.close(fig)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("push-vs-pull", "tradeoff"):
        sys.exit("usage: plot.py push-vs-pull|tradeoff DIR")
    kind, out = sys.argv[1], sys.argv[2]
    if kind == "push-vs-pull":
        with open(os.path.join(out, "results.json")) as f:
            results = json.load(f)
        delay_cdf(results, out)
        continuity_vs_delay(results, out)
        timeline(results, out)
    else:
        with open(os.path.join(out, "tradeoff.json")) as f:
            tradeoff(json.load(f), out)


if __name__ == "__main__":
    main()
