"""Synthesiser and losses."""

import numpy as np
import pytest
import torch

from hitscribe_trainer.data import AUDIBILITY_NONE_DB
from hitscribe_trainer.losses import (
    FIRST_HIT_QUIET_FRAMES,
    MultiResolutionLogSpectrum,
    distractor_frames,
    first_hit_frames,
    spectral_distance,
    supervised_loss,
    synthesise,
    velocity_correlation_loss,
)
from hitscribe_trainer.model import COMPONENTS, HitscribeNet, ModelConfig, synth_activations


def test_synthesiser_reproduces_known_signal():
    hop, k, length, n = 240, 3, 500, 24000
    templates = torch.randn(k, length)
    acts = torch.zeros(1, 40, k)
    lookahead = 2
    acts[0, 5 + lookahead, 1] = 0.7  # input frame 5, component 1
    acts[0, 20 + lookahead, 2] = 0.3
    out = synthesise(acts, templates, hop, lookahead, n)[0]
    expected = torch.zeros(n)
    expected[5 * hop : 5 * hop + length] += 0.7 * templates[1]
    expected[20 * hop : 20 * hop + length] += 0.3 * templates[2]
    assert torch.allclose(out, expected, atol=1e-4)


def test_spectral_distance_is_zero_for_equal_signals_and_grows_with_difference():
    spec = MultiResolutionLogSpectrum(24000)
    x = torch.randn(2, 12000) * 0.1
    assert spectral_distance(spec, x, x).item() < 1e-6
    assert spectral_distance(spec, x, x * 0.5).item() < spectral_distance(spec, x, x * 0.1).item()


def test_unsupervised_loss_falls_on_a_tiny_overfit_run():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    cfg = ModelConfig(n_mels=32, conv2d_channels=4, channels=16, gru_hidden=16, dilations=(1, 2))
    net = HitscribeNet(cfg)
    spec = MultiResolutionLogSpectrum(cfg.sample_rate)
    decay = np.exp(-np.arange(600) / 80.0)
    templates = torch.from_numpy((rng.standard_normal((8, 600)) * decay).astype(np.float32))
    # Target audio made by the same synthesiser from a known sparse pattern.
    truth = torch.zeros(1, 50, 8)
    for f in (3, 13, 23, 33):
        truth[0, f + cfg.lookahead_frames, f % 3] = 0.8
    audio = synthesise(truth, templates, cfg.hop, cfg.lookahead_frames, 50 * cfg.hop)
    optim = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        out = net(audio)
        acts = synth_activations(out, cfg.time_sparsemax_frames)
        x_hat = synthesise(acts, templates, cfg.hop, cfg.lookahead_frames, audio.shape[-1])
        loss = spectral_distance(spec, audio, x_hat)
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def test_velocity_correlation_loss_ignores_clip_gain_and_rewards_order():
    target = torch.zeros(2, 20, 3)
    mask = torch.zeros(2, 20, 3, dtype=torch.bool)
    frames = [2, 6, 9, 13, 17]
    for i, f in enumerate(frames):
        target[:, f, 0] = 0.2 + 0.15 * i
        mask[:, f, 0] = True
    mask[0, 4, 1] = True  # a class with a single hit is skipped
    target[0, 4, 1] = 0.5
    affine = 0.3 * target + 0.1  # a different overall level, same order: perfect
    assert velocity_correlation_loss(affine, target, mask).item() < 1e-5
    reversed_order = (1.0 - target) * mask
    assert abs(velocity_correlation_loss(reversed_order, target, mask).item() - 2.0) < 1e-5
    assert velocity_correlation_loss(affine, target, torch.zeros_like(mask)).item() == 0.0


def onset_loss(logits, targets, **weights):
    """``supervised_loss`` of these onset logits (velocity and offset outputs zero), no look-ahead."""
    out = {"onset_logits": logits, "velocity": torch.zeros_like(logits), "offset": torch.zeros_like(logits)}
    return supervised_loss(out, targets, 0, **weights)[0].item()


def test_distractor_weight_punishes_a_hat_called_on_a_ride_more_than_elsewhere():
    frames, classes = 12, 3
    component = torch.zeros(1, frames, len(COMPONENTS))
    component[0, 5, COMPONENTS.index("ride")] = 1.0
    near = distractor_frames(component)
    assert near[0].nonzero().flatten().tolist() == [4, 5, 6]
    targets = {
        "onset": torch.zeros(1, frames, classes),
        "velocity": torch.zeros(1, frames, classes),
        "offset": torch.zeros(1, frames, classes),
        "component_onset": component,
    }

    def loss_with_false_hat_at(frame, weight):
        logits = torch.full((1, frames, classes), -6.0)
        logits[0, frame, 2] = 4.0
        return onset_loss(logits, targets, distractor_weight=weight)

    assert abs(loss_with_false_hat_at(5, 0.0) - loss_with_false_hat_at(10, 0.0)) < 1e-6
    extra_on_ride = loss_with_false_hat_at(5, 2.0) - loss_with_false_hat_at(5, 0.0)
    extra_elsewhere = loss_with_false_hat_at(10, 2.0) - loss_with_false_hat_at(10, 0.0)
    assert extra_on_ride > 0.1
    assert extra_elsewhere < 0.01  # only the (near-zero) true negatives beside the ride


def test_distractor_weight_leaves_the_frame_after_a_hit_unpunished():
    # A snare on a ride hit (a ride-led groove's backbeat): the snare's activation spilling into
    # the next frame costs nothing, with or without the distractor weight.
    frames, classes = 12, 3
    component = torch.zeros(1, frames, len(COMPONENTS))
    component[0, 5, COMPONENTS.index("ride")] = 1.0
    component[0, 5, COMPONENTS.index("snare")] = 1.0
    onset = torch.zeros(1, frames, classes)
    onset[0, 5, 1] = 1.0
    targets = {
        "onset": onset,
        "velocity": torch.zeros(1, frames, classes),
        "offset": torch.zeros(1, frames, classes),
        "component_onset": component,
    }

    def loss_with_snare_spilling(spill: bool, weight: float) -> float:
        logits = torch.full((1, frames, classes), -6.0)
        logits[0, 5, 1] = 4.0
        if spill:
            logits[0, 6, 1] = 4.0
        return onset_loss(logits, targets, distractor_weight=weight)

    for weight in (0.0, 2.0):
        assert abs(loss_with_snare_spilling(True, weight) - loss_with_snare_spilling(False, weight)) < 1e-7
    # The frame before the hit is an ordinary hard negative beside the ride.
    logits = torch.full((1, frames, classes), -6.0)
    logits[0, 5, 1] = 4.0
    logits[0, 4, 1] = 4.0
    assert onset_loss(logits, targets, distractor_weight=2.0) > onset_loss(logits, targets, distractor_weight=0.0) + 0.1


def test_first_hit_weight_counts_a_missed_hit_after_quiet_more_than_one_inside_a_groove():
    frames, classes = 80, 3
    component = torch.zeros(1, frames, len(COMPONENTS))
    onset = torch.zeros(1, frames, classes)
    # A groove at the clip's start (what came before is unknown), a stop, then a snare with a
    # kick two frames before it (a flam: the pair is the first hit), then the groove goes on.
    for frame, name, cls in [
        (2, "kick", 0),
        (8, "ride", None),
        (14, "snare", 1),
        (50, "kick", 0),
        (52, "snare", 1),
        (60, "snare", 1),
    ]:
        component[0, frame, COMPONENTS.index(name)] = 1.0
        if cls is not None:
            onset[0, frame, cls] = 1.0
    assert 14 + FIRST_HIT_QUIET_FRAMES < 50
    first = first_hit_frames(component)[0]
    assert [f for f in (2, 8, 14, 50, 52, 60) if first[f]] == [50, 52]
    targets = {
        "onset": onset,
        "velocity": torch.zeros_like(onset),
        "offset": torch.zeros_like(onset),
        "component_onset": component,
    }

    def loss_missing_snare_at(frame, weight, **options):
        logits = torch.where(onset > 0, 6.0, -6.0)
        logits[0, frame, 1] = -4.0
        return onset_loss(logits, targets, first_hit_weight=weight, **options)

    assert abs(loss_missing_snare_at(52, 0.0) - loss_missing_snare_at(60, 0.0)) < 1e-6
    extra_first = loss_missing_snare_at(52, 3.0) - loss_missing_snare_at(52, 0.0)
    extra_inside = loss_missing_snare_at(60, 3.0) - loss_missing_snare_at(60, 0.0)
    assert extra_first > 0.05
    assert extra_inside < 0.01  # only the (near-zero) loss of the well-found first hits
    # Kept to the kick, the weight leaves the snare's first hit alone.
    kick_only = loss_missing_snare_at(52, (3.0, 0.0, 0.0)) - loss_missing_snare_at(52, 0.0)
    assert kick_only < 0.01
    # Per class, the snare's own weight is what counts.
    snare_low = loss_missing_snare_at(52, (3.0, 1.0, 3.0)) - loss_missing_snare_at(52, 0.0)
    assert abs(snare_low - extra_first / 3.0) < 0.2 * extra_first / 3.0


def test_a_longer_quiet_window_keeps_first_hits_to_hits_after_a_stop():
    component = torch.zeros(1, 200, len(COMPONENTS))
    # Eighths at 120 bpm (25 frames apart), a stop of 0.8 s, then the groove comes back.
    groove = [5, 30, 55, 80, 160, 185]
    for frame in groove:
        component[0, frame, COMPONENTS.index("ride")] = 1.0
    short = first_hit_frames(component)[0]
    long = first_hit_frames(component, quiet_frames=60)[0]
    assert [f for f in groove if short[f]] == [30, 55, 80, 160, 185]  # every hit of the groove
    assert [f for f in groove if long[f]] == [160]  # only the hit after the stop


def test_first_hit_weights_per_class_are_named_and_checked():
    from hitscribe_trainer.train import first_hit_class_weights

    assert first_hit_class_weights(2.0) == (2.0, 2.0, 2.0)
    assert first_hit_class_weights(2.0, ("kick", "snare")) == (2.0, 2.0, 0.0)
    assert first_hit_class_weights(0.0, (), (2, 2, 1)) == (2.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="cowbell"):
        first_hit_class_weights(1.0, ("cowbell",))
    with pytest.raises(ValueError, match="3 values"):
        first_hit_class_weights(0.0, (), (2, 2))
    with pytest.raises(ValueError, match="not both"):
        first_hit_class_weights(0.0, ("kick",), (2, 2, 1))


def ghost_and_backbeat_targets(audibility_db=None):
    """A ghost snare at frame 10 and a backbeat snare at frame 25 (with their audibility, if given)."""
    onset = torch.zeros(1, 40, 3)
    velocity = torch.zeros_like(onset)
    for frame, vel in [(10, 0.15), (25, 0.8)]:
        onset[0, frame, 1] = 1.0
        velocity[0, frame, 1] = vel
    targets = {"onset": onset, "velocity": velocity, "offset": torch.zeros_like(onset)}
    if audibility_db is not None:
        targets["onset_audibility_db"] = torch.full_like(onset, AUDIBILITY_NONE_DB)
        for frame, db in audibility_db.items():
            targets["onset_audibility_db"][0, frame, 1] = db
    return targets


def extra_loss_of_a_miss(targets, frame, **weights):
    """How much more a snare missed at ``frame`` costs with ``weights`` than without."""
    logits = torch.where(targets["onset"] > 0, 6.0, -6.0)
    logits[0, frame, 1] = -4.0
    return onset_loss(logits, targets, **weights) - onset_loss(logits, targets)


def test_quiet_hit_weight_counts_a_missed_ghost_note_more_than_a_missed_loud_hit():
    targets = ghost_and_backbeat_targets()

    def missed_at(frame):
        logits = torch.where(targets["onset"] > 0, 6.0, -6.0)
        logits[0, frame, 1] = -4.0
        return onset_loss(logits, targets)

    assert abs(missed_at(10) - missed_at(25)) < 1e-6  # unweighted, both misses cost the same
    assert extra_loss_of_a_miss(targets, 10, quiet_hit_weight=2.0) > 0.05
    # Only the (near-zero) loss of the well-found ghost note.
    assert extra_loss_of_a_miss(targets, 25, quiet_hit_weight=2.0) < 0.01


def test_the_quiet_hit_gate_leaves_masked_ghost_notes_unweighted():
    gate = {"quiet_hit_weight": 2.0, "quiet_hit_min_db": -15.0}
    audible = ghost_and_backbeat_targets({10: -5.0})
    masked = ghost_and_backbeat_targets({10: -25.0})
    assert extra_loss_of_a_miss(audible, 10, **gate) > 0.05
    assert extra_loss_of_a_miss(masked, 10, **gate) < 0.01
