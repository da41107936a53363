"""Tests for the dense component-share target (``data.component_shares``) and its loss."""

from __future__ import annotations

import numpy as np
import torch
from test_synth import _fake_kit

from hitscribe_trainer.data import component_shares
from hitscribe_trainer.kits import SR
from hitscribe_trainer.losses import component_share_loss
from hitscribe_trainer.model import COMPONENTS, HitscribeNet, ModelConfig
from hitscribe_trainer.synth import TRAINING_OPTIONS, render_clip

HOP = 240


def test_collecting_stems_leaves_the_render_unchanged():
    kits = [_fake_kit("a", 0), _fake_kit("b", 1)]
    plain, ev_plain = render_clip(np.random.default_rng(7), kits, 2.0, SR, TRAINING_OPTIONS)
    stems: dict[str, np.ndarray] = {}
    with_stems, ev_stems = render_clip(np.random.default_rng(7), kits, 2.0, SR, TRAINING_OPTIONS, stems_out=stems)
    np.testing.assert_array_equal(plain, with_stems)
    assert ev_plain == ev_stems
    assert stems and all(track.shape == plain.shape for track in stems.values())
    assert {inst for _, inst, _ in ev_stems} <= set(stems)


def test_shares_sum_to_one_and_name_who_sounds():
    n_frames = 20
    n = n_frames * HOP
    rng = np.random.default_rng(0)
    hat = np.zeros(n, np.float32)
    hat[5 * HOP : 7 * HOP] = rng.standard_normal(2 * HOP)
    ride = np.zeros(n, np.float32)
    ride[12 * HOP : 18 * HOP] = 0.5 * rng.standard_normal(6 * HOP)
    shares = component_shares({"hihat_closed": hat, "ride_bell": ride, "cowbell": ride * 0.01}, n_frames, HOP)
    assert shares.shape == (n_frames, len(COMPONENTS) + 1)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, rtol=1e-5)
    assert shares[6].argmax() == COMPONENTS.index("hihat_closed")
    assert shares[15].argmax() == COMPONENTS.index("ride")
    assert shares[15, COMPONENTS.index("other")] > 0  # the cowbell is "other"
    assert shares[0].argmax() == len(COMPONENTS)  # nothing sounds: silence


def test_share_loss_is_smallest_at_the_target():
    net = HitscribeNet(ModelConfig())
    out = net(torch.zeros(2, 10 * HOP))
    t = out["share_logits"].shape[1]
    target = torch.softmax(torch.randn(2, t, len(COMPONENTS) + 1), dim=-1)
    lookahead = net.cfg.lookahead_frames
    exact = {"share_logits": torch.log(torch.cat([torch.ones(2, lookahead, 9) / 9, target[:, : t - lookahead]], 1))}
    best = component_share_loss(exact, {"component_share": target}, lookahead)
    other = component_share_loss(out, {"component_share": target}, lookahead)
    assert torch.isfinite(other) and best < other
