"""Online peak picking, the same rule the Rust engine applies (see docs/model-contract.md).

A frame ``f`` of class ``c`` becomes a note when ``p[f] >= threshold``, ``p[f] >= p[f-1]``
(madmom's online mode: a local maximum over the past only) and at least ``retrigger``
seconds have passed since the previous note of that class.
"""

from __future__ import annotations

import numpy as np


def pick_onsets(prob: np.ndarray, threshold: float, retrigger_frames: int) -> list[int]:
    """Frames of ``prob`` ([T]) that become notes."""
    picked: list[int] = []
    last = -(10**9)
    prev = 0.0
    for f, p in enumerate(prob):
        if p >= threshold and p >= prev and f - last >= retrigger_frames:
            picked.append(f)
            last = f
        prev = p
    return picked


def notes_from_outputs(onset, velocity, offset, hop, sr, lookahead, thresholds, retrigger_s):
    """Model outputs ``[T, C]`` (output frame t describes input frame t - lookahead) -> notes.

    Returns, per class, a list of ``(time_seconds, velocity_0_1)``.
    """
    notes = []
    for c in range(onset.shape[1]):
        frames = pick_onsets(onset[lookahead:, c], thresholds[c], max(1, int(round(retrigger_s[c] * sr / hop))))
        notes.append(
            [((f + float(offset[f + lookahead, c])) * hop / sr, float(velocity[f + lookahead, c])) for f in frames]
        )
    return notes
