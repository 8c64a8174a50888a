"""fhesim infer checks its arguments before any work; --jsonl never gets duplicate images;
--resume skips the images already in the file and refuses a file of another run."""
import json

import pytest

import sw.nn.infer as swinfer
from sim.cli import main

BASE = ["infer", "--params", "toy-boot-n11", "--allow-insecure", "--json"]
FIELDS = dict(model="resnet20", geometry="digits8", params="toy-boot-n11", method="composite", degree=15)


@pytest.fixture
def no_run(monkeypatch):
    """Fail the test if an inference (key generation) would start."""
    def boom(*a, **k):
        raise AssertionError("run_infer was called")
    monkeypatch.setattr(swinfer, "run_infer", boom)


@pytest.mark.parametrize("extra, msg", [
    (["--start", "-3", "--images", "2"], r"--start -3: .*\[0, 359\]"),
    (["--start", "-1", "--images", "1"], r"--start -1: .*\[0, 359\]"),
    (["--start", "100000"], r"--start 100000: .*\[0, 359\]"),
    (["--images", "0"], r"--images 0: .*\[1, 360\]"),
    (["--start", "359", "--images", "2"], r"--images 2: .*\[1, 1\]"),
    (["--jsonl", "/nonexistent-dir/x.jsonl"], r"--jsonl /nonexistent-dir/x.jsonl: cannot open"),
    (["--resume"], r"--resume needs --jsonl"),
])
def test_bad_arguments_refused_before_work(no_run, capsys, extra, msg):
    assert main(BASE + extra) == 2
    import re
    assert re.search(msg, capsys.readouterr().err)


def _row(i, **over):
    return {**FIELDS, "image": i, "label": 0, "top1_encrypted": 0, "top1_plain": 0, "top1_plain_poly": 0,
            "max_logit_err": 0.01, "max_logit_err_vs_exact": 0.1, "bootstraps": 1, "levels_used": 9,
            "seconds": 1.0, **over}


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_rerun_without_resume_refused(no_run, tmp_path, capsys):
    f = tmp_path / "r.jsonl"
    _write(f, [_row(0)])
    assert main(BASE + ["--jsonl", str(f)]) == 2
    err = capsys.readouterr().err
    assert "already holds 1 result rows" in err and "--resume" in err and str(f) in err
    assert len(f.read_text().splitlines()) == 1


@pytest.mark.parametrize("field, value", [("model", "resnet32"), ("params", "toy-boot-n12"),
                                          ("method", "data-guided"), ("geometry", "cifar32"), ("degree", 7)])
def test_resume_refuses_other_run(no_run, tmp_path, capsys, field, value):
    f = tmp_path / "r.jsonl"
    _write(f, [_row(0, **{field: value})])
    assert main(BASE + ["--jsonl", str(f), "--resume"]) == 2
    assert f"{field}={value!r}" in capsys.readouterr().err


def test_resume_all_done_computes_nothing(no_run, tmp_path, capsys):
    f = tmp_path / "r.jsonl"
    _write(f, [_row(0), _row(1)])
    assert main(BASE + ["--jsonl", str(f), "--resume", "--images", "2"]) == 0
    assert "nothing to do" in capsys.readouterr().err


def test_resume_skips_done_images(monkeypatch, tmp_path, capsys):
    f = tmp_path / "r.jsonl"
    _write(f, [_row(0), _row(2)])
    seen = {}

    def fake(model, geometry, params, images, *, start, skip, on_image, **kw):
        seen["todo"] = [i for i in range(start, start + images) if i not in skip]
        rows = [_row(i) for i in seen["todo"]]
        for r in rows:
            on_image(r)
        return dict(images=rows, **swinfer.summarize(rows))

    monkeypatch.setattr(swinfer, "run_infer", fake)
    assert main(BASE + ["--jsonl", str(f), "--resume", "--images", "4"]) == 0
    assert seen["todo"] == [1, 3]
    out = json.loads(capsys.readouterr().out)
    assert [r["image"] for r in out["images"]] == [0, 1, 2, 3]
    assert sorted(json.loads(x)["image"] for x in f.read_text().splitlines()) == [0, 1, 2, 3]


def test_damaged_jsonl_named(no_run, tmp_path, capsys):
    f = tmp_path / "r.jsonl"
    f.write_text(json.dumps(_row(0)) + "\n{\"image\": 1, trunc")
    assert main(BASE + ["--jsonl", str(f), "--resume"]) == 2
    assert f"{f}: line 2 is not JSON" in capsys.readouterr().err


def test_check_image_range_library():
    swinfer.check_image_range(0, 360, 360)
    with pytest.raises(ValueError, match="--start"):
        swinfer.check_image_range(-1, 1, 360)
