"""Tests for the per-onset audibility target (``data.onset_audibility``) and the quiet-hit gate."""

from __future__ import annotations

import numpy as np
import torch

from hitscribe_trainer.data import AUDIBILITY_NONE_DB, onset_audibility
from hitscribe_trainer.kits import SR
from hitscribe_trainer.losses import supervised_loss

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


def test_the_quiet_hit_gate_leaves_masked_ghost_notes_unweighted():
    frames = 40
    onset = torch.zeros(1, frames, 3)
    velocity = torch.zeros_like(onset)
    audibility = torch.full_like(onset, AUDIBILITY_NONE_DB)
    for frame, db in [(10, -5.0), (25, -25.0)]:  # an audible ghost note, then a masked one
        onset[0, frame, 1] = 1.0
        velocity[0, frame, 1] = 0.15
        audibility[0, frame, 1] = db
    targets = {
        "onset": onset,
        "velocity": velocity,
        "offset": torch.zeros_like(onset),
        "onset_audibility_db": audibility,
    }

    def loss_missing_snare_at(frame, weight):
        logits = torch.where(onset > 0, 6.0, -6.0)
        logits[0, frame, 1] = -4.0
        out = {"onset_logits": logits, "velocity": velocity.clone(), "offset": torch.zeros_like(logits)}
        return supervised_loss(out, targets, 0, quiet_hit_weight=weight, quiet_hit_min_db=-15.0)[0].item()

    extra_audible = loss_missing_snare_at(10, 2.0) - loss_missing_snare_at(10, 0.0)
    extra_masked = loss_missing_snare_at(25, 2.0) - loss_missing_snare_at(25, 0.0)
    assert extra_audible > 0.05
    assert extra_masked < 0.01  # only the (near-zero) loss of the well-found audible ghost
