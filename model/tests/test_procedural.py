"""Tests for the procedural kits (training-only timbre source)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hitscribe_trainer import procedural
from hitscribe_trainer.kits import INSTRUMENTS, SR, Kit
from hitscribe_trainer.synth import TRAINING_OPTIONS, SynthOptions, render_clip


def _fake_kit(name: str) -> Kit:
    rng = np.random.default_rng(len(name))
    kit = Kit(name)
    for inst in INSTRUMENTS:
        x = rng.standard_normal(2400) * np.exp(-np.arange(2400) / 400.0)
        kit.samples[inst] = [(0.8, (0.9 * x / np.max(np.abs(x))).astype(np.float32))]
    return kit


def _centroid(x: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    return float((power * freqs).sum() / power.sum())


def test_every_instrument_gets_finite_normalised_layers():
    kit = procedural.procedural_kit(np.random.default_rng(0), set(INSTRUMENTS), SR)
    assert set(kit.samples) == set(INSTRUMENTS)
    for inst, layers in kit.samples.items():
        assert [v for v, _ in layers] == list(procedural.LAYER_VELOCITIES), inst
        for _, x in layers:
            assert x.dtype == np.float32 and np.all(np.isfinite(x)), inst
            assert abs(float(np.max(np.abs(x))) - 0.9) < 1e-5, inst
            assert 0 < len(x) <= procedural.MAX_SECONDS * SR, inst


def test_recipes_sound_like_their_instrument():
    """Kicks sit low, hats high, open hats ring longer than closed ones, across random kits."""
    rng = np.random.default_rng(1)
    for _ in range(5):
        kit = procedural.procedural_kit(rng, {"kick", "snare", "hihat_closed", "hihat_open"}, SR)
        kick, snare, closed = (_centroid(kit.samples[i][-1][1]) for i in ("kick", "snare", "hihat_closed"))
        assert kick < 1500 < closed and kick < snare
        assert len(kit.samples["hihat_open"][0][1]) > len(kit.samples["hihat_closed"][0][1])


def test_harder_layers_are_brighter():
    kit = procedural.procedural_kit(np.random.default_rng(2), {"snare"}, SR)
    soft, _, hard = (_centroid(x) for _, x in kit.samples["snare"])
    assert hard > soft


def test_deterministic_for_seed():
    a = procedural.procedural_kit(np.random.default_rng(3), {"kick", "ride"}, SR)
    b = procedural.procedural_kit(np.random.default_rng(3), {"kick", "ride"}, SR)
    for inst in ("kick", "ride"):
        for (_, x), (_, y) in zip(a.samples[inst], b.samples[inst], strict=True):
            assert np.array_equal(x, y)


def test_substitute_swaps_a_share_and_keeps_hats_together():
    kits = {inst: _fake_kit("real") for inst in INSTRUMENTS}
    pool = procedural.ProceduralPool(seed=4, sr=SR, size=2, refresh_every=3)
    rng = np.random.default_rng(5)
    swapped = 0
    for _ in range(40):
        out = procedural.substitute(rng, kits, 0.3, SR, pool)
        hats = {out[h].name for h in procedural.HIHATS}
        assert len(hats) == 1
        swapped += sum(out[i].name == "procedural" for i in INSTRUMENTS if i not in procedural.HIHATS)
    share = swapped / (40 * (len(INSTRUMENTS) - 3))
    assert 0.15 < share < 0.45
    assert procedural.substitute(rng, kits, 0.0, SR, pool) is kits


def test_off_by_default_and_renders_unchanged():
    """At ``procedural_p`` 0 (validation and the defaults) a render draws nothing extra."""
    assert SynthOptions().procedural_p == 0 and TRAINING_OPTIONS.procedural_p == 0
    kits = [_fake_kit("a"), _fake_kit("b")]
    a, ea = render_clip(np.random.default_rng(6), kits, 2.0, SR, SynthOptions())
    b, eb = render_clip(np.random.default_rng(6), kits, 2.0, SR, SynthOptions(), procedural_pool=None)
    assert np.array_equal(a, b) and ea == eb
    pool = procedural.ProceduralPool(seed=7, sr=SR, size=1)
    c, ec = render_clip(
        np.random.default_rng(6), kits, 2.0, SR, replace(TRAINING_OPTIONS, procedural_p=1.0), procedural_pool=pool
    )
    assert np.all(np.isfinite(c)) and len(c) == len(a) and ec


def test_default_recipes_unchanged():
    """The default recipes draw exactly as runs 21a-22 trained (checksums taken before the
    distinct-cymbal recipes were added)."""
    kit = procedural.procedural_kit(np.random.default_rng(11), set(INSTRUMENTS), SR)
    sums = {i: float(np.sum(np.abs(kit.samples[i][-1][1]))) for i in ("kick", "hihat_open", "ride", "crash")}
    expected = {"kick": 2347.792, "hihat_open": 1250.544, "ride": 4582.038, "crash": 2792.179}
    for inst, value in expected.items():
        assert abs(sums[inst] - value) < 0.01, inst


def test_distinct_cymbals_make_rides_bright_and_long_and_hats_shorter():
    """Distinct-cymbal rides are brighter than the default recipe's (nearer the packs' rides,
    whose median centroid is 6.3 kHz) and still ring longer than open hats, which stay within 0.7 s decay."""

    def late_share(x: np.ndarray) -> float:
        return float((x[int(0.5 * SR) :] ** 2).sum() / (x**2).sum())

    old_rng, new_rng = np.random.default_rng(5), np.random.default_rng(5)
    old_centroids, new_centroids = [], []
    for _ in range(6):
        old = procedural.procedural_kit(old_rng, {"ride", "hihat_open"}, SR)
        new = procedural.procedural_kit(new_rng, {"ride", "hihat_open"}, SR, distinct_cymbals=True)
        old_centroids.append(_centroid(old.samples["ride"][-1][1]))
        ride, hat = new.samples["ride"][-1][1], new.samples["hihat_open"][-1][1]
        new_centroids.append(_centroid(ride))
        assert late_share(ride) > late_share(hat)
        assert len(hat) <= 5 * 0.7 * SR + 1
    assert np.median(new_centroids) > np.median(old_centroids) + 1000
    pool = procedural.ProceduralPool(seed=8, sr=SR, size=1, distinct_cymbals=True)
    assert pool.kits[0].samples["ride"] and pool.distinct_cymbals
