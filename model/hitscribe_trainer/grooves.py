"""Random and style-based drum grooves.

``generate_groove(rng, seconds)`` returns a time-sorted list of
``(time_seconds, instrument, velocity)`` with instrument names from
``kits.INSTRUMENTS`` and velocity in (0, 1]. Timing and velocity are humanised;
ghost notes, flams, fills, open/pedal hats, toms/cymbals/percussion as
distractors, isolated single hits and silence gaps are included at random.
"""

from __future__ import annotations

import numpy as np

STYLES = (
    "rock",
    "funk",
    "jazz",
    "metal",
    "reggae",
    "latin",
    "shuffle",
    "halftime",
    "random",
    "sparse",
    "dense",
    "single",
)
STYLE_WEIGHTS = np.array([3, 2, 1.5, 1.5, 1, 1, 1, 1, 1.5, 1, 1, 0.7])
STYLE_WEIGHTS = STYLE_WEIGHTS / STYLE_WEIGHTS.sum()

TEMPO = {  # bpm ranges per style (all within 60..220)
    "rock": (70, 180),
    "funk": (80, 125),
    "jazz": (60, 220),
    "metal": (100, 220),
    "reggae": (60, 100),
    "latin": (80, 200),
    "shuffle": (70, 160),
    "halftime": (60, 180),
    "random": (60, 220),
    "sparse": (60, 140),
    "dense": (90, 220),
    "single": (60, 120),
}

BarEv = tuple[float, str, float, float]  # (beat, instrument, velocity, extra seconds)

TOMS = ("tom_high", "tom_mid", "tom_low")
CYMBALS = ("crash", "china", "splash", "ride", "ride_bell")
PERC = ("cowbell", "tambourine", "clap", "other")
#: Share of grooves that keep time on the ride instead of the hi-hat (as every render up to
#: run 33 drew it).
RIDE_P = 0.2


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


class _Ctx:
    """Per-clip random choices shared by all bars."""

    def __init__(self, rng: np.random.Generator, style: str, ride_p: float = RIDE_P, crash_lead_p: float = 0.0):
        self.rng = rng
        self.style = style
        self.hat_div = int(rng.choice([2, 4, 3], p=[0.5, 0.35, 0.15]))  # per beat
        self.timekeeper = str(rng.choice(["hihat_closed", "ride"], p=[1.0 - ride_p, ride_p]))
        # Drawn only when asked for, so that every render without it stays as it always was.
        if crash_lead_p > 0 and self.timekeeper == "ride" and rng.random() < crash_lead_p:
            self.timekeeper = str(rng.choice(["crash", "china"]))
        self.ghosts = rng.random() < 0.5
        self.ghost_p = _u(rng, 0.05, 0.3)
        self.open_p = _u(rng, 0.0, 0.25) if rng.random() < 0.6 else 0.0
        self.pedal = rng.random() < 0.25
        self.flam_p = _u(rng, 0.0, 0.15) if rng.random() < 0.4 else 0.0
        self.fill_p = _u(rng, 0.1, 0.5)
        self.kick_p = _u(rng, 0.1, 0.4)
        self.accent = _u(rng, 0.0, 0.35)
        self.sidestick = rng.random() < 0.15
        self.perc = [p for p in PERC if rng.random() < 0.07]
        self.tom_p = _u(rng, 0.0, 0.08)
        self.cym_p = _u(rng, 0.0, 0.15)
        self.kick_bar = self._kick_pattern()

    def _kick_pattern(self) -> list[float]:
        rng = self.rng
        base = [0.0, 2.0]
        extra = [
            b
            for b in np.arange(0, 4, 0.5 if rng.random() < 0.6 else 0.25)
            if b not in base and rng.random() < self.kick_p
        ]
        return sorted(base + [float(b) for b in extra])


def _hats(ctx: _Ctx, div: int | None = None, inst: str | None = None, vel: float = 0.7, beats: int = 4) -> list[BarEv]:
    rng = ctx.rng
    div = div or ctx.hat_div
    inst = inst or ctx.timekeeper
    out = []
    for i in range(beats * div):
        b = i / div
        v = vel * (1.0 if i % div == 0 else 1.0 - ctx.accent)
        name = inst
        if inst == "hihat_closed" and rng.random() < ctx.open_p and i % div != 0:
            name = "hihat_open"
        out.append((b, name, v, 0.0))
    return out


def _snare(ctx: _Ctx, beats: list[float], vel: float = 0.85) -> list[BarEv]:
    name = "sidestick" if ctx.sidestick else "snare"
    return [(b, name, vel, 0.0) for b in beats]


def _ghosts(ctx: _Ctx, grid: float = 0.25, beats: int = 4) -> list[BarEv]:
    rng = ctx.rng
    if not ctx.ghosts:
        return []
    return [
        (float(b), "snare", _u(rng, 0.08, 0.3), 0.0)
        for b in np.arange(0, beats, grid)
        if b % 1 != 0 and rng.random() < ctx.ghost_p
    ]


def _bar(ctx: _Ctx, beats: int) -> list[BarEv]:
    rng = ctx.rng
    s = ctx.style
    ev: list[BarEv] = []
    if s == "rock":
        ev += _hats(ctx)
        ev += [(b, "kick", 0.9, 0.0) for b in ctx.kick_bar]
        ev += _snare(ctx, [1.0, 3.0])
        ev += _ghosts(ctx)
    elif s == "funk":
        ev += _hats(ctx, div=4, vel=0.6)
        ev += [(b, "kick", 0.9, 0.0) for b in ctx.kick_bar]
        ev += [(float(b), "kick", 0.8, 0.0) for b in np.arange(0, 4, 0.25) if rng.random() < 0.12]
        ev += _snare(ctx, [1.0, 3.0])
        ctx.ghosts = True
        ev += _ghosts(ctx)
    elif s == "jazz":
        ride = "ride" if rng.random() < 0.85 else "hihat_closed"
        for b in range(beats):
            ev.append((float(b), ride, 0.65, 0.0))
            if b % 2 == 1:
                ev.append((b + 2 / 3, ride, 0.5, 0.0))
        ev += [(float(b), "hihat_pedal", 0.6, 0.0) for b in (1, 3) if b < beats]
        if rng.random() < 0.5:
            ev += [(float(b), "kick", _u(rng, 0.15, 0.35), 0.0) for b in range(beats)]
        ev += [
            (b + t, "snare", _u(rng, 0.2, 0.7), 0.0) for b in range(beats) for t in (0, 2 / 3) if rng.random() < 0.15
        ]
        ev += [(b + 2 / 3, "kick", _u(rng, 0.4, 0.8), 0.0) for b in range(beats) if rng.random() < 0.1]
    elif s == "metal":
        if rng.random() < 0.25:  # blast beat
            for i in range(beats * 4):
                ev.append((i / 4, "kick", 0.9, 0.0))
                ev.append((i / 4 + (0.125 if rng.random() < 0.5 else 0.0), "snare", 0.85, 0.0))
            ev += _hats(ctx, div=2, inst=str(rng.choice(["crash", "china", "ride", "hihat_closed"])))
        else:
            kd = float(rng.choice([0.25, 1 / 6, 0.5]))
            ev += [(float(b), "kick", 0.85, 0.0) for b in np.arange(0, beats, kd)]
            ev += _snare(ctx, [1.0, 3.0], vel=0.95)
            ev += _hats(
                ctx, div=int(rng.choice([1, 2])), inst=str(rng.choice(["hihat_closed", "crash", "china", "ride"]))
            )
    elif s == "reggae":
        ev += _hats(ctx, div=int(rng.choice([2, 3])))
        ev += [(2.0, "kick", 0.85, 0.0)]
        ev += [(2.0, "sidestick" if rng.random() < 0.5 else "snare", 0.8, 0.0)]
        if rng.random() < 0.3:
            ev += [(0.0, "kick", 0.8, 0.0)]
    elif s == "latin":
        kind = rng.integers(3)
        if kind == 0:  # bossa / son clave
            ev += [(b, "kick", 0.75, 0.0) for b in (0.0, 1.5, 2.0, 3.5)]
            ev += [(b, "sidestick", 0.7, 0.0) for b in (0.0, 1.5, 3.0)]
            ev += _hats(ctx, div=2)
        elif kind == 1:  # samba
            ev += [(b, "kick", 0.8, 0.0) for b in (0.0, 0.75, 1.0, 1.75, 2.0, 2.75, 3.0, 3.75)]
            ev += _hats(ctx, div=4, inst=str(rng.choice(["hihat_closed", "ride", "tambourine"])), vel=0.55)
            ev += [(float(b), "snare", _u(rng, 0.3, 0.8), 0.0) for b in np.arange(0, 4, 0.25) if rng.random() < 0.2]
        else:  # songo-ish
            ev += [(b, "kick", 0.8, 0.0) for b in (1.5, 3.5)]
            ev += [(b, "snare", 0.8, 0.0) for b in (0.75, 2.5, 3.0)]
            ev += [(float(b), "cowbell" if rng.random() < 0.5 else "ride_bell", 0.7, 0.0) for b in range(beats)]
            ev += _ghosts(ctx)
    elif s == "shuffle":
        for b in range(beats):
            ev.append((float(b), ctx.timekeeper, 0.7, 0.0))
            ev.append((b + 2 / 3, ctx.timekeeper, 0.5, 0.0))
            if ctx.ghosts and rng.random() < 0.4:
                ev.append((b + 1 / 3 if rng.random() < 0.5 else b + 2 / 3, "snare", _u(rng, 0.1, 0.3), 0.0))
        ev += [(0.0, "kick", 0.9, 0.0), (2.0, "kick", 0.9, 0.0)]
        ev += [(b + 2 / 3, "kick", 0.7, 0.0) for b in range(beats) if rng.random() < 0.2]
        ev += _snare(ctx, [1.0, 3.0])
    elif s == "halftime":
        ev += _hats(ctx)
        ev += [(b, "kick", 0.9, 0.0) for b in ctx.kick_bar if not 1.9 < b < 2.1]
        ev += _snare(ctx, [2.0], vel=0.95)
        ev += _ghosts(ctx)
    elif s in ("random", "dense", "sparse"):
        grid = float(rng.choice([0.25, 0.5, 1 / 3, 1 / 6, 0.125]))
        dens = {"random": _u(rng, 0.1, 0.5), "dense": _u(rng, 0.5, 0.9), "sparse": _u(rng, 0.02, 0.12)}[s]
        names = ["kick", "snare", "hihat_closed", "hihat_open", "hihat_pedal"]
        probs = np.array([3, 3, 4, 0.7, 0.6])
        if rng.random() < 0.7:
            names += list(TOMS) + list(CYMBALS) + ["sidestick", "clap"]
            probs = np.concatenate([probs, [0.6] * 3 + [0.4] * 5 + [0.3, 0.3]])
        probs = probs / probs.sum()
        for b in np.arange(0, beats, grid):
            n_hits = rng.binomial(3, dens / 2) if s == "dense" else int(rng.random() < dens)
            for _ in range(n_hits):
                ev.append((float(b), str(rng.choice(names, p=probs)), _u(rng, 0.1, 1.0), 0.0))
    if ctx.pedal and s not in ("jazz",) and s in ("rock", "halftime", "latin", "reggae"):
        ev += [(float(b), "hihat_pedal", _u(rng, 0.4, 0.7), 0.0) for b in range(beats) if rng.random() < 0.5]
    # distractors: toms, cymbals, percussion
    for b in np.arange(0, beats, 0.5):
        if rng.random() < ctx.tom_p:
            ev.append((float(b), str(rng.choice(TOMS)), _u(rng, 0.4, 1.0), 0.0))
        if rng.random() < ctx.cym_p / 2:
            ev.append((float(b), str(rng.choice(CYMBALS)), _u(rng, 0.4, 1.0), 0.0))
    for p in ctx.perc:
        step = float(rng.choice([0.5, 1.0, 0.25]))
        ev += [(float(b), p, _u(rng, 0.4, 0.9), 0.0) for b in np.arange(0, beats, step) if rng.random() < 0.6]
    return [e for e in ev if e[0] < beats]


def _fill(ctx: _Ctx, start_beat: float, beats: int) -> list[BarEv]:
    rng = ctx.rng
    grid = float(rng.choice([0.25, 1 / 3, 0.5, 1 / 6]))
    names = ["snare"] + [t for t in TOMS]
    ev = []
    b = start_beat
    order = rng.permutation(len(names)) if rng.random() < 0.3 else np.arange(len(names))
    n = max(1, int(round((beats - start_beat) / grid)))
    for i in range(n):
        name = names[int(order[min(len(names) - 1, i * len(names) // n)])]
        if rng.random() < 0.85:
            ev.append((b, name, _u(rng, 0.55, 1.0), 0.0))
        if rng.random() < 0.3:
            ev.append((b, "kick", _u(rng, 0.6, 1.0), 0.0))
        b += grid
    return ev


def generate_groove(
    rng: np.random.Generator,
    seconds: float,
    style: str | None = None,
    bpm: float | None = None,
    from_downbeat: bool = False,
    ride_p: float = RIDE_P,
    crash_lead_p: float = 0.0,
) -> tuple[list[tuple[float, str, float]], dict]:
    """Events ``(time_s, instrument, velocity)`` inside [0, seconds) and info.

    The clip starts anywhere within a bar, or, with ``from_downbeat``, 20 ms before the first
    bar's downbeat (a performance starting; the margin keeps the humanised downbeat inside the
    clip; the same random draws either way). ``ride_p`` is the share of grooves whose
    timekeeper is the ride (the same random draws for any value); ``crash_lead_p`` the share of
    those that keep time on a crash or china instead (draws one more number only when above 0)."""
    if style is None:
        style = str(rng.choice(STYLES, p=STYLE_WEIGHTS))
    lo, hi = TEMPO[style]
    if bpm is None:
        bpm = _u(rng, lo, hi)
    info = {"style": style, "bpm": bpm}
    if style == "single":
        ev = _single_hits(rng, seconds)
        return _finish(rng, ev, seconds), info
    ctx = _Ctx(rng, style, ride_p, crash_lead_p)
    beat_s = 60.0 / bpm
    beats = 3 if (rng.random() < 0.08 and style in ("jazz", "random")) else 4
    bar_s = beats * beat_s
    t0 = -_u(rng, 0.0, bar_s)  # clip starts anywhere within a bar
    if from_downbeat:
        t0 = 0.02
    jitter = _u(rng, 0.0, 0.008)
    inst_offset = {k: rng.normal(0, 0.003) for k in ("kick", "snare", "hihat_closed")}
    dyn = _u(rng, 0.45, 1.0)
    vel_sd = _u(rng, 0.03, 0.15)
    out: list[tuple[float, str, float]] = []
    bar_i = 0
    fill_every = int(rng.choice([2, 4, 8]))
    prev_fill = False
    while t0 + bar_i * bar_s < seconds:
        bar_ev = _bar(ctx, beats)
        if prev_fill or (bar_i == 0 and rng.random() < 0.2):
            bar_ev.append((0.0, str(rng.choice(["crash", "crash", "china", "splash"])), _u(rng, 0.7, 1.0), 0.0))
            bar_ev.append((0.0, "kick", _u(rng, 0.7, 1.0), 0.0))
        prev_fill = False
        if (bar_i + 1) % fill_every == 0 and rng.random() < ctx.fill_p:
            fs = float(beats - rng.choice([1, 2, 0.5]))
            bar_ev = [e for e in bar_ev if e[0] < fs or e[1] in ("hihat_pedal",)]
            bar_ev += _fill(ctx, fs, beats)
            prev_fill = True
        # flams
        flams = [
            (b, n, v * _u(rng, 0.25, 0.5), -_u(rng, 0.012, 0.035))
            for b, n, v, _ in bar_ev
            if n in ("snare", *TOMS) and v > 0.5 and rng.random() < ctx.flam_p
        ]
        bar_ev += flams
        for b, n, v, dt in bar_ev:
            t = t0 + bar_i * bar_s + b * beat_s + dt + rng.normal(0, jitter) + inst_offset.get(n, 0.0)
            vel = v * dyn * (1.0 + rng.normal(0, vel_sd))
            out.append((t, n, vel))
        bar_i += 1
    # silence gaps
    if rng.random() < 0.25 and seconds > 1.0:
        g0 = _u(rng, 0, seconds)
        g1 = g0 + _u(rng, 0.3, 1.5)
        out = [e for e in out if not g0 <= e[0] < g1]
    # occasional extra isolated hits
    if rng.random() < 0.1:
        out += _single_hits(rng, seconds, max_hits=2)
    return _finish(rng, out, seconds), info


def _single_hits(rng: np.random.Generator, seconds: float, max_hits: int = 8) -> list[tuple[float, str, float]]:
    from .kits import INSTRUMENTS

    names = list(INSTRUMENTS)
    p = np.ones(len(names))
    for i, n in enumerate(names):
        if n in ("kick", "snare", "hihat_closed", "hihat_open", "hihat_pedal"):
            p[i] = 4.0
    p /= p.sum()
    out = []
    t = _u(rng, 0.0, 0.5)
    while t < seconds and len(out) < max_hits:
        out.append((t, str(rng.choice(names, p=p)), _u(rng, 0.1, 1.0)))
        t += _u(rng, 0.25, 1.5)
    return out


def _finish(
    rng: np.random.Generator, ev: list[tuple[float, str, float]], seconds: float
) -> list[tuple[float, str, float]]:
    out = [(float(t), n, float(np.clip(v, 0.03, 1.0))) for t, n, v in ev if 0 <= t < seconds]
    out.sort(key=lambda e: (e[0], e[1]))
    # merge exact duplicates of the same instrument closer than 5 ms
    merged: list[tuple[float, str, float]] = []
    last: dict[str, int] = {}
    for e in out:
        j = last.get(e[1])
        if j is not None and e[0] - merged[j][0] < 0.005:
            if e[2] > merged[j][2]:
                merged[j] = (merged[j][0], e[1], e[2])
            continue
        last[e[1]] = len(merged)
        merged.append(e)
    return merged
