"""How well can loudness alone tell velocity on the held-out renders? (model/results/velocity-branch.md)

Renders clips exactly as ``synth`` renders a validation set (same seed, same draws), keeping each
instrument's dry track, and measures every labelled hit's level as its class's dry-track peak
(dB) in the first ``--window-ms`` after the hit: the best any transcriber could hear of the hit alone,
before the bus, the microphones and the other drums. Prints the mean per-file Pearson r between
that level and the label velocity, per class, computed as ``evaluate`` computes the model's
(files with at least 5 hits of the class).

    model/.venv/bin/python model/scripts/velocity-ceiling.py [--clips 40] [--seed 5401] [--window-ms 10]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hitscribe_trainer.kits import load_kits
from hitscribe_trainer.synth import LABEL_MAP, SR, render_clip, to_labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default="model/cache")
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=5401)
    ap.add_argument("--window-ms", type=float, default=10.0, help="how long after the hit its peak is read")
    args = ap.parse_args()
    window = int(args.window_ms / 1000 * SR)
    kits = load_kits(Path(args.cache), "validation")
    rng = np.random.default_rng(args.seed)
    per_file: dict[str, list[float]] = {"kick": [], "snare": [], "hihat": []}
    for _ in range(args.clips):
        stems: dict[str, np.ndarray] = {}
        audio, events = render_clip(rng, kits, args.seconds, SR, None, kits_used={}, stems_out=stems)
        tracks: dict[str, np.ndarray] = {}
        for inst, track in stems.items():
            label = LABEL_MAP.get(inst)
            if label is not None:
                tracks[label] = tracks.get(label, 0) + track
        pairs: dict[str, list[tuple[int, float]]] = {}
        for t, label, vel in to_labels(events, SR):
            s = int(round(t * SR))
            peak = float(np.abs(tracks[label][s : s + window]).max(initial=0.0))
            pairs.setdefault(label, []).append((vel, 20 * np.log10(peak + 1e-9)))
        for label, p in pairs.items():
            m = np.array(p)
            if len(m) >= 5 and m[:, 0].std() > 0 and m[:, 1].std() > 0:
                per_file[label].append(float(np.corrcoef(m[:, 0], m[:, 1])[0, 1]))
    means = {k: float(np.mean(v)) for k, v in per_file.items() if v}
    for k, v in means.items():
        print(f"{k:6s} dry-level r per file {v:.3f} ({len(per_file[k])} files)")
    print(f"mean   {np.mean(list(means.values())):.3f}")


if __name__ == "__main__":
    main()
