"""Probe for level-informed velocity (model/results/velocity-level.md).

For each transcribed note (an engine TSV beside each render), the loudest band power (dB) of the
input in a few 512-sample frames around it; velocity + beta x (level - running mean of the class's
levels, rate alpha); mean per-file Pearson r over matched notes, per class.

  velocity-level-probe.py scan EST_DIR DATA_DIR [--causal]
  velocity-level-probe.py apply EST_DIR DATA_DIR ALPHA BETA [--causal]

``--causal`` keeps only the frames the engine has when it emits a note (the note's frame - 1 to
+ 2, as ``engine/src/level.rs``); without it the window reaches one hop further.
"""

from __future__ import annotations

import glob
import itertools
import os
import sys

import numpy as np
import soundfile as sf
from scipy.signal import stft

BANDS = {"kick": (30, 150), "snare": (150, 4000), "hihat": (6000, 11500)}
HOP = 240


def read_tsv(path: str) -> list[tuple[float, str, int]]:
    rows = []
    for line in open(path):
        t, label, vel = line.split("\t")
        rows.append((float(t), label, int(vel)))
    return rows


def match(refs: list[tuple[float, int]], ests: list[tuple[float, int]]) -> dict[int, int]:
    """Estimated note index -> reference velocity (greedy nearest within 50 ms)."""
    out, used = {}, set()
    for t_ref, v_ref in refs:
        best = None
        for j, (t_est, _) in enumerate(ests):
            if j not in used and abs(t_est - t_ref) <= 0.05:
                if best is None or abs(t_est - t_ref) < abs(ests[best][0] - t_ref):
                    best = j
        if best is not None:
            used.add(best)
            out[best] = v_ref
    return out


def load(est_dir: str, data_dir: str, causal: bool) -> list[dict]:
    files = []
    for wav in sorted(glob.glob(data_dir + "/*.wav")):
        name = os.path.basename(wav)[:-4]
        refs, ests = read_tsv(wav[:-4] + ".tsv"), read_tsv(f"{est_dir}/{name}.tsv")
        x, sr = sf.read(wav)
        x = x.mean(1) if x.ndim > 1 else x
        freqs, _, spec = stft(x, sr, nperseg=512, noverlap=512 - HOP, boundary=None, padded=False)
        power = np.abs(spec) ** 2
        per_class = {}
        for label, (lo, hi) in BANDS.items():
            level = 10 * np.log10(power[(freqs >= lo) & (freqs < hi)].sum(0) + 1e-10)
            est = sorted((t, v) for t, c, v in ests if c == label)
            levels = []
            for t, _ in est:
                # scipy frame k ends 1.13 hops after the engine's frame k does.
                k = int(np.clip(np.floor(t * sr / HOP) if causal else round(t * sr / HOP), 1, len(level) - 3))
                levels.append(level[max(0, k - 2) : k + 2].max())
            refs_c = [(t, v) for t, c, v in refs if c == label]
            per_class[label] = (np.array([v for _, v in est], float), np.array(levels), match(refs_c, est))
        files.append(per_class)
    return files


def score(files: list[dict], alpha: float, beta: float) -> dict[str, float]:
    out = {}
    for label in BANDS:
        rs = []
        for per_class in files:
            est_vel, levels, matched = per_class[label]
            if len(matched) < 4:
                continue
            mean, combined = None, []
            for v, lv in zip(est_vel, levels, strict=True):
                mean = lv if mean is None else mean
                combined.append(v + beta * (lv - mean))
                mean = (1 - alpha) * mean + alpha * lv
            idx = sorted(matched)
            truth = np.array([matched[i] for i in idx], float)
            guess = np.array([combined[i] for i in idx])
            if truth.std() > 1e-6 and guess.std() > 1e-6:
                rs.append(np.corrcoef(truth, guess)[0, 1])
        out[label] = float(np.mean(rs))
    out["mean"] = float(np.mean(list(out.values())))
    return out


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--causal"]
    causal = "--causal" in sys.argv
    files = load(args[1], args[2], causal)
    if args[0] == "scan":
        grid = itertools.product((0.05, 0.1, 0.2), (0, 0.5, 1, 1.5, 2, 3, 4))
    else:
        grid = [(float(args[3]), 0.0), (float(args[3]), float(args[4]))]
    for alpha, beta in grid:
        print(alpha, beta, {k: round(v, 3) for k, v in score(files, alpha, beta).items()})


if __name__ == "__main__":
    main()
