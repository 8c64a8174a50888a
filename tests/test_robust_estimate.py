"""fhesim estimate names the file in every input error and exits 2."""
import random

import pytest

from sim.cli import main


@pytest.mark.parametrize("name, blob, opt", [
    ("bin.toml", random.Random(7).randbytes(64) + b"\xff\xfe", "--config"),   # seeded: one test id on every collector
    ("bad.toml", b'name = "x"\n', "--config"),
    ("empty.json", b"", "--trace"),
    ("bin.json", b"\x1f\x8b\x00garbage", "--trace"),
    ("shape.json", b'{"format": "fhesim-trace-2", "events": [[0, 0]]}', "--trace"),
    ("bad.json.gz", b"not gzip", "--trace"),
])
def test_bad_file_named_exit_2(tmp_path, capsys, name, blob, opt):
    p = tmp_path / name
    p.write_bytes(blob)
    argv = ["estimate", opt, str(p)] + (["--config", "sharp"] if opt == "--trace" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(p) in err and "Traceback" not in err
