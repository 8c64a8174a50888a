"""In-order scoreboard: golden expectations vs. monitored output beats.

Expectations are queued as packed integers (cheap to compare); only on a mismatch is the
beat decoded into its fields, so a report names the place (transform / beat / lane /
element, or vector index and inputs) and the expected and observed values.

Counted failures:

* ``mismatched_beats`` -- an output beat whose value differs from its expectation
  (``mismatched_words`` counts the differing fields/lanes inside them);
* ``unexpected`` -- an output beat with no outstanding expectation (duplicate, stale
  data after a reset, spurious ``valid``);
* ``missing`` -- expectations still outstanding at the end of a phase (lost beats).

``flush()`` (at a reset) discards outstanding expectations without counting them: the
reset is allowed to drop work in flight.
"""
from __future__ import annotations

from collections import deque

from .stream import Codec


class Scoreboard:
    def __init__(self, codec: Codec, *, max_records: int = 8):
        self.codec = codec
        self.expected: deque = deque()
        self.max_records = max_records
        self.records: list[dict] = []
        self.beats_checked = 0
        self.words_checked = 0
        self.mismatched_beats = 0
        self.mismatched_words = 0
        self.unexpected = 0
        self.missing = 0
        self.flushed = 0
        self._nfields = len(codec.fields)
        self.on_match = None       # optional callback(info, edge) for every compared beat

    @property
    def failures(self) -> int:
        return self.mismatched_beats + self.unexpected + self.missing

    def expect(self, raw: int, info: dict) -> None:
        self.expected.append((raw, info))

    def _record(self, rec: dict) -> None:
        if len(self.records) < self.max_records:
            self.records.append(rec)

    def observe(self, raw: int, edge: int) -> None:
        if not self.expected:
            self.unexpected += 1
            self._record({"kind": "unexpected output", "edge": edge,
                          "got": {k: v for k, v in self.codec.unpack(raw).items()}})
            return
        exp, info = self.expected.popleft()
        self.beats_checked += 1
        self.words_checked += self._nfields
        if raw != exp:
            got_f, exp_f = self.codec.unpack(raw), self.codec.unpack(exp)
            diffs = [{"field": p, "expected": exp_f[p], "got": got_f[p]}
                     for p in self.codec.paths if got_f[p] != exp_f[p]]
            self.mismatched_beats += 1
            self.mismatched_words += len(diffs)
            self._record({"kind": "value mismatch", "edge": edge, **info, "fields": diffs})
        if self.on_match is not None:
            self.on_match(info, edge)

    def close_phase(self, phase: str) -> None:
        """Count what is still expected as missing (call once a phase has drained)."""
        while self.expected:
            _, info = self.expected.popleft()
            self.missing += 1
            self._record({"kind": "missing output", "phase": phase, **info})

    def flush(self) -> int:
        n = len(self.expected)
        self.flushed += n
        self.expected.clear()
        return n

    def summary(self) -> dict:
        return {
            "beats_checked": self.beats_checked,
            "words_checked": self.words_checked,
            "mismatched_beats": self.mismatched_beats,
            "mismatched_words": self.mismatched_words,
            "unexpected_outputs": self.unexpected,
            "missing_outputs": self.missing,
            "flushed_by_reset": self.flushed,
            "mismatches": self.failures,
            "first_mismatch": self.records[0] if self.records else None,
            "mismatch_examples": self.records,
        }
