"""Procedural drum kits: one-shots synthesised from random physical and analogue-style recipes.

The 52 training kits are a few dozen points in the space of drum timbres; the held-out kits
that the model misses most (electronic kits, small rooms) sit between them. These recipes
draw a new kit for every clip from continuous parameter ranges (membrane modes with pitch
drops, band-passed snare wires, metallic partial clusters for hats and cymbals, clap bursts),
so that training sees timbres no sample pack has. They are training-only: with
``SynthOptions.procedural_p`` at 0 (the default) nothing is drawn and every render is as before.

A kit's three hi-hat articulations share one metallic spectrum (one pair of cymbals) and
differ in decay and brightness, as real hats do. With ``distinct_cymbals`` (``SynthOptions.
procedural_distinct_cymbals``; off, as runs 21a-22 trained) the hats keep their recipe with
open hats of at most 0.7 s, and rides and crashes get recipes closer to the sample packs':
a ride is a stick ping over a few low bell partials and a long, tonal wash nearer the packs'
rides in brightness (centroid about 4.5-6 kHz against the packs' 6.3 kHz median; the older
recipe's rides sit near 3.3-3.5 kHz, darker than the packs' rides), and a crash is
broadband and noisy with its lows kept. Velocity layers differ in brightness only;
each one-shot is peak-normalised to 0.9 like the prepared kits (``kits.to_oneshot``).

A full kit takes about 0.4 s to synthesise, so the training loader keeps a
:class:`ProceduralPool` of kits and replaces one every few dozen clips.

API:
  procedural_kit(rng, instruments, sr, distinct_cymbals=False) -> Kit  (layers for the instruments asked for)
  ProceduralPool(seed, sr, size, refresh_every, distinct_cymbals=False).draw(rng) -> Kit  (a full kit)
  substitute(rng, kit_for, p, sr, pool=None, distinct_cymbals=False) -> kit_for with a share ``p`` procedural
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt

from .kits import INSTRUMENTS, Kit

#: Velocities of the layers each procedural instrument gets (brighter when harder).
LAYER_VELOCITIES = (0.35, 0.65, 0.95)
#: Longest one-shot, seconds (as ``kits.MAX_SECONDS``).
MAX_SECONDS = 1.5
#: Instruments that share the kit's metallic hi-hat spectrum.
HIHATS = ("hihat_closed", "hihat_open", "hihat_pedal")


def _time(seconds: float, sr: int) -> np.ndarray:
    return np.arange(int(min(seconds, MAX_SECONDS) * sr)) / sr


def _band_noise(rng: np.random.Generator, n: int, lo: float, hi: float, sr: int) -> np.ndarray:
    """White noise band-passed to ``[lo, hi]`` Hz (clamped below Nyquist)."""
    hi = min(hi, sr * 0.45)
    lo = min(max(lo, 20.0), hi * 0.8)
    sos = butter(2, (lo, hi), "bandpass", fs=sr, output="sos")
    return sosfilt(sos, rng.standard_normal(n)).astype(np.float64)


def _partials(
    rng: np.random.Generator, t: np.ndarray, freqs: np.ndarray, amps: np.ndarray, decays: np.ndarray
) -> np.ndarray:
    """Sum of exponentially decaying sines with random phases."""
    out = np.zeros(len(t))
    phases = rng.uniform(0, 2 * np.pi, len(freqs))
    for f, a, d, ph in zip(freqs, amps, decays, phases, strict=True):
        out += a * np.sin(2 * np.pi * f * t + ph) * np.exp(-t / d)
    return out


def _brighten(x: np.ndarray, velocity: float, sr: int, base_hz: float) -> np.ndarray:
    """Low-pass whose cutoff rises with velocity (harder hits ring brighter)."""
    cutoff = min(base_hz * (0.4 + velocity), sr * 0.45)
    sos = butter(1, cutoff, "low", fs=sr, output="sos")
    return sosfilt(sos, x)


def _finish(x: np.ndarray) -> np.ndarray:
    """Fade the last 5 ms, peak-normalise to 0.9, float32."""
    x = np.asarray(x, np.float64)
    k = min(len(x), 120)
    x[-k:] *= np.linspace(1.0, 0.0, k)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if not np.isfinite(peak) or peak < 1e-9:
        raise ValueError("procedural one-shot came out silent")
    return (0.9 * x / peak).astype(np.float32)


def _membrane(
    rng: np.random.Generator, sr: int, f0: float, decay: float, drop: float, ratios: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """A drum head: a few modes with a shared pitch drop; returns (t, signal)."""
    t = _time(decay * 5, sr)
    sweep = 1.0 + drop * np.exp(-t / rng.uniform(0.004, 0.05))
    out = np.zeros(len(t))
    for i, r in enumerate(ratios):
        amp = 1.0 if i == 0 else rng.uniform(0.05, 0.6)
        phase = 2 * np.pi * np.cumsum(f0 * r * sweep) / sr
        out += amp * np.sin(phase) * np.exp(-t / (decay * rng.uniform(0.4, 1.0) if i else decay))
    return t, out


def _kick(rng: np.random.Generator, sr: int) -> list[tuple[float, np.ndarray]]:
    f_end = rng.uniform(38, 90)
    drop = float(np.exp(rng.uniform(np.log(0.5), np.log(7))))
    decay = float(np.exp(rng.uniform(np.log(0.06), np.log(0.6))))
    click_decay = rng.uniform(0.001, 0.008)
    click_level = rng.uniform(0.0, 0.7)
    drive = rng.uniform(1.0, 4.0) if rng.random() < 0.5 else 1.0
    t, body = _membrane(rng, sr, f_end, decay, drop, (1.0, rng.uniform(1.5, 2.6)))
    noise = _band_noise(rng, len(t), rng.uniform(800, 3000), rng.uniform(5000, 11000), sr)
    layers = []
    for v in LAYER_VELOCITIES:
        click = click_level * (0.5 + v) * noise * np.exp(-t / click_decay)
        x = np.tanh(drive * (body + click)) if drive > 1 else body + click
        layers.append((v, _finish(_brighten(x, v, sr, 4000.0))))
    return layers


def _snare(rng: np.random.Generator, sr: int) -> list[tuple[float, np.ndarray]]:
    f0 = rng.uniform(150, 340)
    decay = rng.uniform(0.04, 0.2)
    drop = rng.uniform(0.0, 0.4)  # drawn before the ratios, as runs 21a/21b trained
    ratios = (1.0, rng.uniform(1.45, 1.75), rng.uniform(2.0, 2.4))
    t, head = _membrane(rng, sr, f0, decay, drop, ratios)
    wires_decay = rng.uniform(0.07, 0.35)
    t = _time(max(decay, wires_decay) * 5, sr)
    head = np.pad(head, (0, max(0, len(t) - len(head))))[: len(t)]
    wires = _band_noise(rng, len(t), rng.uniform(800, 3000), rng.uniform(5000, 11500), sr)
    wires *= np.exp(-t / wires_decay)
    wires /= np.max(np.abs(wires)) + 1e-9
    mix = float(np.exp(rng.uniform(np.log(0.3), np.log(3.0))))
    layers = []
    for v in LAYER_VELOCITIES:
        x = head + mix * (0.6 + 0.6 * v) * wires
        layers.append((v, _finish(_brighten(x, v, sr, 7000.0))))
    return layers


def _sidestick(rng: np.random.Generator, sr: int) -> list[tuple[float, np.ndarray]]:
    t = _time(0.3, sr)
    mode = _partials(
        rng,
        t,
        np.array([rng.uniform(350, 950), rng.uniform(1200, 2500)]),
        np.array([1.0, 0.4]),
        np.array([rng.uniform(0.015, 0.06), rng.uniform(0.005, 0.02)]),
    )
    click = _band_noise(rng, len(t), 1000, 8000, sr) * np.exp(-t / rng.uniform(0.002, 0.008))
    return [(v, _finish(_brighten(mode + 0.5 * click, v, sr, 6000.0))) for v in LAYER_VELOCITIES]


def _tom(rng: np.random.Generator, sr: int, lo: float, hi: float) -> list[tuple[float, np.ndarray]]:
    f0 = rng.uniform(lo, hi)
    decay = float(np.exp(rng.uniform(np.log(0.12), np.log(0.6))))
    t, head = _membrane(rng, sr, f0, decay, rng.uniform(0.0, 0.6), (1.0, rng.uniform(1.5, 1.65), rng.uniform(2.0, 2.3)))
    stick = _band_noise(rng, len(t), 1000, 7000, sr) * np.exp(-t / rng.uniform(0.002, 0.01))
    return [(v, _finish(_brighten(head + 0.3 * v * stick, v, sr, 3000.0))) for v in LAYER_VELOCITIES]


def _metal_spectrum(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and amplitudes of one metallic object (808-style square cluster or partials)."""
    if rng.random() < 0.4:  # six detuned squares, as analogue hats: odd harmonics of each
        base = np.array([205.3, 304.4, 369.6, 522.7, 540.0, 800.0]) * rng.uniform(0.6, 1.6)
        freqs = np.concatenate([base * k for k in (1, 3, 5, 7, 9, 11, 13, 15)])
        amps = np.concatenate([np.full(6, 1.0 / k) for k in (1, 3, 5, 7, 9, 11, 13, 15)])
    else:
        count = int(rng.integers(12, 60))
        freqs = np.exp(rng.uniform(np.log(1500), np.log(11500), count))
        amps = rng.uniform(0.2, 1.0, count)
    return freqs, amps


def _metal(
    rng: np.random.Generator,
    sr: int,
    spectrum: tuple[np.ndarray, np.ndarray],
    decay: float,
    highpass_hz: float,
    noise_share: float,
    brightness_hz: float,
) -> list[tuple[float, np.ndarray]]:
    """A metallic hit: the spectrum's partials (high decays faster) plus band noise, high-passed."""
    freqs, amps = spectrum
    keep = freqs < sr * 0.45
    freqs, amps = freqs[keep], amps[keep]
    t = _time(decay * 5, sr)
    decays = decay * (freqs / 3000.0) ** -rng.uniform(0.0, 0.5)
    tone = _partials(rng, t, freqs, amps, decays)
    tone /= np.max(np.abs(tone)) + 1e-9
    noise = _band_noise(rng, len(t), 2000, 11500, sr) * np.exp(-t / decay)
    noise /= np.max(np.abs(noise)) + 1e-9
    x = (1 - noise_share) * tone + noise_share * noise
    x = sosfilt(butter(2, min(highpass_hz, sr * 0.4), "high", fs=sr, output="sos"), x)
    return [(v, _finish(_brighten(x, v, sr, brightness_hz))) for v in LAYER_VELOCITIES]


def _hihats(
    rng: np.random.Generator, sr: int, wanted: set[str], distinct_cymbals: bool = False
) -> dict[str, list[tuple[float, np.ndarray]]]:
    """Closed, open and pedal hats of one pair of cymbals."""
    spectrum = _metal_spectrum(rng)
    hp = rng.uniform(2500, 8000)
    noise = rng.uniform(0.1, 0.8)
    bright = rng.uniform(6000, 12000)
    decays = {  # (drawn in this order, as runs 21a-22 trained)
        "hihat_closed": float(np.exp(rng.uniform(np.log(0.015), np.log(0.09)))),
        # distinct cymbals: open hats ring at most 0.7 s, shorter than most rides
        "hihat_open": rng.uniform(0.25, 0.7 if distinct_cymbals else 1.0),
        "hihat_pedal": rng.uniform(0.02, 0.06),
    }
    out = {}
    for inst in HIHATS:
        if inst in wanted:
            pedal = inst == "hihat_pedal"
            out[inst] = _metal(
                rng, sr, spectrum, decays[inst], hp * (0.6 if pedal else 1.0), noise, bright * (0.5 if pedal else 1.0)
            )
    return out


def _distinct_ride(rng: np.random.Generator, sr: int) -> list[tuple[float, np.ndarray]]:
    """A ride in the distinct-cymbal recipes: a stick ping, a few low bell partials and a long,
    mostly tonal wash of dense partials (centroid about 4.5-6 kHz, nearer the sample packs' rides
    than the default recipe's), lightly high-passed: tonal and sustained where the hats are short."""
    t = _time(MAX_SECONDS, sr)
    count = int(rng.integers(80, 250))
    freqs = np.exp(rng.uniform(np.log(rng.uniform(2000, 4000)), np.log(11500), count))
    freqs = freqs[freqs < sr * 0.45]
    wash_decay = rng.uniform(0.6, 2.0)
    wash = _partials(rng, t, freqs, rng.uniform(0.1, 1.0, len(freqs)), wash_decay * (freqs / 4000.0) ** -0.1)
    wash /= np.max(np.abs(wash)) + 1e-9
    bells = int(rng.integers(3, 8))
    bell = _partials(
        rng,
        t,
        np.exp(rng.uniform(np.log(400), np.log(1500), bells)),
        rng.uniform(0.5, 1.0, bells),
        np.full(bells, rng.uniform(0.5, 1.5)),
    )
    bell /= np.max(np.abs(bell)) + 1e-9
    ping = _band_noise(rng, len(t), rng.uniform(2000, 4000), rng.uniform(6000, 10000), sr)
    ping *= np.exp(-t / rng.uniform(0.003, 0.012))
    ping /= np.max(np.abs(ping)) + 1e-9
    hiss = _band_noise(rng, len(t), 3000, 11500, sr) * np.exp(-t / wash_decay)
    hiss /= np.max(np.abs(hiss)) + 1e-9
    bell_level, ping_level, hiss_level = rng.uniform(0.05, 0.3), rng.uniform(0.3, 0.9), rng.uniform(0.02, 0.15)
    x = wash + bell_level * bell + hiss_level * hiss
    x = sosfilt(butter(2, rng.uniform(150, 400), "high", fs=sr, output="sos"), x)
    bright = rng.uniform(5000, 9000)
    return [(v, _finish(_brighten(x + ping_level * (0.5 + v) * ping, v, sr, bright))) for v in LAYER_VELOCITIES]


def _cymbal(
    rng: np.random.Generator, sr: int, inst: str, distinct_cymbals: bool = False
) -> list[tuple[float, np.ndarray]]:
    if distinct_cymbals and inst == "ride":
        return _distinct_ride(rng, sr)
    if inst == "ride_bell":
        count = int(rng.integers(4, 10))
        freqs = np.exp(rng.uniform(np.log(600), np.log(3500), count))
        return _metal(rng, sr, (freqs, rng.uniform(0.4, 1.0, count)), rng.uniform(0.4, 1.2), 400.0, 0.05, 9000.0)
    count = int(rng.integers(60, 200))
    freqs = np.exp(rng.uniform(np.log(400), np.log(11500), count))
    amps = rng.uniform(0.1, 1.0, count)
    decay = {"ride": rng.uniform(0.6, 1.5), "splash": rng.uniform(0.2, 0.6)}.get(inst, rng.uniform(0.6, 1.5))
    noise = rng.uniform(0.05, 0.3) if inst == "ride" else rng.uniform(0.4, 0.9)
    if distinct_cymbals:  # crashes, chinas and splashes: broadband and noisy, lows kept
        decay = decay if inst == "splash" else rng.uniform(0.8, 1.5)
        hp = rng.uniform(200, 800)
    else:
        hp = rng.uniform(300, 1500)
    layers = _metal(rng, sr, (freqs, amps), decay, hp, noise, rng.uniform(6000, 12000))
    if inst == "china":
        layers = [(v, _finish(np.tanh(3.0 * x))) for v, x in layers]
    return layers


def _clap(rng: np.random.Generator, sr: int) -> list[tuple[float, np.ndarray]]:
    t = _time(0.6, sr)
    band = (rng.uniform(700, 1500), rng.uniform(2500, 6000))
    out = np.zeros(len(t))
    start = 0.0
    for _ in range(int(rng.integers(3, 6))):
        env = np.where(t >= start, np.exp(-(t - start) / rng.uniform(0.003, 0.008)), 0.0)
        out += env * _band_noise(rng, len(t), *band, sr)
        start += rng.uniform(0.006, 0.015)
    tail = np.where(t >= start, np.exp(-(t - start) / rng.uniform(0.05, 0.3)), 0.0)
    out += 0.5 * tail * _band_noise(rng, len(t), *band, sr)
    return [(v, _finish(_brighten(out, v, sr, 8000.0))) for v in LAYER_VELOCITIES]


def _small_percussion(rng: np.random.Generator, sr: int, inst: str) -> list[tuple[float, np.ndarray]]:
    """Cowbell, tambourine and other (woodblock-like) percussion."""
    t = _time(0.5, sr)
    if inst == "cowbell":
        f = rng.uniform(480, 620)
        x = np.sign(np.sin(2 * np.pi * f * t)) + np.sign(np.sin(2 * np.pi * f * rng.uniform(1.4, 1.55) * t))
        x = sosfilt(butter(2, (500, 3500), "bandpass", fs=sr, output="sos"), x) * np.exp(-t / rng.uniform(0.05, 0.3))
    elif inst == "tambourine":
        x = np.zeros(len(t))
        start = 0.0
        for _ in range(int(rng.integers(2, 5))):
            x += np.where(t >= start, np.exp(-(t - start) / rng.uniform(0.03, 0.15)), 0.0) * _band_noise(
                rng, len(t), 5000, 11500, sr
            )
            start += rng.uniform(0.004, 0.02)
    else:
        x = _partials(rng, t, np.array([rng.uniform(500, 2500)]), np.array([1.0]), np.array([rng.uniform(0.015, 0.08)]))
    return [(v, _finish(_brighten(x, v, sr, 9000.0))) for v in LAYER_VELOCITIES]


def procedural_kit(rng: np.random.Generator, instruments: set[str], sr: int, distinct_cymbals: bool = False) -> Kit:
    """A new random kit with velocity layers for each of ``instruments`` (names from
    ``kits.INSTRUMENTS``); ``distinct_cymbals`` picks the brighter ride and broadband crash recipes
    and open hats within 0.7 s decay."""
    kit = Kit("procedural")
    toms = {"tom_high": (140, 320), "tom_mid": (95, 200), "tom_low": (55, 130)}
    for inst, layers in _hihats(rng, sr, set(instruments), distinct_cymbals).items():
        kit.samples[inst] = layers
    for inst in sorted(instruments):
        if inst in kit.samples:
            continue
        if inst == "kick":
            kit.samples[inst] = _kick(rng, sr)
        elif inst == "snare":
            kit.samples[inst] = _snare(rng, sr)
        elif inst == "sidestick":
            kit.samples[inst] = _sidestick(rng, sr)
        elif inst in toms:
            kit.samples[inst] = _tom(rng, sr, *toms[inst])
        elif inst in ("ride", "ride_bell", "crash", "china", "splash"):
            kit.samples[inst] = _cymbal(rng, sr, inst, distinct_cymbals)
        elif inst == "clap":
            kit.samples[inst] = _clap(rng, sr)
        elif inst in ("cowbell", "tambourine", "other"):
            kit.samples[inst] = _small_percussion(rng, sr, inst)
    return kit


class ProceduralPool:
    """A pool of full procedural kits that renews itself: ``draw`` returns a random member and,
    every ``refresh_every`` draws, replaces one member with a new kit (its own generator, so
    the caller's random stream does not depend on the pool)."""

    def __init__(self, seed: int, sr: int, size: int = 32, refresh_every: int = 48, distinct_cymbals: bool = False):
        self.rng = np.random.default_rng(seed)
        self.sr = sr
        self.refresh_every = refresh_every
        self.distinct_cymbals = distinct_cymbals
        self.draws = 0
        self.kits = [self._new_kit() for _ in range(size)]

    def _new_kit(self) -> Kit:
        return procedural_kit(self.rng, set(INSTRUMENTS), self.sr, self.distinct_cymbals)

    def draw(self, rng: np.random.Generator) -> Kit:
        """A random kit of the pool (``rng`` picks it)."""
        self.draws += 1
        if self.draws % self.refresh_every == 0:
            self.kits[int(self.rng.integers(len(self.kits)))] = self._new_kit()
        return self.kits[int(rng.integers(len(self.kits)))]


def substitute(
    rng: np.random.Generator,
    kit_for: dict,
    p: float,
    sr: int,
    pool: ProceduralPool | None = None,
    distinct_cymbals: bool = False,
) -> dict:
    """``kit_for`` (instrument -> Kit) with each instrument, with probability ``p``, taken from one
    procedural kit instead (the three hi-hats decide together): a member of ``pool``, or a new
    kit (``distinct_cymbals`` recipes or not) when there is none. ``p`` <= 0 draws nothing."""
    if p <= 0:
        return kit_for
    chosen = set()
    hats = rng.random() < p
    for inst in kit_for:
        if inst in HIHATS:
            if hats:
                chosen.add(inst)
        elif rng.random() < p:
            chosen.add(inst)
    if not chosen:
        return kit_for
    kit = pool.draw(rng) if pool is not None else procedural_kit(rng, chosen, sr, distinct_cymbals)
    out = dict(kit_for)
    for inst in chosen:
        if inst in kit.samples:
            out[inst] = kit
    return out
