"""Tests for the dense component-share target (``data.component_shares``) and its loss."""

from __future__ import annotations

import numpy as np
import torch
from fakes import fake_kit

from hitscribe_trainer.data import component_shares
from hitscribe_trainer.kits import SR
from hitscribe_trainer.losses import component_share_loss
from hitscribe_trainer.model import COMPONENTS, TRAINING_ONLY_HEADS, HitscribeNet, ModelConfig
from hitscribe_trainer.synth import TRAINING_OPTIONS, render_clip

HOP = 240


def test_collecting_stems_leaves_the_render_unchanged():
    kits = [fake_kit("a", 0), fake_kit("b", 1)]
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
    rows = len(COMPONENTS) + 1
    uniform = torch.full((2, lookahead, rows), 1 / rows)  # frames before the look-ahead have no target
    exact = {"share_logits": torch.log(torch.cat([uniform, target[:, : t - lookahead]], 1))}
    best = component_share_loss(exact, {"component_share": target}, lookahead)
    other = component_share_loss(out, {"component_share": target}, lookahead)
    assert torch.isfinite(other) and best < other


def test_head_warmup_trains_only_the_training_only_heads(fake_cache, tmp_path):
    from hitscribe_trainer.train import TrainOptions, train

    opts = TrainOptions(
        cache_dir=str(fake_cache),
        run_dir=str(tmp_path / "run"),
        max_steps=3,
        batch_size=2,
        seconds=1.0,
        lr=1e-3,
        unsupervised_weight=0.0,
        component_weight=1.0,
        share_weight=0.5,
        head_warmup_steps=10,
        loader_workers=0,
        seed=3,
    )
    ckpt = torch.load(train(opts), weights_only=False)
    torch.manual_seed(opts.seed)
    start = HitscribeNet(ModelConfig(lookahead_frames=opts.lookahead_frames)).state_dict()
    assert ckpt["step"] == 3
    for name, value in ckpt["model"].items():
        if name.split(".")[0] in TRAINING_ONLY_HEADS:
            if name.endswith("weight") and name.startswith(("component_head", "share_head")):
                assert not torch.equal(value, start[name]), f"{name} should have learnt"
        else:
            assert torch.equal(value, start[name]), f"{name} moved during the head warm-up"
