#!/usr/bin/env python3
"""Draws the push-versus-pull plots from `canopy bench` results.

Usage: plot.py push-vs-pull DIR   (reads DIR/results.json, writes DIR/*.png)
       plot.py tradeoff DIR       (reads DIR/tradeoff.json, writes DIR/tradeoff.png)

Each plot answers one question a newcomer asks, in its title: which mode is faster
(delay CDF), how much buffering each needs (continuity against playout delay), and
which survives failure (continuity of the survivors, second by second, around it).
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
from matplotlib.ticker import FixedLocator, NullLocator  # noqa: E402

COLOURS = {"direct": "#444444", "tree": "#1b9e77", "mesh-donet": "#d95f02", "mesh-chainsaw": "#7570b3"}
DESCRIPTIONS = {
    "direct": "direct (source unicasts to all: baseline)",
    "tree": "tree (push, SplitStream)",
    "mesh-donet": "mesh DONet (pull by buffer maps + substream push)",
    "mesh-chainsaw": "mesh Chainsaw (pull by HAVE + substream push)",
}


def colour(name):
    return COLOURS.get(name, None)


def describe(name):
    return DESCRIPTIONS.get(name, name)


def ms(value):
    if value is None:
        return "n/a"
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def setting(results):
    where = "real UDP on loopback" if results.get("transport") == "udp-loopback" else "simulated"
    churn = results.get("churn", "none")
    return f"{results.get('nodes', '?')} nodes, {where}" + ("" if churn == "none" else f", churn: {churn}")


def delay_cdf(results, out):
    fig, ax = plt.subplots(figsize=(8, 6.5))
    below_1ms = False
    for name, report in results["modes"].items():
        cdf = report.get("delay_cdf") or []
        below_1ms = below_1ms or any(p[0] < 1 for p in cdf)
        if not cdf:
            continue
        delay = report.get("delay_ms") or {}
        label = f"{describe(name)}: p50 {ms(delay.get('p50'))}, p90 {ms(delay.get('p90'))}"
        ax.plot([p[0] for p in cdf], [p[1] for p in cdf], label=label, color=colour(name), linewidth=2)
    if below_1ms:  # loopback: delays under a millisecond are recorded as 0 ms
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(left=0)
        scale = "log scale above 1 ms; 0 = under 1 ms"
    else:
        ax.set_xscale("log")
        scale = "log scale"
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"delivery delay (ms, {scale}): chunk generated at the source → received by a peer")
    ax.set_ylabel("fraction of (peer, chunk) deliveries\nwith at most this delay")
    ax.set_title(f"Which mode is fastest? Delay CDF ({setting(results)})\nthe curve further left is faster")
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "delay_cdf.png"), dpi=120)
    plt.close(fig)


def continuity_vs_delay(results, out):
    fig, ax = plt.subplots(figsize=(8, 6.5))
    delays = set()
    for name, report in results["modes"].items():
        points = sorted((float(d), c) for d, c in (report.get("continuity") or {}).items() if c is not None)
        if not points:
            continue
        delays.update(p[0] for p in points)
        d99 = (report.get("d99_ms") or {}).get("p50")
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", color=colour(name), linewidth=2,
                label=f"{describe(name)}: median peer reaches 0.99 at D = {ms(d99) if d99 is not None else 'never'}")
    ax.set_xscale("log")
    ticks = sorted(delays)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{t:g} s" for t in ticks])
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("playout delay D: how long a listener buffers before playing (s, log scale)")
    ax.set_ylabel("continuity index\n(fraction of chunks that arrived before their play time)")
    ax.set_title(f"How much buffering does each mode need? ({setting(results)})\nhigher is better; 1.0 = no gaps")
    ax.axhline(0.99, color="red", linestyle=":", linewidth=1, label="0.99 (about one gap every 100 chunks)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "continuity_vs_delay.png"), dpi=120)
    plt.close(fig)


def recovery(series, failure):
    """(baseline before, lowest after, seconds until back within 0.01 of the baseline for 3 s
    in a row: 0 when there was no dip, None when it never came back), or None without data."""
    before = [v for t, v in series if failure - 10 <= t < failure]
    after = [(t, v) for t, v in series if t >= failure]
    if not before or not after:
        return None
    baseline = sum(before) / len(before)
    lowest = min(v for _, v in after)
    target = baseline - 0.01
    if lowest >= target:
        return baseline, lowest, 0
    for i, (t, _) in enumerate(after):
        window = after[i:i + 3]
        if len(window) == 3 and all(v >= target for _, v in window):
            return baseline, lowest, t - failure
    return baseline, lowest, None


def continuity_over_time(results, out):
    per_second = results.get("continuity_per_second") or {}
    if results.get("churn", "none") == "none" or not per_second:
        return
    available = sorted({float(d) for series in per_second.values() for d in series})
    panels = [d for d in (1.0, 5.0) if d in available] or available[-1:]
    marks = results.get("churn_marks") or []
    failure = marks[0] if marks else None
    origin = failure if failure is not None else results.get("stream_start_s", 0)
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 6.5), sharey=True, squeeze=False)
    for ax, delay in zip(axes[0], panels):
        key = f"{delay:g}"
        for name, series in per_second.items():
            values = series.get(key) or []
            points = [(t, v) for t, v in enumerate(values) if v is not None]
            if not points:
                continue
            label = describe(name)
            if failure is not None:
                summary = recovery(points, failure)
                if summary:
                    baseline, lowest, back = summary
                    if back == 0:
                        label += f": {baseline:.2f} before, no dip"
                    else:
                        label += f": {baseline:.2f} before, fell to {lowest:.2f}, " + (
                            f"back after {back:.0f} s" if back is not None else "not back by the end")
            ax.plot([t - origin for t, _ in points], [v for _, v in points], label=label, color=colour(name),
                    linewidth=2, drawstyle="steps-post")
        if failure is not None:
            ax.axvline(0, color="red", linestyle="--", linewidth=1.5,
                       label=f"the failure (0 s): {results.get('churn_label', '')}")
            ax.set_xlabel("seconds since the failure (chunks grouped by when the source generated them)")
        else:
            ax.set_xlabel("seconds since the stream started (chunks grouped by when the source generated them)")
        ax.set_ylim(-0.02, 1.05)
        ax.set_title(f"with a {delay:g} s playout buffer")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=8, frameon=False)
    axes[0][0].set_ylabel("continuity of the peers that survive\n(fraction of chunks on time, per second)")
    fig.suptitle(f"Which mode survives failure? Continuity second by second ({setting(results)})\n"
                 "a dip is the failure hurting listeners who did not fail; the climb back is repair "
                 "(\"back\" = within 0.01 of the level before, 3 s in a row)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "continuity_over_time.png"), dpi=120)
    plt.close(fig)


SERIES = {
    "mesh-donet": ("DONet: buffer-map period", "-", "o"),
    "mesh-chainsaw": ("Chainsaw: HAVE batching", "-", "o"),
    "mesh-donet chunk": ("DONet: chunk duration", "-.", "s"),
    "mesh-chainsaw chunk": ("Chainsaw: chunk duration", "-.", "s"),
    "tree": ("tree (push): defaults", "", "*"),
}


def plain_log_axis(axis):
    formatter = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_formatter(formatter)
    axis.set_minor_formatter(formatter)


def tradeoff(points, out):
    series = {}
    for p in points["points"]:  # in sweep order: connecting them in that order follows the knob
        if p.get("control_overhead") is None or p.get("delay_p50_ms") is None:
            continue
        series.setdefault(p["series"], []).append(p)
    fig, axes = plt.subplots(1, 2, figsize=(13, 6.5), sharex=True, sharey=True)
    for ax, key, which in ((axes[0], "delay_p50_ms", "median (p50)"), (axes[1], "delay_p90_ms", "p90")):
        for name, pts in series.items():
            label, style, marker = SERIES.get(name, (name, "-", "o"))
            pts = [p for p in pts if p.get(key) is not None]
            if not pts:
                continue
            tree = name == "tree"
            ax.plot([p["control_overhead"] for p in pts], [p[key] for p in pts], linestyle=style or "none",
                    marker=marker, markersize=16 if tree else 6, color=colour(name.split(" ")[0]), linewidth=2,
                    label=label)
            for p in pts:
                text = p["label"].replace("map ", "").replace("HAVE ", "")
                ax.annotate(text, (p["control_overhead"], p[key]), fontsize=7, xytext=(4, 4), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain_log_axis(ax.xaxis)
        plain_log_axis(ax.yaxis)
        ax.tick_params(axis="both", which="minor", labelsize=7)
        ax.set_xlabel("control overhead (control bytes per data byte, log scale)")
        ax.set_title(f"{which} delivery delay")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("delivery delay (ms, log scale)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=9, frameon=False)
    fig.suptitle("The pull trade-off: less control traffic costs delay (down and left is better)\n"
                 "each line sweeps one knob, labels give its value; the star is the tree (push) on the same network")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
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
        stale = os.path.join(out, "continuity_over_time.png")
        if os.path.exists(stale):
            os.remove(stale)
        continuity_over_time(results, out)
    else:
        with open(os.path.join(out, "tradeoff.json")) as f:
            tradeoff(json.load(f), out)


if __name__ == "__main__":
    main()
