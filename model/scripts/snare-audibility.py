"""How audible are the rendered snare hits, and does the model find the audible ones?

Renders held-out-kit clips (validation defaults, the excluded one-shots left out) with their dry
tracks, and for every labelled snare hit takes the snare tracks' energy against every other
track's in the 30 ms after the onset (dB; the dry tracks, before the mix's EQ, compression and
room). Then runs the engine (the Rust CLI, the shipped model unless HITSCRIBE_MODEL says
otherwise) on the clips and prints the snare's recall (+-50 ms) per band of that ratio, for
ghost notes (label velocity below 0.25) and louder hits apart.

    model/.venv/bin/python model/scripts/snare-audibility.py [--clips 80] [--seed 9001]

Writes the clips and the engine's notes to a temporary folder; reads nothing else.
"""

import argparse
import csv
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from hitscribe_trainer.data import AUDIBILITY_WINDOW_S, INSTRUMENT_TO_CLASS, hit_audibility_db
from hitscribe_trainer.kits import SR, load_kits
from hitscribe_trainer.synth import render_clip

ROOT = Path(__file__).resolve().parents[2]
WINDOW = int(round(AUDIBILITY_WINDOW_S * SR))
SNARE = 1  # INSTRUMENT_TO_CLASS's snare class
GHOST = 0.25
EDGES = [-60, -20, -15, -10, -5, 0, 5, 10, 60]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=80)
    parser.add_argument("--seed", type=int, default=9001)
    args = parser.parse_args()
    excluded = ROOT / "model/EXCLUDED_ONESHOTS.txt"
    exclude = [line.strip() for line in open(excluded) if line.strip() and not line.startswith("#")]
    kits = load_kits(ROOT / "model/cache", "validation", exclude)
    rng = np.random.default_rng(args.seed)
    hits = []  # (clip, seconds, label velocity, ratio dB)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for clip in range(args.clips):
            stems: dict[str, np.ndarray] = {}
            audio, events = render_clip(rng, kits, 10.0, SR, None, stems_out=stems)
            sf.write(out / f"clip_{clip:03d}.wav", audio, SR, subtype="FLOAT")
            for start, inst, vel in events:
                if INSTRUMENT_TO_CLASS.get(inst) == SNARE and 0 <= start and start + WINDOW <= len(audio):
                    hits.append((clip, start / SR, vel, hit_audibility_db(stems, start, SNARE, WINDOW)))
        wavs = sorted(str(p) for p in out.glob("clip_*.wav"))
        subprocess.run(
            [str(ROOT / "target/release/hitscribe"), "transcribe", *wavs, "-o", tmp, "--tsv", tmp, "--quiet"],
            check=True,
        )
        found = {}
        for clip in range(args.clips):
            with open(out / f"clip_{clip:03d}.tsv") as f:
                found[clip] = [float(t) for t, label, _ in csv.reader(f, delimiter="\t") if label == "snare"]
    detected = np.array([any(abs(t - x) <= 0.05 for x in found[clip]) for clip, t, _, _ in hits])
    vel = np.array([h[2] for h in hits])
    ratio = np.array([h[3] for h in hits])
    groups = (("ghost", vel < GHOST), ("louder", vel >= GHOST))
    print(f"{len(hits)} snare hits, {int((vel < GHOST).sum())} ghost notes (label velocity < {GHOST})")
    for name, sel in groups:
        print(f"{name}: median ratio {np.median(ratio[sel]):.1f} dB, recall {detected[sel].mean():.2f}")
    for lo, hi in zip(EDGES[:-1], EDGES[1:], strict=True):
        for name, sel in groups:
            band = sel & (ratio >= lo) & (ratio < hi)
            if band.any():
                print(
                    f"ratio {lo:>4} to {hi:>3} dB  {name:6s} n={int(band.sum()):4d}  recall {detected[band].mean():.2f}"
                )


if __name__ == "__main__":
    main()
