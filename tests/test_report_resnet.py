"""fhesim report: the encrypted-ResNet section (per preset, per block and part, anchors), fed
with a real ResNet-20 dry-run trace file (digits8 on a small ring, to stay fast)."""
from __future__ import annotations

import warnings

import pandas as pd
import pytest

from sim.cli import main as cli_main

BLOCKS = ["stem"] + [f"layer{s}.{b}" for s in (1, 2, 3) for b in range(3)] + ["head"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from sw.nn.trace import dry_run_trace

    traces = tmp_path_factory.mktemp("traces")
    out = tmp_path_factory.mktemp("report")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = dry_run_trace(model="resnet20", geometry="digits8", params="toy-boot-n11", allow_insecure=True)
    rec.to_json(str(traces / "resnet20.json.gz"), version=2)
    assert cli_main(["report", "--out", str(out), "--quick", "--traces", str(traces)]) == 0
    return out


def test_resnet_files(report):
    for name in ("resnet.csv", "resnet_layers.csv", "resnet_anchors.csv", "resnet_by_kernel.png",
                 "resnet_by_stage.png", "resnet_layers_craterlake.png", "resnet_layers_u280.png"):
        assert (report / name).is_file(), name
    assert (report / "resnet_by_stage.png").read_bytes()[:4] == b"\x89PNG"
    wl = pd.read_csv(report / "workloads.csv").set_index("workload")
    assert wl.loc["resnet20", "status"] == "available" and wl.loc["resnet20", "source"].startswith("trace file")
    md = (report / "report.md").read_text()
    assert "## 2b. Encrypted ResNets" in md and "![resnet_layers_craterlake.png](resnet_layers_craterlake.png)" in md


def test_layers_add_up_to_the_latency(report):
    lat = pd.read_csv(report / "latency.csv")
    layers = pd.read_csv(report / "resnet_layers.csv")
    summary = pd.read_csv(report / "resnet.csv")
    # presets with [algorithm] options (sharp, ark) are refused on a trace file: it records one
    # algorithm (tests/test_report.py); craterlake and u280 trace fhesim's defaults
    for preset in ("craterlake", "u280"):
        row = lat[(lat.preset == preset) & (lat.workload == "resnet20")].iloc[0]
        d = layers[(layers.preset == preset) & (layers.workload == "resnet20")]
        assert sorted(set(d["block"]), key=BLOCKS.index) == BLOCKS
        assert set(d["part"]) == {"linear", "activation", "bootstrap", "add"}
        assert d["cycles"].sum() == row["cycles"]
        # every block but the stem has its bootstrap(s); the stem input is fresh
        boots = d[d.part == "bootstrap"].groupby("block")["cycles"].sum()
        assert "stem" not in boots.index and (boots[[b for b in BLOCKS if b.startswith("layer")]] > 0).all()
        s = summary[(summary.preset == preset) & (summary.model == "resnet20")].iloc[0]
        shares = s[["linear_share", "activation_share", "bootstrap_share", "add_share"]].sum()
        assert shares == pytest.approx(1.0)
        assert s["latency_s"] == pytest.approx(row["ms"] / 1e3)


def test_resnet_anchors_have_sources(report):
    comp = pd.read_csv(report / "resnet_anchors.csv")
    assert comp["source"].notna().all()
    assert {"SHARP (ISCA 2023)", "fhesim model: craterlake"} <= set(comp["system"])
    assert comp.loc[comp.system == "SHARP (ISCA 2023)", "resnet20"].iloc[0] == 0.099
    assert comp.loc[comp.system.str.startswith("Lee et al. (ICML 2022), rerun by AutoFHE, amortized"),
                    "resnet44"].iloc[0] == 251.0
