"""Drum-bus synthesiser for unsupervised training and labelled validation renders.

API:
  render_clip(rng, kits, seconds, sr=24000, options=None) -> (audio, events)
      audio: mono float32; events: [(onset_sample, instrument, velocity 0..1)],
      every rendered hit (distractors included), sorted by onset.
  render_events(events, kits_per_instrument, n, rng, options) -> audio  (no groove)
  iter_user_audio(folder, sr, seconds, rng) -> iterator of float32 crops
  render_validation_set(cache_dir, out_dir, n_clips, seconds, seed)

CLI: python -m hitscribe_trainer.synth prepare-kits|render-validation|render|bench
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, lfilter, resample_poly, sosfilt

from . import augment, procedural
from .grooves import RIDE_P, generate_groove
from .kits import SR, Kit, load_kits, prepare_kits

LABEL_MAP = {
    "kick": "kick",
    "snare": "snare",
    "sidestick": "snare",
    "hihat_closed": "hihat",
    "hihat_open": "hihat",
    "hihat_pedal": "hihat",
}

# Fallbacks when a kit lacks an instrument (same family keeps the label class).
FALLBACK = {
    "sidestick": ("snare",),
    "hihat_pedal": ("hihat_closed",),
    "hihat_open": (),
    "tom_high": ("tom_mid", "tom_low"),
    "tom_mid": ("tom_high", "tom_low"),
    "tom_low": ("tom_mid", "tom_high"),
    "ride_bell": ("ride", "cowbell"),
    "ride": ("crash",),
    "china": ("crash", "splash"),
    "splash": ("crash", "china"),
    "crash": ("china", "splash", "ride"),
    "clap": (),
    "cowbell": ("ride_bell",),
    "tambourine": (),
    "other": (),
}
CORE = ("kick", "snare", "hihat_closed")


@dataclass
class SynthOptions:
    augment: bool = True  # master switch for every random effect below
    mix_kits_p: float = 0.2  # draw each instrument from a random kit
    vel_gamma: tuple[float, float] = (1.5, 2.0)  # amplitude = velocity ** gamma
    inst_gain_db: float = 6.0  # +- random per-instrument gain
    eq_p: float = 0.7
    comp_p: float = 0.5
    reverb_p: float = 0.6
    saturate_p: float = 0.1
    noise_p: float = 0.8
    lowpass_p: float = 0.08
    highpass_p: float = 0.1
    gain_db: tuple[float, float] = (-30.0, 3.0)
    choke: bool = True
    # Kit voicing (training only; 0 keeps the validation renders as they always were): with this
    # probability per instrument and clip, its one-shots are re-pitched, re-decayed and
    # re-coloured, so that 21 training kits sound like many more.
    voicing_p: float = 0.0
    voicing_semitones: float = 4.0
    # Share of voicings that also get one or two random peaking bands (+-9 dB) on the one-shot,
    # so that each drum's own resonances move, not only the bus's (0: none, as up to v8).
    voicing_eq_p: float = 0.0
    # Share of voicings that are also band-limited: a steep low-pass at 3-10 kHz on the one-shot
    # (a lo-fi sampler, a dark room or microphone), so that a snare or a hi-hat with no highs is
    # still told by what it has (0: none, as up to run 47).
    voicing_lowpass_p: float = 0.0
    # Kit blending (training only): with this probability per instrument and clip, each of its
    # one-shots is layered with the same instrument from another training kit (the partner at
    # 25-60 % of the mix), which makes timbres no kit has (0: none, as up to v8).
    blend_p: float = 0.0
    # Microphones (training only; 0 keeps the validation renders as they always were): with
    # this probability per clip the kit is "recorded" with close microphones plus an overhead
    # pair that hears every instrument a few milliseconds later, high-passed, with cymbals
    # louder than drums; some instruments (hi-hats and cymbals most often) get no close
    # microphone and reach the mix through the overheads only. See :class:`Microphones`.
    mics_p: float = 0.0
    # Procedural kits (training only; 0 keeps every render as it always was): with this
    # probability per instrument and clip (the three hi-hats together), the instrument comes
    # from a kit synthesised for the clip from random recipes (:mod:`.procedural`).
    procedural_p: float = 0.0
    # Procedural rides and crashes from the recipes closer to the sample packs' (bright, tonal
    # rides; open hats of at most 0.7 s); off, as runs 21a-22 trained (:mod:`.procedural`).
    procedural_distinct_cymbals: bool = False
    # Stream starts (training only; 0 keeps every render as it always was): with this
    # probability per clip the groove starts on a downbeat with no pre-roll, its first hit on the
    # clip's first sample (or within 5 ms of it) half the time (a file that begins with a hit,
    # heard from the model's zero state) and after 0.1-1.5 s of silence the other half (the bus
    # noise, or digital zeros half the time), as a song or a take starts after the transport.
    start_p: float = 0.0
    # Stops (training only; 0: none): with this probability per clip every hit inside one random
    # 0.4-1.5 s window is dropped (the tails still ring), so that hits after a break are learned.
    stop_p: float = 0.0
    # Cuts (training only; 0: none): with this probability per clip that does not start on a
    # downbeat, the clip is cut at one of the groove's hits 0.3-1.5 s in, which lands on its first
    # sample (or within 5 ms of it) while the tails of the hits before it ring on, as in a loop or
    # a region cut from the middle of a take.
    cut_p: float = 0.0
    # Ride grooves: the share of grooves that keep time on the ride instead of the hi-hat
    # (``grooves.RIDE_P`` keeps every render as it always was), for hi-hats that a ride must not
    # fire, as on a jazz or breakbeat ride.
    ride_p: float = RIDE_P
    # Crash-led grooves (training only; 0 keeps every render as it always was): the share of the
    # ride grooves above that keep time on a crash or china instead, as a rock chorus or a metal
    # groove does, for hi-hats that a washy crash must not fire.
    crash_lead_p: float = 0.0
    # Takes that start anywhere (training only; 0 keeps every render as it always was): the share
    # of stream starts whose first hit is any hit of the groove's first two seconds (a pickup, a
    # fill, a lone snare or hi-hat) instead of the downbeat, where the kick nearly always plays:
    # without it a network learns that a first hit after silence is hardly ever a snare.
    start_anywhere_p: float = 0.0


#: Options the training loader renders with: the validation defaults plus kit voicing and
#: microphone bleed.
TRAINING_OPTIONS = SynthOptions(voicing_p=0.6, mics_p=0.5)

#: Overhead level per instrument family (relative to its close microphone), before the
#: per-clip overhead gain: overheads favour cymbals and hats over kick and snare.
OVERHEAD_LEVEL = {"kick": 0.25, "snare": 0.6, "sidestick": 0.6, "tom": 0.5}
#: Probability that an instrument family has no close microphone in a "recorded" clip.
NO_CLOSE_MIC_P = {"hihat": 0.5, "cymbal": 0.8, "tom": 0.2, "other": 0.5}


#: The instrument whose kit names each target class's kit in ``info.json`` (``clip_kits``).
CLASS_INSTRUMENT = {"kick": "kick", "snare": "snare", "hihat": "hihat_closed"}


def _family(inst: str) -> str:
    if inst.startswith("hihat"):
        return "hihat"
    if inst.startswith("tom"):
        return "tom"
    if inst in ("ride", "ride_bell", "crash", "china", "splash"):
        return "cymbal"
    if inst in ("kick", "snare", "sidestick"):
        return inst
    return "other"


@dataclass
class Microphones:
    """One clip's microphone set-up: which instruments have a close microphone, and the
    overhead pair's delay (samples) and level per instrument, its gain and high-pass."""

    close: dict[str, bool]
    delay: dict[str, int]
    level: dict[str, float]
    overhead_gain: float
    highpass_hz: float


def draw_microphones(rng: np.random.Generator, instruments: set[str], sr: int) -> Microphones:
    """A random close-plus-overhead set-up. Instruments without a close microphone sit close to
    the overheads (at most 1.5 ms later), so labels stay at the time the mix first hears them."""
    close, delay, level = {}, {}, {}
    for inst in sorted(instruments):  # sorted: a set's order changes with PYTHONHASHSEED
        fam = _family(inst)
        close[inst] = inst in ("kick", "snare") or rng.random() >= NO_CLOSE_MIC_P.get(fam, 0.0)
        late_ms = rng.uniform(1.0, 6.0) if close[inst] else rng.uniform(0.0, 1.5)
        delay[inst] = int(round(late_ms * sr / 1000))
        level[inst] = OVERHEAD_LEVEL.get(fam, 1.0) * float(rng.uniform(0.6, 1.4))
    return Microphones(close, delay, level, float(rng.uniform(0.3, 1.2)), float(rng.uniform(150, 700)))


@dataclass
class Voicing:
    """One instrument's re-voicing for one clip (see :func:`revoice`)."""

    rate: float  # playback-rate factor (pitch shift and length change together)
    decay_s: float  # extra exponential decay time constant, inf = none
    tilt: float  # one-pole brightness: > 0 darker (low-pass), < 0 brighter (pre-emphasis)
    #: Peaking bands ``(hz, gain_db, q)`` applied to the one-shot (empty: none).
    peaks: tuple[tuple[float, float, float], ...] = ()
    #: Cut-off of a steep (8th-order Butterworth) low-pass on the one-shot, inf = none.
    lowpass_hz: float = float("inf")


def draw_voicing(rng: np.random.Generator, options: SynthOptions) -> Voicing:
    """A random voicing: pitch +-``voicing_semitones``, sometimes a shorter decay, a tilt,
    (with ``voicing_eq_p``) one or two peaking bands or (with ``voicing_lowpass_p``) a steep
    low-pass. An option at 0 draws nothing, so older recipes render as they did."""
    rate = 2 ** (rng.uniform(-options.voicing_semitones, options.voicing_semitones) / 12)
    decay = float(np.exp(rng.uniform(np.log(0.04), np.log(0.6)))) if rng.random() < 0.4 else np.inf
    tilt = float(rng.uniform(-0.6, 0.8)) if rng.random() < 0.5 else 0.0
    peaks: tuple[tuple[float, float, float], ...] = ()
    if options.voicing_eq_p > 0 and rng.random() < options.voicing_eq_p:
        peaks = tuple(
            (
                float(np.exp(rng.uniform(np.log(60), np.log(9000)))),
                float(rng.uniform(-9, 9)),
                float(rng.uniform(0.7, 4)),
            )
            for _ in range(int(rng.integers(1, 3)))
        )
    lowpass_hz = float("inf")
    if options.voicing_lowpass_p > 0 and rng.random() < options.voicing_lowpass_p:
        lowpass_hz = float(np.exp(rng.uniform(np.log(3000), np.log(10000))))
    return Voicing(float(rate), decay, tilt, peaks, lowpass_hz)


def revoice(x: np.ndarray, v: Voicing, sr: int) -> np.ndarray:
    """Apply a :class:`Voicing` to a one-shot (linear-interpolated resampling, envelope, tilt)."""
    n_out = max(1, int(len(x) / v.rate))
    y = np.interp(np.arange(n_out) * v.rate, np.arange(len(x)), x).astype(np.float32)
    if np.isfinite(v.decay_s):
        y *= np.exp(-np.arange(n_out) / (v.decay_s * sr)).astype(np.float32)
    if v.tilt > 0:
        y = lfilter([1 - v.tilt], [1, -v.tilt], y).astype(np.float32)
    elif v.tilt < 0:
        y = lfilter([1, v.tilt], [1], y).astype(np.float32)
    for hz, gain_db, q in v.peaks:
        b, a = augment.peaking(hz, gain_db, q, sr)
        y = lfilter(b, a, y).astype(np.float32)
    if np.isfinite(v.lowpass_hz) and v.lowpass_hz < 0.45 * sr:
        y = sosfilt(butter(8, v.lowpass_hz, "low", fs=sr, output="sos"), y).astype(np.float32)
    peak = float(np.max(np.abs(y))) + 1e-9
    return (y * (float(np.max(np.abs(x))) / peak)).astype(np.float32)


def blend(x: np.ndarray, partner: np.ndarray, weight: float) -> np.ndarray:
    """Layer a one-shot with another (``weight`` of the partner), onsets aligned, keeping
    ``x``'s length and peak."""
    y = (1.0 - weight) * x
    m = min(len(x), len(partner))
    y[:m] += weight * partner[:m] * (float(np.max(np.abs(x))) / (float(np.max(np.abs(partner))) + 1e-9))
    peak = float(np.max(np.abs(y))) + 1e-9
    return (y * (float(np.max(np.abs(x))) / peak)).astype(np.float32)


def draw_blends(
    rng: np.random.Generator, kits: list[Kit], kit_for: dict[str, Kit], options: SynthOptions
) -> dict[str, tuple[Kit, float]]:
    """Instrument -> (partner kit, partner weight) for kit blending; empty when ``blend_p`` is 0
    (and then nothing is drawn from ``rng``)."""
    if not options.augment or options.blend_p <= 0:
        return {}
    out = {}
    for inst, kit in kit_for.items():
        if rng.random() >= options.blend_p:
            continue
        others = [k for k in kits if k.name != kit.name and inst in k.samples]
        if others:
            out[inst] = (others[int(rng.integers(len(others)))], float(rng.uniform(0.25, 0.6)))
    return out


def _nearest_layer(layers: list[tuple[float, np.ndarray]], vel: float, rng: np.random.Generator | None) -> np.ndarray:
    vs = np.fromiter((v for v, _ in layers), float, len(layers))
    d = np.abs(vs - vel)
    cand = np.flatnonzero(d <= d.min() + 0.02)
    i = int(cand[0] if rng is None or len(cand) == 1 else rng.choice(cand))
    return layers[i][1]


def _resolve(inst: str, kit: Kit) -> str | None:
    if inst in kit.samples:
        return inst
    for alt in FALLBACK.get(inst, ()):
        if alt in kit.samples:
            return alt
    return None


def assign_kits(rng: np.random.Generator, kits: list[Kit], options: SynthOptions) -> dict[str, Kit]:
    """Instrument -> kit for one clip: usually one kit, sometimes mixed."""
    full = [k for k in kits if all(c in k.samples for c in CORE)] or kits
    main = full[int(rng.integers(len(full)))]
    out: dict[str, Kit] = {}
    mixed = options.augment and rng.random() < options.mix_kits_p
    from .kits import INSTRUMENTS

    for inst in INSTRUMENTS:
        if not mixed and _resolve(inst, main) is not None:
            out[inst] = main
            continue
        have = [k for k in kits if inst in k.samples]
        if mixed and have:
            out[inst] = have[int(rng.integers(len(have)))]
        elif _resolve(inst, main) is not None:
            out[inst] = main
        elif have:
            out[inst] = have[int(rng.integers(len(have)))]
    return out


def render_events(
    events: list[tuple[int, str, float]],
    kit_for: dict[str, Kit],
    n: int,
    rng: np.random.Generator | None = None,
    options: SynthOptions | None = None,
    blends: dict[str, tuple[Kit, float]] | None = None,
    stems: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, list[tuple[int, str, float]]]:
    """Place one-shots at the given samples. Returns audio and the events actually
    rendered (instrument after kit fallback; events without a sample are dropped).
    ``blends`` (from :func:`draw_blends`) layers an instrument with a partner kit's.
    ``stems``, when given, receives each instrument's dry track (before microphones and the
    bus; filling it draws nothing from ``rng``)."""
    options = options or SynthOptions()
    aug = options.augment and rng is not None
    gamma = float(rng.uniform(*options.vel_gamma)) if aug else 1.0
    gains: dict[str, float] = {}
    out = np.zeros(n, dtype=np.float32)
    rendered: list[tuple[int, str, float]] = []
    # resolve and sort
    todo = []
    for s, inst, vel in events:
        kit = kit_for.get(inst)
        if kit is None:
            continue
        real = _resolve(inst, kit)
        if real is None or not 0 <= s < n:
            continue
        todo.append((int(s), real, float(vel), kit))
    todo.sort(key=lambda e: e[0])
    hat_closers = [e[0] for e in todo if e[1] in ("hihat_closed", "hihat_pedal")]
    voicings: dict[str, Voicing | None] = {}
    revoiced: dict[int, np.ndarray] = {}
    blended: dict[int, np.ndarray] = {}
    blends = blends or {}
    mics = None
    if aug and options.mics_p > 0 and rng.random() < options.mics_p:
        mics = draw_microphones(rng, {e[1] for e in todo}, SR)
        overhead = np.zeros(n, dtype=np.float32)
    for s, inst, vel, kit in todo:
        x = _nearest_layer(kit.samples[inst], vel, rng if aug else None)
        if aug and inst in blends and inst in blends[inst][0].samples:
            if id(x) not in blended:
                partner_kit, weight = blends[inst]
                blended[id(x)] = blend(x, _nearest_layer(partner_kit.samples[inst], vel, None), weight)
            x = blended[id(x)]
        if aug and options.voicing_p > 0:
            if inst not in voicings:
                voicings[inst] = draw_voicing(rng, options) if rng.random() < options.voicing_p else None
            if voicings[inst] is not None:
                if id(x) not in revoiced:
                    revoiced[id(x)] = revoice(x, voicings[inst], SR)
                x = revoiced[id(x)]
        if inst == "hihat_open" and options.choke and hat_closers:
            j = np.searchsorted(hat_closers, s, side="right")
            if j < len(hat_closers):
                stop = hat_closers[j] - s
                if stop < len(x):
                    x = x[: stop + 240].copy()
                    k = min(240, len(x))
                    x[-k:] *= np.linspace(1.0, 0.0, k, dtype=np.float32)
        amp = vel**gamma if aug else vel
        if aug:
            if inst not in gains:
                gains[inst] = 10 ** (rng.uniform(-options.inst_gain_db, options.inst_gain_db / 2) / 20)
            amp *= gains[inst]
        m = min(len(x), n - s)
        if stems is not None:
            stems.setdefault(inst, np.zeros(n, dtype=np.float32))[s : s + m] += amp * x[:m]
        if mics is None or mics.close[inst]:
            out[s : s + m] += amp * x[:m]
        if mics is not None:
            o = s + mics.delay[inst]
            k = max(0, min(len(x), n - o))
            overhead[o : o + k] += amp * mics.level[inst] * x[:k]
        rendered.append((s, inst, vel))
    if mics is not None:
        sos = butter(2, mics.highpass_hz, "high", fs=SR, output="sos")
        out += mics.overhead_gain * sosfilt(sos, overhead).astype(np.float32)
    return out, rendered


def mix_bus(x: np.ndarray, rng: np.random.Generator, sr: int, options: SynthOptions) -> np.ndarray:
    if not options.augment:
        return x
    if rng.random() < options.eq_p:
        x = augment.random_eq(x, rng, sr)
    if rng.random() < options.comp_p:
        x = augment.compress(x, rng, sr)
    if rng.random() < options.reverb_p:
        x = augment.reverb(x, rng, sr)
    if rng.random() < options.saturate_p:
        x = augment.saturate(x, rng)
    if rng.random() < options.lowpass_p:
        x = augment.lowpass(x, rng, sr)
    if rng.random() < options.highpass_p:
        x = augment.highpass(x, rng, sr)
    if rng.random() < options.noise_p:
        x = augment.add_noise(x, rng, sr)
    x = augment.random_gain(x, rng, *options.gain_db)
    return x


def _cut_at_a_hit(rng: np.random.Generator, groove: list[tuple[float, str, float]], sr: int) -> int:
    """Pre-roll (samples) that cuts the clip at one of ``groove``'s target hits 0.3-1.5 s in: the
    hit lands on the clip's first sample half the time and up to 5 ms after it otherwise
    (0.5 s of pre-roll when no such hit exists)."""
    targets = set(CLASS_INSTRUMENT.values()) | {"hihat_open", "hihat_pedal"}  # as run 32 trained
    hits = [t for t, inst, _ in groove if 0.3 <= t <= 1.5 and inst in targets]
    if not hits:
        return int(round(0.5 * sr))
    t = hits[int(rng.integers(len(hits)))]
    settle = 0.0 if rng.random() < 0.5 else rng.uniform(0.0, 0.005)
    return max(0, int(round((t - settle) * sr)))


def _start_at_any_hit(
    rng: np.random.Generator, groove: list[tuple[float, str, float]]
) -> list[tuple[float, str, float]]:
    """The groove from one of its hits in its first two seconds on (the hits before it dropped):
    an instrument drawn evenly from those that play there, then one of its hits, so that a take
    begins on a snare or a tom as often as on the hi-hat, which plays far more hits."""
    early = [(t, inst) for t, inst, _ in groove if t < groove[0][0] + 2.0]
    names = sorted({inst for _, inst in early})
    name = names[int(rng.integers(len(names)))]
    times = [t for t, inst in early if inst == name]
    start = times[int(rng.integers(len(times)))]
    return [e for e in groove if e[0] >= start]


def render_clip(
    rng: np.random.Generator,
    kits: list[Kit],
    seconds: float,
    sr: int = SR,
    options: SynthOptions | None = None,
    style: str | None = None,
    kits_used: dict[str, str] | None = None,
    procedural_pool: procedural.ProceduralPool | None = None,
    stems_out: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, list[tuple[int, str, float]]]:
    """Render a random groove. Returns (mono float32 audio, [(onset, instrument, vel)]).

    ``procedural_pool`` supplies the procedural kits when ``options.procedural_p`` > 0 (without
    one, each clip synthesises its own, which is slow).

    ``kits_used``, when given, receives the kit name behind each target class (for scoring
    per kit; filling it draws nothing from ``rng``). ``stems_out``, when given, receives each
    instrument's dry track, aligned with the returned audio (see :func:`render_events`)."""
    if sr != SR:
        raise ValueError(f"kits are prepared at {SR} Hz")
    options = options or SynthOptions()
    n = int(round(seconds * sr))
    # pre-roll: hits up to 0.5 s before the clip ring into it (tails only, no labels)
    pre = int(round(rng.uniform(0.0, 0.5) * sr)) if options.augment else 0
    starts = options.augment and options.start_p > 0 and rng.random() < options.start_p
    lead, digital_lead = 0, False
    if starts:
        pre = 0
        if rng.random() < 0.5:
            lead = int(round(rng.uniform(0.1, 1.5) * sr))
            digital_lead = bool(rng.random() < 0.5)
    cuts = options.augment and not starts and options.cut_p > 0 and rng.random() < options.cut_p
    if cuts:
        pre = int(round(1.5 * sr))
    groove, _ = generate_groove(
        rng,
        seconds + (pre - lead) / sr,
        style=style,
        from_downbeat=starts,
        ride_p=options.ride_p,
        crash_lead_p=options.crash_lead_p,
    )
    if cuts:
        pre = _cut_at_a_hit(rng, groove, sr)
    if starts and groove and options.start_anywhere_p > 0 and rng.random() < options.start_anywhere_p:
        groove = _start_at_any_hit(rng, groove)
    if starts and groove:
        # The first hit lands on the clip's first sample (after the lead-in), as in a loop or a
        # take cut at its downbeat, or within 5 ms of it half the time.
        settle = 0.0 if rng.random() < 0.5 else rng.uniform(0.0, 0.005)
        shift = lead / sr + settle - groove[0][0]
        groove = [(t + shift, inst, v) for t, inst, v in groove]
    if options.augment and options.stop_p > 0 and rng.random() < options.stop_p:
        stop_at = rng.uniform(0.5, max(0.6, seconds - 1.0)) + pre / sr
        stop_end = stop_at + rng.uniform(0.4, 1.5)
        groove = [e for e in groove if not stop_at <= e[0] < stop_end]
    kit_for = assign_kits(rng, kits, options)
    if options.augment:
        kit_for = procedural.substitute(
            rng, kit_for, options.procedural_p, sr, procedural_pool, options.procedural_distinct_cymbals
        )
    if kits_used is not None:
        kits_used.update({cls: kit_for[inst].name for cls, inst in CLASS_INSTRUMENT.items() if inst in kit_for})
    ev = [(int(round(t * sr)), inst, v) for t, inst, v in groove]
    blends = draw_blends(rng, kits, kit_for, options)
    stems = {} if stems_out is not None else None
    audio, rendered = render_events(ev, kit_for, n + pre, rng, options, blends, stems)
    if stems_out is not None:
        stems_out.update({inst: track[pre:] for inst, track in stems.items()})
    audio = mix_bus(audio, rng, sr, options)[pre:]
    if digital_lead:
        audio[:lead] = 0.0
    rendered = [(s - pre, inst, v) for s, inst, v in rendered if s >= pre]
    if not np.all(np.isfinite(audio)):
        audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
    return audio.astype(np.float32), rendered


# --------------------------------------------------------------------------- user audio

AUDIO_EXT = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff")


def iter_user_audio(
    folder: Path, sr: int, seconds: float, rng: np.random.Generator, min_rms: float = 1e-4
) -> Iterator[np.ndarray]:
    """Endless random crops (mono float32 at ``sr``) of audio files under ``folder``."""
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in AUDIO_EXT)
    infos = []
    for p in files:
        try:
            i = sf.info(str(p))
        except (RuntimeError, sf.LibsndfileError):
            continue
        if i.frames > 0:
            infos.append((p, i.samplerate, i.frames))
    if not infos:
        raise ValueError(f"no readable audio files under {folder}")
    weights = np.array([f / r for _, r, f in infos], float)
    weights /= weights.sum()
    n_out = int(round(seconds * sr))
    while True:
        p, fsr, frames = infos[int(rng.choice(len(infos), p=weights))]
        need = int(np.ceil(seconds * fsr))
        start = int(rng.integers(0, max(1, frames - need)))
        try:
            x, _ = sf.read(str(p), start=start, frames=need, dtype="float32", always_2d=True)
        except (RuntimeError, sf.LibsndfileError):
            continue
        x = x.mean(axis=1)
        if fsr != sr:
            g = gcd(int(fsr), int(sr))
            x = resample_poly(x, sr // g, int(fsr) // g).astype(np.float32)
        x = x[:n_out]
        if len(x) < n_out:
            x = np.pad(x, (0, n_out - len(x)))
        if float(np.sqrt(np.mean(x**2))) < min_rms:
            continue
        yield x.astype(np.float32)


# --------------------------------------------------------------------------- validation


def to_labels(events: list[tuple[int, str, float]], sr: int) -> list[tuple[float, str, int]]:
    out = []
    for s, inst, v in events:
        lab = LABEL_MAP.get(inst)
        if lab is not None:
            out.append((s / sr, lab, int(np.clip(round(v * 127), 1, 127))))
    return out


def render_validation_set(
    cache_dir: Path,
    out_dir: Path,
    n_clips: int = 200,
    seconds: float = 10.0,
    seed: int = 1234,
    options: SynthOptions | None = None,
    split: str = "validation",
    exclude: Collection[str] = (),
) -> list[Path]:
    """Render clips with validation kits only: clip_XXX.wav + clip_XXX.tsv
    (``time_seconds<TAB>label<TAB>velocity``, labels kick/snare/hihat, velocity 1..127).

    ``split="train"`` renders a threshold-tuning set from training kits instead, so that
    thresholds are never chosen on the held-out kits they are scored on. One-shots whose manifest
    paths are in ``exclude`` are never played (e.g. the multi-hit slices that
    ``model/scripts/oneshot-check.py`` flags, whose inner hits would be unlabelled; an unknown
    path is an error)."""
    kits = load_kits(cache_dir, split, exclude)
    if not kits:
        raise ValueError("no validation kits; run prepare-kits first")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    clip_kits: dict[str, dict[str, str]] = {}  # file stem -> class -> kit (evaluate.clip_kits)
    clip_events: dict[str, list] = {}  # file stem -> every rendered hit (evaluate.clip_events)
    for i in range(n_clips):
        wav = out_dir / f"clip_{i:03d}.wav"
        audio, ev = render_clip(rng, kits, seconds, SR, options, kits_used=clip_kits.setdefault(wav.stem, {}))
        clip_events[wav.stem] = [[round(s / SR, 6), inst, round(v, 4)] for s, inst, v in ev]
        sf.write(str(wav), audio, SR, subtype="FLOAT")
        with open(out_dir / f"clip_{i:03d}.tsv", "w") as f:
            for t, lab, v in to_labels(ev, SR):
                f.write(f"{t:.6f}\t{lab}\t{v}\n")
        paths.append(wav)
    (out_dir / "info.json").write_text(
        json.dumps(
            {
                "kits": [k.name for k in kits],
                "split": split,
                "n_clips": n_clips,
                "seconds": seconds,
                "seed": seed,
                "sr": SR,
                "mics_p": (options or SynthOptions()).mics_p,
                "excluded_oneshots": sorted(exclude),
                "labels": ["kick", "snare", "hihat"],
                "clip_kits": clip_kits,
                "clip_events": clip_events,
            },
            indent=1,
        )
    )
    return paths


def join_set(src_dir: Path, out_dir: Path, gap_seconds: float = 0.0) -> Path:
    """Join a rendered set's clips end to end into one stream, ``stream.wav`` + ``stream.tsv``
    (labels shifted by each clip's start; ``gap_seconds`` of silence between clips), with an
    ``info.json`` whose ``clip_events`` are shifted the same way. Scored as one file, it shows
    how the model recovers from abrupt changes of kit, level and mix, which clip-by-clip
    scoring (each clip from a fresh state) hides. For long streams without such changes,
    render long clips instead (``synth --seconds 60``)."""
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    wavs = sorted(src_dir.glob("clip_*.wav"))
    if not wavs:
        raise ValueError(f"no clip_*.wav in {src_dir}")
    info = json.loads((src_dir / "info.json").read_text()) if (src_dir / "info.json").exists() else {}
    src_events = info.get("clip_events") or {}
    parts, labels, events, start = [], [], [], 0
    gap = np.zeros(int(round(gap_seconds * SR)), np.float32)
    for i, wav in enumerate(wavs):
        audio, sr = sf.read(str(wav), dtype="float32")
        if sr != SR:
            raise ValueError(f"{wav} is at {sr} Hz, not {SR}")
        if i and len(gap):
            parts.append(gap)
            start += len(gap)
        offset = start / SR
        for line in wav.with_suffix(".tsv").read_text().splitlines():
            t, lab, vel = line.split("\t")
            labels.append(f"{float(t) + offset:.6f}\t{lab}\t{vel}")
        events += [[round(t + offset, 6), inst, v] for t, inst, v in src_events.get(wav.stem, [])]
        parts.append(audio)
        start += len(audio)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "stream.wav"
    sf.write(str(out), np.concatenate(parts), SR, subtype="FLOAT")
    (out_dir / "stream.tsv").write_text("\n".join(labels) + "\n")
    joined = {"joined_from": str(src_dir), "clips": len(wavs), "gap_seconds": gap_seconds, "sr": SR}
    if src_events:
        joined["clip_events"] = {"stream": events}
    (out_dir / "info.json").write_text(json.dumps(joined, indent=1))
    return out


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hitscribe_trainer.synth")
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("prepare-kits", help="extract one-shots into CACHE/kits")
    a.add_argument("--cache", type=Path, default=Path("model/cache"))
    a = sub.add_parser("render-validation", help="labelled clips from validation kits")
    a.add_argument("--cache", type=Path, default=Path("model/cache"))
    a.add_argument("--out", type=Path, default=None)
    a.add_argument("--n-clips", type=int, default=200)
    a.add_argument("--seconds", type=float, default=10.0)
    a.add_argument("--seed", type=int, default=1234)
    a = sub.add_parser("render", help="render unlabeled training clips (preview)")
    a.add_argument("--cache", type=Path, default=Path("model/cache"))
    a.add_argument("--out", type=Path, required=True)
    a.add_argument("--n-clips", type=int, default=10)
    a.add_argument("--seconds", type=float, default=3.0)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--split", default="train")
    a = sub.add_parser("bench", help="time render_clip")
    a.add_argument("--cache", type=Path, default=Path("model/cache"))
    a.add_argument("--n", type=int, default=200)
    a.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args(argv)
    if args.cmd == "prepare-kits":
        m = prepare_kits(args.cache)
        print(f"manifest: {m}")
    elif args.cmd == "render-validation":
        out = args.out or args.cache / "validation"
        paths = render_validation_set(args.cache, out, args.n_clips, args.seconds, args.seed)
        print(f"{len(paths)} clips in {out}")
    elif args.cmd == "render":
        kits = load_kits(args.cache, args.split)
        rng = np.random.default_rng(args.seed)
        args.out.mkdir(parents=True, exist_ok=True)
        for i in range(args.n_clips):
            audio, _ = render_clip(rng, kits, args.seconds)
            sf.write(str(args.out / f"train_{i:03d}.wav"), audio, SR, subtype="FLOAT")
        print(f"{args.n_clips} clips in {args.out}")
    elif args.cmd == "bench":
        kits = load_kits(args.cache, "train")
        rng = np.random.default_rng(0)
        render_clip(rng, kits, args.seconds)
        t0 = time.process_time()
        n_ev = 0
        for _ in range(args.n):
            _, ev = render_clip(rng, kits, args.seconds)
            n_ev += len(ev)
        dt = (time.process_time() - t0) / args.n
        print(
            f"{dt * 1000:.1f} ms CPU per {args.seconds:g} s clip, "
            f"{n_ev / args.n:.1f} events/clip, {len(kits)} train kits"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
