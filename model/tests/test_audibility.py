"""Tests for the per-onset audibility target (``data.onset_audibility``); its gate is in test_losses."""

from __future__ import annotations

import numpy as np

from hitscribe_trainer.data import AUDIBILITY_NONE_DB, onset_audibility
from hitscribe_trainer.kits import SR

HOP = 240


def test_a_snare_under_a_loud_kick_is_less_audible_than_a_lone_one():
    n_frames = 40
    n = n_frames * HOP
    rng = np.random.default_rng(3)
    snare = np.zeros(n, np.float32)
    kick = np.zeros(n, np.float32)
    for frame in (5, 25):  # two equal ghost snares
        snare[frame * HOP : frame * HOP + 720] = 0.05 * rng.standard_normal(720)
    kick[25 * HOP : 25 * HOP + 720] = rng.standard_normal(720)  # the second one under a kick
    events = [(5 * HOP, "snare", 0.15), (25 * HOP, "snare", 0.15), (25 * HOP, "kick", 0.9)]
    db = onset_audibility(events, {"snare": snare, "kick": kick}, n_frames, HOP, SR)
    assert db.shape == (n_frames, 3)
    assert db[5, 1] > 40  # alone: nothing else sounds
    assert -30 < db[25, 1] < -20  # 0.05 against 1.0: about -26 dB
    assert db[25, 0] > 20  # the kick stands far out of the snare
    assert db[10, 1] == AUDIBILITY_NONE_DB  # no onset there
