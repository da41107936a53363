"""Tests for kit preparation, grooves and the drum-bus synthesiser (fast, no packages)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fakes import decaying_noise, fake_kit

from hitscribe_trainer import kits as kits_mod
from hitscribe_trainer.evaluate import clip_events, clip_kits
from hitscribe_trainer.grooves import STYLES, generate_groove
from hitscribe_trainer.kits import INSTRUMENTS, SR, Kit, load_kits, map_instrument_name
from hitscribe_trainer.synth import (
    TRAINING_OPTIONS,
    SynthOptions,
    Voicing,
    blend,
    draw_blends,
    draw_microphones,
    draw_voicing,
    iter_user_audio,
    join_set,
    render_clip,
    render_events,
    render_validation_set,
    revoice,
)

MODEL_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fake_kits() -> list[Kit]:
    return [fake_kit("a", 0), fake_kit("b", 1)]


def test_render_clip_events_inside_and_finite(fake_kits):
    rng = np.random.default_rng(0)
    for _ in range(20):
        audio, events = render_clip(rng, fake_kits, 3.0)
        assert audio.dtype == np.float32 and audio.shape == (3 * SR,)
        assert np.all(np.isfinite(audio))
        for s, inst, v in events:
            assert 0 <= s < len(audio)
            assert inst in INSTRUMENTS
            assert 0.0 < v <= 1.0
        assert [e[0] for e in events] == sorted(e[0] for e in events)


def test_single_oneshot_reproduced_without_augmentation():
    rng = np.random.default_rng(3)
    x = decaying_noise(rng, 2000, 0.01)
    kit = Kit("k", {"kick": [(0.8, x)]})
    n = 8000
    audio, ev = render_events([(1234, "kick", 1.0)], {"kick": kit}, n, rng, SynthOptions(augment=False))
    assert ev == [(1234, "kick", 1.0)]
    np.testing.assert_allclose(audio[1234 : 1234 + len(x)], x, atol=1e-7)
    assert np.all(audio[:1234] == 0) and np.all(audio[1234 + len(x) :] == 0)
    # velocity scales linearly with augmentation off; truncation at the clip end
    audio, _ = render_events([(n - 100, "kick", 0.5)], {"kick": kit}, n, None, SynthOptions(augment=False))
    np.testing.assert_allclose(audio[n - 100 :], 0.5 * x[:100], atol=1e-7)


def test_nearest_velocity_layer_and_choke():
    soft = np.full(1000, 0.1, np.float32)
    loud = np.full(1000, 0.9, np.float32)
    kit = Kit(
        "k",
        {
            "snare": [(0.2, soft), (0.9, loud)],
            "hihat_open": [(0.8, np.ones(5000, np.float32))],
            "hihat_closed": [(0.8, np.zeros(10, np.float32))],
        },
    )
    kf = {k: kit for k in kit.samples}
    opt = SynthOptions(augment=False)
    a, _ = render_events([(0, "snare", 1.0)], kf, 2000, None, opt)
    assert a[10] == pytest.approx(0.9)
    a, _ = render_events([(0, "snare", 0.25)], kf, 2000, None, opt)
    assert a[10] == pytest.approx(0.025)
    a, _ = render_events([(0, "hihat_open", 1.0), (1000, "hihat_closed", 1.0)], kf, 6000, None, opt)
    assert a[500] == 1.0 and np.all(a[1300:] == 0)


def test_deterministic_for_seed(fake_kits):
    a1, e1 = render_clip(np.random.default_rng(42), fake_kits, 2.0)
    a2, e2 = render_clip(np.random.default_rng(42), fake_kits, 2.0)
    assert e1 == e2
    np.testing.assert_array_equal(a1, a2)
    a3, _ = render_clip(np.random.default_rng(43), fake_kits, 2.0)
    assert not np.array_equal(a1, a3)


def test_all_styles_produce_events():
    rng = np.random.default_rng(0)
    seen = set()
    for style in STYLES:
        n = 0
        for _ in range(5):
            ev, info = generate_groove(rng, 4.0, style=style)
            assert info["style"] == style and 60 <= info["bpm"] <= 220
            assert all(0 <= t < 4.0 and i in INSTRUMENTS for t, i, _ in ev)
            n += len(ev)
            seen |= {i for _, i, _ in ev}
        assert n > 0, style
    assert {"kick", "snare", "hihat_closed", "hihat_open"} <= seen


def test_random_style_mix_covers_styles():
    rng = np.random.default_rng(1)
    styles = {generate_groove(rng, 1.0)[1]["style"] for _ in range(400)}
    assert styles == set(STYLES)


def test_render_speed(fake_kits):
    import time

    rng = np.random.default_rng(0)
    render_clip(rng, fake_kits, 3.0)
    t0 = time.process_time()
    for _ in range(20):
        render_clip(rng, fake_kits, 3.0)
    assert (time.process_time() - t0) / 20 < 0.1  # target ~10 ms; loose for CI


def test_instrument_name_mapping():
    cases = {
        "Kick": "kick",
        "BassDrum": "kick",
        "Snare Rock": "snare",
        "Closed HH": "hihat_closed",
        "Hi-Hat Pedal (x)": "hihat_pedal",
        "Hat Open": "hihat_open",
        "Floor Tom": "tom_low",
        "Tom Mid": "tom_mid",
        "Tom 1": "tom_high",
        "Ride Bell": "ride_bell",
        "Crash": "crash",
        "Stick": "sidestick",
        "Hand Clap": "clap",
        "Cowbell": "cowbell",
        "Zap 1": None,
        "23": None,
        "Sabian Hat Choke": None,
    }
    for name, want in cases.items():
        assert map_instrument_name(name) == want, name


def test_manifest_has_licences_and_split(fake_cache):
    m = json.loads((fake_cache / "kits" / "manifest.json").read_text())
    assert len(m) == 2 * 3 * 2  # 2 kits x 3 mapped instruments x 2 layers
    for e in m:
        assert set(e) >= {"kit", "instrument", "velocity", "path", "source_package", "licence", "split"}
        assert e["licence"] and e["licence"] != "unknown"
        assert e["instrument"] in INSTRUMENTS and 0 < e["velocity"] <= 1
        x, sr = sf.read(str(fake_cache / "kits" / e["path"]), dtype="float32")
        assert sr == SR and x.ndim == 1 and len(x) <= 1.5 * SR
        assert np.argmax(np.abs(x) > 0.1 * np.abs(x).max()) < 50  # silence trimmed
    splits = {e["kit"]: e["split"] for e in m}
    assert splits == {"TrainKit": "train", kits_mod.VALIDATION_KITS[0]: "validation"}
    assert [k.name for k in load_kits(fake_cache, "train")] == ["TrainKit"]
    assert {e["velocity"] for e in m} == {0.25, 0.75}


def test_validation_render_writes_labels(fake_cache, tmp_path):
    paths = render_validation_set(fake_cache, tmp_path, n_clips=3, seconds=2.0, seed=5)
    assert len(paths) == 3
    for p in paths:
        x, sr = sf.read(str(p))
        assert sr == SR and len(x) == 2 * SR
        rows = [r.split("\t") for r in p.with_suffix(".tsv").read_text().splitlines()]
        for t, lab, v in rows:
            assert 0 <= float(t) < 2.0 and lab in ("kick", "snare", "hihat")
            assert 1 <= int(v) <= 127
    validation_kit = kits_mod.VALIDATION_KITS[0]
    assert clip_kits(tmp_path) == {p.stem: dict.fromkeys(("kick", "snare", "hihat"), validation_kit) for p in paths}
    # Every rendered hit is recorded (distractors too), and every label is one of them.
    played = clip_events(tmp_path)
    assert set(played) == {p.stem for p in paths}
    for p in paths:
        times = {round(t, 5) for t, _, _ in played[p.stem]}
        assert all(round(float(r.split("\t")[0]), 5) in times for r in p.with_suffix(".tsv").read_text().splitlines())


def test_excluded_oneshots_are_never_loaded(fake_cache, tmp_path):
    manifest = kits_mod.load_manifest(fake_cache)
    held_out = [e for e in manifest if e["split"] == "validation"]
    dropped = held_out[0]
    kit = load_kits(fake_cache, "validation", exclude=[dropped["path"]])[0]
    layers = kit.samples[dropped["instrument"]]
    full = load_kits(fake_cache, "validation")[0].samples[dropped["instrument"]]
    assert len(layers) == len(full) - 1
    assert dropped["velocity"] not in [v for v, _ in layers]
    render_validation_set(fake_cache, tmp_path, n_clips=1, seconds=1.0, seed=5, exclude=[dropped["path"]])
    assert json.loads((tmp_path / "info.json").read_text())["excluded_oneshots"] == [dropped["path"]]
    with pytest.raises(ValueError, match="not in the kit manifest"):
        render_validation_set(fake_cache, tmp_path, n_clips=1, seconds=1.0, seed=5, exclude=["nokit/kick_9.wav"])


def test_excluded_oneshots_file_lists_held_out_paths():
    lines = kits_mod.read_oneshot_list(MODEL_DIR / "EXCLUDED_ONESHOTS.txt")
    assert lines and len(set(lines)) == len(lines)
    for path in lines:
        kit, name = path.split("/")
        assert kit in kits_mod.VALIDATION_KITS and name.endswith(".wav")


def test_validation_kits_file_matches_module():
    f = MODEL_DIR / "VALIDATION_KITS.txt"
    names = [s.strip() for s in f.read_text().splitlines() if s.strip()]
    assert tuple(names) == kits_mod.VALIDATION_KITS


def test_iter_user_audio(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((44100 * 2, 2)).astype(np.float32) * 0.1
    sf.write(str(tmp_path / "a.flac"), x, 44100)
    sf.write(str(tmp_path / "b.wav"), x[:, 0], 48000)
    it = iter_user_audio(tmp_path, SR, 1.0, rng)
    for _ in range(4):
        c = next(it)
        assert c.dtype == np.float32 and c.shape == (SR,) and np.all(np.isfinite(c))


def test_voicing_repitches_keeps_peak_and_leaves_validation_renders_alone():
    rng = np.random.default_rng(3)
    shot = decaying_noise(rng, 2400, 0.02)
    lower = revoice(shot, Voicing(rate=0.5, decay_s=np.inf, tilt=0.0), SR)
    assert len(lower) == 2 * len(shot)  # an octave down lasts twice as long
    assert np.isclose(np.abs(lower).max(), np.abs(shot).max(), rtol=1e-3)
    short = revoice(shot, Voicing(rate=1.0, decay_s=0.005, tilt=0.5), SR)
    assert np.abs(short[-600:]).max() < np.abs(shot[-600:]).max()
    kit = [fake_kit()]
    plain = [render_clip(np.random.default_rng(7), kit, 2.0, SR)[0] for _ in range(2)]
    assert np.array_equal(plain[0], plain[1]), "default renders are deterministic"
    assert SynthOptions().voicing_p == 0.0, "validation and tuning renders never re-voice"
    voiced, events = render_clip(np.random.default_rng(7), kit, 2.0, SR, TRAINING_OPTIONS)
    assert events and np.all(np.isfinite(voiced)) and not np.array_equal(voiced, plain[0])


def test_microphones_keep_labels_at_the_first_sound():
    rng = np.random.default_rng(5)
    insts = {"kick", "snare", "hihat_closed", "crash", "tom_low"}
    for _ in range(50):
        mics = draw_microphones(rng, insts, SR)
        assert mics.close["kick"] and mics.close["snare"], "kick and snare always have close mics"
        for inst in insts:
            limit_ms = 6.0 if mics.close[inst] else 1.5
            assert 0 <= mics.delay[inst] <= round(limit_ms * SR / 1000)
        assert 150 <= mics.highpass_hz <= 700 and mics.overhead_gain > 0
    # Rendered through microphones: the hit is heard no earlier than its label and, for a
    # hi-hat without a close microphone, within 1.5 ms after it.
    x = np.zeros(2000, np.float32)
    x[0] = 1.0
    kit = Kit("k", {"hihat_closed": [(0.8, x)], "kick": [(0.8, x)]})
    opt = SynthOptions(mics_p=1.0)
    heard_late = False
    for seed in range(40):
        audio, ev = render_events(
            [(1000, "hihat_closed", 1.0)], {"hihat_closed": kit}, 4000, np.random.default_rng(seed), opt
        )
        assert ev == [(1000, "hihat_closed", 1.0)]
        first = int(np.argmax(np.abs(audio) > 1e-4))
        assert 1000 <= first <= 1000 + round(1.5 * SR / 1000)
        heard_late |= first > 1000
    assert heard_late, "some clips had no close hi-hat microphone"
    assert SynthOptions().mics_p == 0.0 and TRAINING_OPTIONS.mics_p > 0, "validation renders have no mics"


def test_kits_used_names_each_class_kit_without_changing_the_render(fake_kits):
    plain = render_clip(np.random.default_rng(5), fake_kits, 2.0)
    used: dict[str, str] = {}
    recorded = render_clip(np.random.default_rng(5), fake_kits, 2.0, kits_used=used)
    assert np.array_equal(plain[0], recorded[0]) and plain[1] == recorded[1]
    assert set(used) == {"kick", "snare", "hihat"} and set(used.values()) <= {"a", "b"}


def test_blending_and_one_shot_eq_change_timbre_only_when_asked(fake_kits):
    rng = np.random.default_rng(11)
    x, partner = decaying_noise(rng, 2400, 0.02), decaying_noise(rng, 4800, 0.1)
    y = blend(x, partner, 0.4)
    assert len(y) == len(x) and np.isclose(np.abs(y).max(), np.abs(x).max(), rtol=1e-3)
    assert not np.allclose(y, x)
    kit_for = {inst: fake_kits[0] for inst in INSTRUMENTS}
    before = np.random.default_rng(3)
    assert draw_blends(before, fake_kits, kit_for, TRAINING_OPTIONS) == {}
    assert before.random() == np.random.default_rng(3).random(), "blend_p 0 draws nothing"
    blends = draw_blends(np.random.default_rng(3), fake_kits, kit_for, SynthOptions(blend_p=1.0))
    assert set(blends) == set(INSTRUMENTS) and all(k.name == "b" and 0.25 <= w <= 0.6 for k, w in blends.values())
    eq = revoice(x, Voicing(rate=1.0, decay_s=np.inf, tilt=0.0, peaks=((1000.0, 9.0, 2.0),)), SR)
    assert len(eq) == len(x) and np.isclose(np.abs(eq).max(), np.abs(x).max(), rtol=1e-3)
    assert not np.allclose(eq, x)
    dark = revoice(x, Voicing(rate=1.0, decay_s=np.inf, tilt=0.0, lowpass_hz=4000.0), SR)
    spectrum, dark_spectrum = np.abs(np.fft.rfft(x)), np.abs(np.fft.rfft(dark))
    above = np.fft.rfftfreq(len(x), 1 / SR) > 8000
    assert dark_spectrum[above].sum() < 0.01 * spectrum[above].sum(), "nothing left an octave above the cut-off"
    assert draw_voicing(np.random.default_rng(4), SynthOptions(voicing_p=1.0)).lowpass_hz == np.inf
    lofi = SynthOptions(voicing_lowpass_p=1.0)
    cutoffs = [draw_voicing(np.random.default_rng(i), lofi).lowpass_hz for i in range(20)]
    assert all(3000 <= hz <= 10000 for hz in cutoffs)
    # The new options default to off, so the validation renders and v8's recipe are unchanged.
    assert SynthOptions().blend_p == SynthOptions().voicing_eq_p == TRAINING_OPTIONS.blend_p == 0.0
    assert SynthOptions().voicing_lowpass_p == TRAINING_OPTIONS.voicing_lowpass_p == 0.0
    timbre = SynthOptions(voicing_p=0.9, voicing_eq_p=0.5, voicing_lowpass_p=0.5, blend_p=0.5, mics_p=0.5)
    audio, events = render_clip(np.random.default_rng(9), fake_kits, 2.0, SR, timbre)
    assert events and np.all(np.isfinite(audio))


def test_join_set_keeps_audio_labels_and_events_in_step(fake_cache, tmp_path):
    clips = tmp_path / "clips"
    paths = render_validation_set(fake_cache, clips, n_clips=3, seconds=1.0, seed=2)
    stream = join_set(clips, tmp_path / "long", gap_seconds=0.5)
    audio, sr = sf.read(str(stream), dtype="float32")
    assert sr == SR and len(audio) == int(3.0 * SR + 2 * 0.5 * SR)
    second = sf.read(str(paths[1]), dtype="float32")[0]
    assert np.array_equal(audio[int(1.5 * SR) : int(2.5 * SR)], second), "clip 2 starts after clip 1 and a gap"
    labels = [line.split("\t") for line in stream.with_suffix(".tsv").read_text().splitlines()]
    expected = sum(len(p.with_suffix(".tsv").read_text().splitlines()) for p in paths)
    assert len(labels) == expected and all(0 <= float(t) < 4.0 for t, _, _ in labels)
    first_of_second = paths[1].with_suffix(".tsv").read_text().splitlines()
    if first_of_second:
        t = float(first_of_second[0].split("\t")[0]) + 1.5
        assert any(abs(float(row[0]) - t) < 1e-5 for row in labels)
    played = clip_events(tmp_path / "long")["stream"]
    assert len(played) == sum(len(v) for v in clip_events(clips).values())


def test_microphone_renders_do_not_depend_on_the_hash_seed(tmp_path):
    # A set's iteration order changes with PYTHONHASHSEED, so drawing per instrument in set
    # order made microphone renders differ from one process to the next.
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from hitscribe_trainer.synth import draw_microphones\n"
        "insts = {'kick', 'snare', 'hihat_closed', 'crash', 'tom_low', 'ride'}\n"
        "m = draw_microphones(np.random.default_rng(4), insts, 24000)\n"
        "print(sorted(m.delay.items()), sorted(m.close.items()))\n"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (1, 2, 3)
    }
    assert len(outs) == 1


def test_takes_start_on_a_downbeat_or_after_silence_and_stops_leave_a_gap(fake_kits):
    from dataclasses import replace

    # Off by default: the same seed renders the same clip with or without the fields set to 0.
    plain = render_clip(np.random.default_rng(21), fake_kits, 2.5, SR, TRAINING_OPTIONS)
    off = render_clip(np.random.default_rng(21), fake_kits, 2.5, SR, replace(TRAINING_OPTIONS, start_p=0.0))
    assert np.array_equal(plain[0], off[0]) and plain[1] == off[1]
    starts = replace(TRAINING_OPTIONS, start_p=1.0)
    at_first_sample = on_sample_zero = after_silence = digital = 0
    for seed in range(40):
        audio, events = render_clip(np.random.default_rng(seed), fake_kits, 2.5, SR, starts)
        if not events:  # a sparse style can leave a short clip empty
            continue
        first = events[0][0]
        if first < 0.03 * SR:  # the downbeat on the file's first sample, or within 5 ms of it
            assert first <= 0.0051 * SR
            at_first_sample += 1
            on_sample_zero += first == 0
        else:
            assert first >= 0.09 * SR  # 0.1-1.5 s of silence, then the groove's first hit
            after_silence += 1
            # Nothing rings before the first hit: digital zeros or the bus noise floor only.
            quiet = audio[: first - SR // 200]
            digital += bool(np.all(quiet == 0))
            assert np.sqrt(np.mean(quiet**2)) < 0.1 * np.abs(audio[first : first + SR // 10]).max()
    assert at_first_sample >= 10 and on_sample_zero >= 4 and after_silence >= 10 and digital >= 3
    # A stop drops every hit of one 0.4-1.5 s window: some gap between hits is at least 0.4 s.
    stops = replace(TRAINING_OPTIONS, stop_p=1.0)
    gaps = []
    for seed in range(10):
        _, events = render_clip(np.random.default_rng(seed), fake_kits, 2.5, SR, stops)
        times = [0] + [s for s, _, _ in events]
        gaps.append(max(np.diff(times)) / SR)
    assert min(gaps) >= 0.39


def test_cuts_land_a_hit_on_the_first_sample_with_earlier_tails_ringing(fake_kits):
    from dataclasses import replace

    plain = render_clip(np.random.default_rng(22), fake_kits, 2.5, SR, TRAINING_OPTIONS)
    off = render_clip(np.random.default_rng(22), fake_kits, 2.5, SR, replace(TRAINING_OPTIONS, cut_p=0.0))
    assert np.array_equal(plain[0], off[0]) and plain[1] == off[1]
    cuts = replace(TRAINING_OPTIONS, cut_p=1.0)
    on_first_samples = settled = ringing = 0
    for seed in range(30):
        stems: dict[str, np.ndarray] = {}
        _, events = render_clip(np.random.default_rng(seed), fake_kits, 2.5, SR, cuts, stems_out=stems)
        if not events:
            continue
        first = events[0][0]
        on_first_samples += first <= 0.0051 * SR
        if 0 < first <= 0.0051 * SR:
            # The dry tracks (no bus noise) before the first labelled hit: earlier hits' tails
            # (the fake one-shots last 0.3 s, so a sparse groove may have none left ringing).
            settled += 1
            ringing += max(np.abs(track[:first]).max() for track in stems.values()) > 0
    assert on_first_samples >= 20 and settled >= 5 and ringing >= settled // 2


def test_takes_can_start_on_any_hit_not_only_the_downbeat(fake_kits):
    from dataclasses import replace

    starts = replace(TRAINING_OPTIONS, start_p=1.0)
    # Off by default: the same seed renders the same clip with the field at 0.
    for seed in range(3):
        plain = render_clip(np.random.default_rng(seed), fake_kits, 2.5, SR, starts)
        off = render_clip(np.random.default_rng(seed), fake_kits, 2.5, SR, replace(starts, start_anywhere_p=0.0))
        assert np.array_equal(plain[0], off[0]) and plain[1] == off[1]

    def first_hits(options):
        """Instruments of each clip's first hit (every event within 30 ms of the first)."""
        out = []
        for seed in range(40):
            _, events = render_clip(np.random.default_rng(seed), fake_kits, 2.5, SR, options)
            if events:
                out.append({inst for s, inst, _ in events if s - events[0][0] <= 0.03 * SR})
        return out

    def snare_first(hits):
        return sum("snare" in h and "kick" not in h for h in hits)

    # On the downbeat the kick nearly always plays; from any hit, far more takes begin without it,
    # on a snare among others.
    downbeat = first_hits(starts)
    anywhere = first_hits(replace(starts, start_anywhere_p=1.0))
    assert sum("kick" not in h for h in anywhere) >= sum("kick" not in h for h in downbeat) + 8
    assert snare_first(anywhere) >= snare_first(downbeat) + 5


def test_ride_grooves_keep_time_on_the_ride_and_leave_other_renders_alone():
    plain = [generate_groove(np.random.default_rng(seed), 4.0, style="rock") for seed in range(40)]
    same = [generate_groove(np.random.default_rng(seed), 4.0, style="rock", ride_p=0.2) for seed in range(40)]
    assert plain == same
    rides = [generate_groove(np.random.default_rng(seed), 4.0, style="rock", ride_p=1.0) for seed in range(40)]

    def share(grooves, name):
        counts = [sum(inst == name for _, inst, _ in events) for events, _ in grooves]
        return sum(c > 4 for c in counts) / len(grooves)

    # Every groove keeps time on the ride; closed hi-hats remain only in fills and accents.
    assert share(rides, "ride") == 1.0
    assert share(plain, "ride") < 0.5
    assert share(rides, "hihat_closed") < share(plain, "hihat_closed")


def test_crash_led_grooves_keep_time_on_a_crash_and_leave_other_renders_alone():
    def grooves(**kw):
        return [generate_groove(np.random.default_rng(seed), 4.0, style="rock", **kw) for seed in range(40)]

    assert grooves(ride_p=0.4) == grooves(ride_p=0.4, crash_lead_p=0.0)
    crashes = grooves(ride_p=1.0, crash_lead_p=1.0)

    def share(grooves, names):
        counts = [sum(inst in names for _, inst, _ in events) for events, _ in grooves]
        return sum(c > 4 for c in counts) / len(grooves)

    # Every ride groove has moved to a crash or a china; no ride keeps time any more.
    assert share(crashes, ("crash", "china")) == 1.0
    assert share(crashes, ("ride",)) == 0.0
    assert share(grooves(ride_p=1.0), ("crash", "china")) < 0.5
