"""``fhesim ckks precision`` at the insecure toy set, through the real CLI entry point."""
from __future__ import annotations

import json

import pytest

from sim.cli import main
from sim.commands.ckks import poly_start_level

STAGES = ["encode/decode", "encrypt/decrypt", "mul+relin+rescale", "rotate(1)", "conjugate",
          "poly63 (vs polynomial)"]


def test_precision_json(capsys):
    rc = main(["ckks", "precision", "--params", "toy-n10", "--allow-insecure", "--json", "--seed", "3"])
    cap = capsys.readouterr()
    assert rc == 0
    assert "INSECURE" in cap.err
    doc = json.loads(cap.out)
    rows = {r["stage"]: r for r in doc["rows"]}
    assert list(rows) == STAGES
    for r in rows.values():
        assert r["worst_bits"] <= r["mean_bits"]
        assert r["max_abs_err"] == pytest.approx(2.0 ** -r["worst_bits"], rel=0.02)
    # encoding alone is far more precise than anything involving encryption noise
    assert rows["encode/decode"]["worst_bits"] > 22
    for stage in STAGES[1:]:
        assert 10 < rows[stage]["worst_bits"] < rows["encode/decode"]["mean_bits"]
    assert rows["mul+relin+rescale"]["level"] == 11
    assert rows["poly63 (vs polynomial)"]["level"] == 8 - 6  # depth 6 from level 8 (see start level)
    assert any("poly63" in n for n in doc["notes"])


def test_precision_table_and_refusals(capsys):
    assert main(["ckks", "precision", "--params", "toy-n10", "--allow-insecure"]) == 0
    out = capsys.readouterr().out
    assert "mean_bits" in out and "worst_bits" in out and "rotate(1)" in out
    assert main(["ckks", "precision", "--params", "toy-n10"]) == 2
    assert "INSECURE" in capsys.readouterr().err
    assert main(["ckks", "precision", "--params", "no-such-set", "--allow-insecure"]) == 2
    assert "unknown parameter set" in capsys.readouterr().err


def test_poly_start_level(insecure_params):
    from sw.ckks import CkksParams
    p10 = insecure_params("toy-n10")
    p12 = insecure_params("toy-n12")
    assert poly_start_level(p10, 6) == 8      # levels 1..8 hold one prime each
    assert poly_start_level(p12, 6) == 17     # 14 app + 3 StC single-prime levels
    assert isinstance(p12, CkksParams)


def test_precision_at_a_two_prime_top_group(capsys):
    """The bootstrapping layouts (``n16-128``, ``toy-boot-*``) end in a 2-prime group (~2^60):
    the product's operands are encoded at that scale so that mul + rescale is legal (the
    report once refused these sets with a ScaleError)."""
    rc = main(["ckks", "precision", "--params", "toy-boot-n10", "--allow-insecure", "--json"])
    assert rc == 0
    rows = {r["stage"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    mul = rows["mul+relin+rescale"]
    assert mul["level"] == 29 and abs(mul["log2_scale"] - 60) < 0.1
    assert mul["mean_bits"] > 40          # at scale 2^60 the product is far more precise
