"""Data sets and input geometries of the encrypted ResNets.

Geometries
----------
* ``digits8``: the scikit-learn ``digits`` images as they ship (8 x 8, one channel).
* ``cifar32``: the same images upsampled to 32 x 32 (nearest neighbour, each pixel a
  4 x 4 block) and repeated over 3 channels: the input geometry of CIFAR-10 and of the
  paper (Lee et al., ICML 2022), trained on digits since nothing may download at run time.

Pixel values are divided by 16 (the digits' maximum), so model inputs lie in ``[0, 1]``.
The train/test split is fixed: 360 test images, stratified, ``random_state=0``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Geometry", "GEOMETRIES", "get_geometry", "load_digits_split", "to_geometry",
           "check_images", "InputError"]


class InputError(ValueError):
    """Images of the wrong shape, type or range for a model's geometry."""


@dataclass(frozen=True)
class Geometry:
    name: str
    channels: int
    size: int          # height = width

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, self.size, self.size)


GEOMETRIES = {"digits8": Geometry("digits8", 1, 8), "cifar32": Geometry("cifar32", 3, 32)}


def get_geometry(name: str) -> Geometry:
    if name not in GEOMETRIES:
        raise KeyError(f"unknown geometry {name!r}; known: {sorted(GEOMETRIES)}")
    return GEOMETRIES[name]


def to_geometry(images8: np.ndarray, geometry: str) -> np.ndarray:
    """``(B, 8, 8)`` digits in ``[0, 1]`` -> ``(B, C, S, S)`` float32 of the geometry."""
    g = get_geometry(geometry)
    x = np.asarray(images8, dtype=np.float32).reshape(-1, 8, 8)
    if g.size != 8:
        r = g.size // 8
        x = np.repeat(np.repeat(x, r, axis=1), r, axis=2)
    x = np.repeat(x[:, None], g.channels, axis=1)
    return np.ascontiguousarray(x, dtype=np.float32)


def load_digits_split(geometry: str = "digits8"):
    """``(x_train, y_train, x_test, y_test)`` in the geometry (inputs in [0, 1])."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = d.images.astype(np.float32) / 16.0
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=360, random_state=0, stratify=y)
    return to_geometry(xtr, geometry), ytr, to_geometry(xte, geometry), yte


def check_images(x, geometry: str) -> np.ndarray:
    """Validate a batch (or one image) for ``geometry``; returns ``(B, C, S, S)`` float64.

    Raises :class:`InputError` naming the expected shape or range.
    """
    g = get_geometry(geometry)
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"input images for {geometry}: not numeric") from None
    if a.shape == g.shape:
        a = a[None]
    if a.ndim != 4 or a.shape[1:] != g.shape:
        raise InputError(f"input images for {geometry}: expected shape (B, {g.channels}, {g.size}, "
                         f"{g.size}) or ({g.channels}, {g.size}, {g.size}), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"input images for {geometry}: non-finite values")
    lo, hi = float(a.min()), float(a.max())
    if lo < 0.0 or hi > 1.0:
        raise InputError(f"input images for {geometry}: values must lie in [0, 1] "
                         f"(pixels / 16 for digits), got range [{lo:g}, {hi:g}]")
    return a
