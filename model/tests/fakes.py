"""Stand-in one-shots and kits for the trainer's tests (no packages needed)."""

from __future__ import annotations

import numpy as np

from hitscribe_trainer.kits import INSTRUMENTS, SR, Kit


def decaying_noise(rng: np.random.Generator, n: int, tau: float, lp: bool = False) -> np.ndarray:
    """Exponentially decaying noise (low-passed when ``lp``), peak 0.9: a stand-in one-shot."""
    x = rng.standard_normal(n) * np.exp(-np.arange(n) / (tau * SR))
    if lp:
        x = np.cumsum(x) / 30
    return (0.9 * x / np.max(np.abs(x))).astype(np.float32)


def fake_kit(name: str = "fake", seed: int = 0) -> Kit:
    """A kit of decaying-noise one-shots for every instrument, two velocity layers each."""
    rng = np.random.default_rng(seed)
    samples = {}
    for inst in INSTRUMENTS:
        samples[inst] = [(v, decaying_noise(rng, int(0.3 * SR), 0.05, inst == "kick")) for v in (0.3, 0.8)]
    return Kit(name, samples)
