"""The report's figures (matplotlib; :mod:`sim.report.build` saves them): stacked
breakdowns, the encrypted ResNets by stage and by block, the lanes x bandwidth heat map."""
from __future__ import annotations

import math

import pandas as pd

from .tables import RESNET_PARTS, RESNET_STAGES


def stacked(df, seg_col, title, name, lat, plt, save_fig) -> None:
    """Stacked bars of ``df``'s cycles by ``seg_col`` (shares; the 12 largest segments and
    ``other``), one bar per (preset, workload), its total from ``lat`` above it."""
    if not len(df):
        return
    df = df.assign(bar=df["preset"] + "\n" + df["workload"])
    piv = df.pivot_table(index="bar", columns=seg_col, values="cycles", aggfunc="sum", fill_value=0)
    order = list(dict.fromkeys(df["bar"]))
    piv = piv.loc[order]
    share = piv.div(piv.sum(axis=1), axis=0) * 100
    top = share.sum().sort_values(ascending=False).index.tolist()
    if len(top) > 12:
        share["other"] = share[top[12:]].sum(axis=1)
        share = share[top[:12] + ["other"]]
    else:
        share = share[top]
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(order) + 3), 5))
    bottom = pd.Series(0.0, index=share.index)
    cmap = plt.get_cmap("tab20")
    for i, col in enumerate(share.columns):
        ax.bar(range(len(share)), share[col], bottom=bottom, label=str(col), color=cmap(i % 20))
        bottom += share[col]
    totals = lat.assign(bar=lat["preset"] + "\n" + lat["workload"]).set_index("bar")["ms"]
    for i, b in enumerate(share.index):
        ax.text(i, 101, f"{totals[b]:.3g} ms", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(share)))
    ax.set_xticklabels(share.index, fontsize=7)
    ax.set_ylabel("share of projected latency (%)")
    ax.set_ylim(0, 110)
    ax.set_title(title)
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    save_fig(fig, name)


def _block_key(block: str) -> tuple:
    if block == "stem":
        return (0, 0, 0)
    if block.startswith("layer"):
        s, _, i = block[5:].partition(".")
        return (1, int(s or 0), int(i or 0))
    return (2, 0, 0)


def _resnet_plots(layers: pd.DataFrame, lat: pd.DataFrame, plt, save_fig) -> list[str]:
    """Stacked bars of the ResNet workloads: by stage group x part (shares, every preset and
    model) and per block (absolute, one figure per preset). Returns the figure names."""
    names = []
    if not len(layers):
        return names
    models = sorted(set(layers["workload"]), key=lambda m: int(m[6:]) if m[6:].isdigit() else 0)
    presets = list(dict.fromkeys(layers["preset"]))
    part_shade = {"linear": 0.85, "activation": 0.65, "bootstrap": 0.45, "add": 0.25}
    stage_cmap = {"stem": "Greys", "layer1": "Blues", "layer2": "Greens", "layer3": "Oranges", "head": "Purples"}

    # shares by stage group x part, one bar per (preset, model)
    seg = layers.assign(segment=layers["stage"] + " " + layers["part"],
                        bar=layers["preset"] + "\n" + layers["workload"])
    bars = [f"{p}\n{m}" for p in presets for m in models if ((seg["preset"] == p) & (seg["workload"] == m)).any()]
    piv = seg.pivot_table(index="bar", columns="segment", values="cycles", aggfunc="sum", fill_value=0).loc[bars]
    share = piv.div(piv.sum(axis=1), axis=0) * 100
    cols = [f"{s} {p}" for s in RESNET_STAGES for p in RESNET_PARTS if f"{s} {p}" in share.columns]
    fig, ax = plt.subplots(figsize=(max(8, 0.55 * len(bars) + 4), 5.5))
    bottom = pd.Series(0.0, index=share.index)
    for col in cols:
        s, p = col.split(" ")
        ax.bar(range(len(share)), share[col], bottom=bottom, label=col,
               color=plt.get_cmap(stage_cmap[s])(part_shade[p]), edgecolor="white", linewidth=0.3)
        bottom += share[col]
    tot = lat.assign(bar=lat["preset"] + "\n" + lat["workload"]).set_index("bar")["ms"]
    for i, b in enumerate(share.index):
        v = tot.get(b, float("nan")) / 1e3
        ax.text(i, 101, f"{v:.3g} s", ha="center", va="bottom", fontsize=6, rotation=90)
    ax.set_xticks(range(len(share)))
    ax.set_xticklabels([b.replace("resnet", "R") for b in share.index], fontsize=6)
    ax.set_ylabel("share of projected latency (%)")
    ax.set_ylim(0, 118)
    ax.set_title("Encrypted ResNets (cifar32, n16-128): latency by stage and part; total above each bar")
    ax.legend(fontsize=6, bbox_to_anchor=(1.01, 1), loc="upper left", ncol=1)
    save_fig(fig, "resnet_by_stage.png")
    names.append("resnet_by_stage.png")

    # per block, absolute, one figure per preset
    colors = {"linear": "#4C72B0", "activation": "#DD8452", "bootstrap": "#C44E52", "add": "#8C8C8C"}
    for preset in presets:
        sub = layers[layers["preset"] == preset]
        ms = [m for m in models if (sub["workload"] == m).any()]
        if not ms:
            continue
        fig, axes = plt.subplots(len(ms), 1, figsize=(14, 2.3 * len(ms) + 0.6), squeeze=False)
        for ax, m in zip(axes[:, 0], ms):
            d = sub[sub["workload"] == m]
            piv = d.pivot_table(index="block", columns="part", values="ms", aggfunc="sum", fill_value=0.0)
            piv = piv.loc[sorted(piv.index, key=_block_key)]
            bottom = pd.Series(0.0, index=piv.index)
            for p in RESNET_PARTS:
                if p in piv.columns:
                    ax.bar(range(len(piv)), piv[p], bottom=bottom, color=colors[p], label=p, width=0.85)
                    bottom += piv[p]
            total = float(d["ms"].sum())
            ax.set_xlim(-0.6, len(piv) - 0.4)
            ax.set_xticks(range(len(piv)))
            ax.set_xticklabels([b.replace("layer", "") for b in piv.index], fontsize=6 if len(piv) > 30 else 7,
                               rotation=90)
            ax.set_ylabel("ms", fontsize=7)
            ax.tick_params(axis="y", labelsize=7)
            ax.set_title(f"{m}: {total / 1e3:.3g} s on {preset}; ms per block (stem, <stage>.<block>, "
                         f"head = pooling + FC); a bootstrap counts in the block that needs it",
                         fontsize=8, loc="left")
        handles, labels_ = axes[0, 0].get_legend_handles_labels()
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
        fig.legend(handles, labels_, fontsize=8, ncol=len(labels_), loc="upper center",
                   bbox_to_anchor=(0.5, 1.0), frameon=False)
        name = f"resnet_layers_{preset}.png"
        save_fig(fig, name)
        names.append(name)
    return names


def sweep_plot(sweep, name: str, base_lanes: int, plt, save_fig) -> None:
    """Heat map of the sweep (log colour; points that do not fit the U280 marked)."""
    piv = sweep.pivot(index="ntt_lanes", columns="off_chip_gbps", values="ms")
    fits = sweep.pivot(index="ntt_lanes", columns="off_chip_gbps", values="fits_u280")
    fig, ax = plt.subplots(figsize=(7, 5))
    im = ax.imshow([[math.log10(v) for v in row] for row in piv.values], cmap="viridis_r",
                   aspect="auto", origin="lower")
    for i, P in enumerate(piv.index):
        for j, g in enumerate(piv.columns):
            mark = "" if fits.loc[P, g] else "\n(no fit)"
            ax.text(j, i, f"{piv.loc[P, g]:.3g} ms{mark}", ha="center", va="center", fontsize=7,
                    color="white")
    ax.set_xticks(range(len(piv.columns)))
    ax.set_xticklabels([f"{g:g}" for g in piv.columns])
    ax.set_yticks(range(len(piv.index)))
    ax.set_yticklabels([str(p) for p in piv.index])
    ax.set_xlabel("off-chip bandwidth (GB/s)")
    ax.set_ylabel(f"NTT lanes P (other units' lanes x P/{base_lanes})")
    ax.set_title(f"{name} on the u280 design point, 300 MHz (log colour)")
    fig.colorbar(im, ax=ax, label="log10(ms)")
    save_fig(fig, "sweep_lanes_bandwidth.png")
