"""Markdown rendering of the report's tables (:mod:`sim.report.build`).

Cells are formatted here (floats with ``floatfmt``, NaN empty, integers with thousands
separators, everything else as ``str``) and laid out by ``DataFrame.to_markdown`` (a pipe
table); the numbers are those of the CSV files, formatted.
"""
from __future__ import annotations

import math

import pandas as pd


def _cell(v, floatfmt: str) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else floatfmt.format(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def md_table(df: pd.DataFrame, floatfmt: str = "{:,.3f}") -> str:
    """``df`` as a Markdown pipe table (see the module docstring)."""
    cols = list(df.columns)
    cells = pd.DataFrame([[_cell(r[c], floatfmt) for c in cols] for _, r in df.iterrows()],
                         columns=[str(c) for c in cols], dtype=object)
    return cells.to_markdown(index=False, disable_numparse=True, stralign="left")
