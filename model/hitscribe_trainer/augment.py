"""Fast numpy/scipy mix-bus augmentation: EQ, compression, room reverb,
saturation, noise, filters and gain. All functions take/return float32 mono."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, fftconvolve, lfilter, sosfilt

# Paul Kellet-style pink noise filter (-3 dB/oct), as an IIR (b, a).
_PINK_B = np.array([0.049922035, -0.095993537, 0.050612699, -0.004408786])
_PINK_A = np.array([1.0, -2.494956002, 2.017265875, -0.522189400])


def _biquad(kind: str, f0: float, gain_db: float, q: float, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """RBJ cookbook biquad (peaking, lowshelf, highshelf)."""
    a_ = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / sr
    cw, sw = np.cos(w0), np.sin(w0)
    alpha = sw / (2 * q)
    if kind == "peak":
        b = [1 + alpha * a_, -2 * cw, 1 - alpha * a_]
        a = [1 + alpha / a_, -2 * cw, 1 - alpha / a_]
    else:
        sq = 2 * np.sqrt(a_) * alpha
        if kind == "lowshelf":
            b = [
                a_ * ((a_ + 1) - (a_ - 1) * cw + sq),
                2 * a_ * ((a_ - 1) - (a_ + 1) * cw),
                a_ * ((a_ + 1) - (a_ - 1) * cw - sq),
            ]
            a = [(a_ + 1) + (a_ - 1) * cw + sq, -2 * ((a_ - 1) + (a_ + 1) * cw), (a_ + 1) + (a_ - 1) * cw - sq]
        else:
            b = [
                a_ * ((a_ + 1) + (a_ - 1) * cw + sq),
                -2 * a_ * ((a_ - 1) + (a_ + 1) * cw),
                a_ * ((a_ + 1) + (a_ - 1) * cw - sq),
            ]
            a = [(a_ + 1) - (a_ - 1) * cw + sq, 2 * ((a_ - 1) - (a_ + 1) * cw), (a_ + 1) - (a_ - 1) * cw - sq]
    b = np.asarray(b) / a[0]
    a = np.asarray(a) / a[0]
    return b, a


def peaking(f0: float, gain_db: float, q: float, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """One peaking band (``f0`` clamped below Nyquist) as ``(b, a)``."""
    return _biquad("peak", min(f0, sr * 0.45), gain_db, q, sr)


def random_eq(x: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Random low shelf, high shelf and 1-2 peaking bands (+-9 dB), one cascaded pass."""
    sos = []
    b, a = _biquad("lowshelf", rng.uniform(60, 300), rng.uniform(-9, 9), 0.707, sr)
    sos.append(np.concatenate([b, a]))
    b, a = _biquad("highshelf", rng.uniform(2000, min(10000, sr * 0.45)), rng.uniform(-9, 9), 0.707, sr)
    sos.append(np.concatenate([b, a]))
    for _ in range(rng.integers(1, 3)):
        f = np.exp(rng.uniform(np.log(100), np.log(min(8000, sr * 0.4))))
        b, a = _biquad("peak", f, rng.uniform(-9, 9), rng.uniform(0.5, 4), sr)
        sos.append(np.concatenate([b, a]))
    return sosfilt(np.array(sos), x).astype(np.float32)


def compress(x: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Feed-forward RMS compressor (vectorised one-pole detector and gain smoother)."""
    thr_db = rng.uniform(-30, -6)
    ratio = rng.uniform(1.5, 8)
    att = rng.uniform(0.001, 0.02)
    rel = rng.uniform(0.03, 0.3)
    peak = float(np.max(np.abs(x))) + 1e-9
    xn = x / peak
    c = np.exp(-1.0 / (att * sr))
    env = lfilter([1 - c], [1, -c], xn.astype(np.float64) ** 2)
    lvl = 10 * np.log10(np.maximum(env, 1e-12))
    gr = np.minimum(0.0, (thr_db - lvl) * (1 - 1 / ratio))
    cr = np.exp(-1.0 / (rel * sr))
    gr = lfilter([1 - cr], [1, -cr], gr)
    y = xn * 10 ** (gr / 20)
    makeup = 1.0 / (float(np.max(np.abs(y))) + 1e-9)
    return (y * makeup * peak).astype(np.float32)


def room_ir(rng: np.random.Generator, sr: int, rt60: float | None = None) -> np.ndarray:
    """Exponentially decaying noise IR with pre-delay, early reflections and darkening."""
    if rt60 is None:
        rt60 = rng.uniform(0.1, 1.5)
    n = int(min(rt60, 1.5) * sr)
    t = np.arange(n) / sr
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    # darken: one-pole lowpass
    c = rng.uniform(0.0, 0.7)
    ir = lfilter([1 - c], [1, -c], ir)
    pre = int(rng.uniform(0.002, 0.03) * sr)
    ir = np.concatenate([np.zeros(pre), ir])
    for _ in range(rng.integers(2, 8)):
        k = int(rng.uniform(0.001, 0.04) * sr)
        if k < len(ir):
            ir[k] += rng.uniform(-1, 1) * 3
    ir /= np.sqrt(np.sum(ir**2)) + 1e-9
    return ir.astype(np.float32)


def reverb(x: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    wet = rng.uniform(0.0, 0.4)
    ir = room_ir(rng, sr)
    y = fftconvolve(x, ir)[: len(x)]
    # equal-ish loudness: scale wet to dry RMS
    rx = float(np.sqrt(np.mean(x**2))) + 1e-9
    ry = float(np.sqrt(np.mean(y**2))) + 1e-9
    return ((1 - wet) * x + wet * y * (rx / ry)).astype(np.float32)


def saturate(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    peak = float(np.max(np.abs(x))) + 1e-9
    xn = x / peak
    if rng.random() < 0.5:
        drive = rng.uniform(1.0, 6.0)
        y = np.tanh(drive * xn) / np.tanh(drive)
    else:
        y = np.clip(xn, -rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.9))
        y /= float(np.max(np.abs(y))) + 1e-9
    return (y * peak).astype(np.float32)


def add_noise(x: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    """White/pink/hum noise at -70..-35 dB relative to the clip peak."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    peak = peak if peak > 1e-6 else 1.0
    level = 10 ** (rng.uniform(-70, -35) / 20) * peak
    n = len(x)
    kind = rng.integers(3)
    if kind == 0:
        z = rng.standard_normal(n)
    elif kind == 1:
        z = lfilter(_PINK_B, _PINK_A, rng.standard_normal(n))
    else:
        f0 = 50.0 if rng.random() < 0.5 else 60.0
        t = np.arange(n) / sr
        z = sum(rng.uniform(0.1, 1) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) for k in range(1, 6))
        z = z + 0.05 * rng.standard_normal(n)
    z = np.asarray(z)
    z = z / (np.sqrt(np.mean(z**2)) + 1e-12)
    return (x + level * z).astype(np.float32)


def lowpass(x: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    sos = butter(int(rng.choice([2, 4])), rng.uniform(2000, min(8000, sr * 0.45)), "low", fs=sr, output="sos")
    return sosfilt(sos, x).astype(np.float32)


def highpass(x: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    sos = butter(2, rng.uniform(30, 300), "high", fs=sr, output="sos")
    return sosfilt(sos, x).astype(np.float32)


def random_gain(x: np.ndarray, rng: np.random.Generator, lo_db: float = -30.0, hi_db: float = 3.0) -> np.ndarray:
    """Scale so the peak lands at a random level in [lo_db, hi_db] dBFS."""
    peak = float(np.max(np.abs(x)))
    if peak < 1e-9:
        return x
    return (x * (10 ** (rng.uniform(lo_db, hi_db) / 20) / peak)).astype(np.float32)
