"""The Pareto plot of an exploration (:mod:`sim.explore`)."""
from __future__ import annotations

from .search import front_2d

def plot_front(result: ExploreResult, path=None, *, anchors: dict | None = None, save=None) -> None:
    """Latency vs DSP and vs LUT of every fitting design, the Pareto fronts, the preset, the
    lower bound and (``anchors``: label -> seconds) reference latencies; written to ``path``,
    or handed to ``save(fig)``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = result.table[result.table["fits"]]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    for ax, res in zip(axes, ("dsp", "lut")):
        budget = result.budget.get(res)
        f = front_2d(t, res)
        ax.scatter(t[res], t["latency_s"], s=8, color="0.7", label="fitting designs")
        ax.step(f[res], f["latency_s"], where="post", color="C0", lw=1)
        ax.plot(f[res], f["latency_s"], "o", color="C0", ms=4, label=f"Pareto front (latency vs {res.upper()})")
        b = result.best
        ax.scatter([b[res]], [b["latency_s"]], marker="*", s=160, color="C3", zorder=5,
                   label=f"best: {b['latency_s']:.3g} s")
        p = result.preset
        if p.get("fits"):
            ax.scatter([p[res]], [p["latency_s"]], marker="s", s=40, color="C2", zorder=5,
                       label=f"{result.device} preset: {p['latency_s']:.3g} s")
        ax.axhline(result.bound["bound_s"], color="k", ls="--", lw=1,
                   label=f"lower bound (RTL multiplier): {result.bound['bound_s']:.3g} s")
        ax.axhline(result.bound["floor_s"], color="k", ls=":", lw=1,
                   label=f"floor (1 product per mult): {result.bound['floor_s']:.3g} s")
        for i, (name, sec) in enumerate((anchors or {}).items()):
            ax.axhline(sec, color=f"C{4 + i}", ls="-.", lw=1, label=f"{name}: {sec:g} s")
        ax.set_yscale("log")
        ax.set_xlabel(f"{res.upper()} used" + (f" (of {budget:,})" if budget else ""))
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel(f"{result.workload} latency (s)")
    axes[1].legend(fontsize=7, loc="upper right")
    fig.suptitle(f"{result.workload} on {result.device} designs ({result.base.clock_mhz:g} MHz, "
                 f"{result.base.off_chip_gbps:g} GB/s): {int(len(t))} fitting of {len(result.table)} explored",
                 fontsize=10)
    fig.tight_layout()
    if save is not None:
        save(fig)
        return
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
