"""How audible are the rendered hits, and how much of the F gap is hits no one could hear?

Renders held-out-kit clips (validation defaults, the excluded one-shots left out) with their dry
tracks, and for every labelled kick, snare and hi-hat hit takes its class's tracks' energy against
every other track's in the 30 ms after the onset (dB; the dry tracks, before the mix's EQ,
compression and room). Then runs the engine (the Rust CLI, the shipped model unless
HITSCRIBE_MODEL says otherwise) on the clips and prints, per class:

- recall (+-50 ms) per band of that ratio, for ghost notes (label velocity below 0.25) and
  louder hits apart;
- onset F over every hit, and F with the masked hits (ratio below ``--masked-below`` dB) set
  aside: a masked hit is neither a miss when the engine skips it nor a false alarm when the
  engine finds it (one bipartite match against every hit, as mir_eval's).

    model/.venv/bin/python model/scripts/audibility.py [--clips 80] [--seed 9001] [--masked-below -15]

Writes the clips and the engine's notes to a temporary folder; reads nothing else. (Before
2026-12-07 16:00 UTC this was ``snare-audibility.py``, the snare's band table alone.)
"""

import argparse
import csv
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import mir_eval
import numpy as np
import soundfile as sf

from hitscribe_trainer.data import AUDIBILITY_WINDOW_S, INSTRUMENT_TO_CLASS, hit_audibility_db
from hitscribe_trainer.evaluate import pooled_f
from hitscribe_trainer.kits import SR, load_kits
from hitscribe_trainer.model import CLASS_NAMES
from hitscribe_trainer.synth import render_clip

ROOT = Path(__file__).resolve().parents[2]
WINDOW = int(round(AUDIBILITY_WINDOW_S * SR))
GHOST = 0.25
EDGES = [-60, -20, -15, -10, -5, 0, 5, 10, 60]
TOLERANCE_S = 0.05


def counts_with_masked_aside(refs: np.ndarray, masked: np.ndarray, est: np.ndarray) -> Counter:
    """Hit counts of ``est`` against ``refs`` in :func:`evaluate.pooled_f`'s form (``matched``,
    ``ref``, ``est``), where ``masked`` marks hits that count neither way: estimates matched to
    them are dropped, and so are they."""
    pairs = mir_eval.util.match_events(np.asarray(refs, float), np.asarray(est, float), TOLERANCE_S)
    on_masked = sum(1 for r, _ in pairs if masked[r])
    return Counter(matched=len(pairs) - on_masked, ref=int((~masked).sum()), est=len(est) - on_masked)


def render_and_transcribe(clips: int, seed: int, folder: Path) -> tuple[list, dict]:
    """Render ``clips`` held-out clips into ``folder`` and run the engine on them. Returns every
    target hit ``(clip, class, seconds, label velocity, ratio dB)`` and the engine's onsets by
    ``(clip, class name)``."""
    excluded = ROOT / "model/EXCLUDED_ONESHOTS.txt"
    exclude = [line.strip() for line in open(excluded) if line.strip() and not line.startswith("#")]
    kits = load_kits(ROOT / "model/cache", "validation", exclude)
    rng = np.random.default_rng(seed)
    hits = []
    for clip in range(clips):
        stems: dict[str, np.ndarray] = {}
        audio, events = render_clip(rng, kits, 10.0, SR, None, stems_out=stems)
        sf.write(folder / f"clip_{clip:03d}.wav", audio, SR, subtype="FLOAT")
        for start, inst, vel in events:
            cls = INSTRUMENT_TO_CLASS.get(inst)
            if cls is not None and 0 <= start and start + WINDOW <= len(audio):
                hits.append((clip, cls, start / SR, vel, hit_audibility_db(stems, start, cls, WINDOW)))
    wavs = sorted(str(p) for p in folder.glob("clip_*.wav"))
    cli = str(ROOT / "target/release/hitscribe")
    subprocess.run([cli, "transcribe", *wavs, "-o", str(folder), "--tsv", str(folder), "--quiet"], check=True)
    found: dict[tuple[int, str], list[float]] = {}
    for clip in range(clips):
        with open(folder / f"clip_{clip:03d}.tsv") as f:
            for t, label, _ in csv.reader(f, delimiter="\t"):
                found.setdefault((clip, label), []).append(float(t))
    return hits, found


def report_class(name: str, mine: list, found: dict, clips: int, masked_below: float) -> None:
    """Print one class's recall per ratio band and its F with and without the masked hits."""
    estimates = [found.get((c, name), []) for c, _, _, _, _ in mine]
    detected = np.array(
        [any(abs(h[2] - x) <= TOLERANCE_S for x in est) for h, est in zip(mine, estimates, strict=True)]
    )
    vel = np.array([h[3] for h in mine])
    ratio = np.array([h[4] for h in mine])
    groups = (("ghost", vel < GHOST), ("louder", vel >= GHOST))
    print(f"\n{name}: {len(mine)} hits, {int((vel < GHOST).sum())} ghost notes (label velocity < {GHOST})")
    for group, sel in groups:
        if sel.any():
            print(f"{group}: median ratio {np.median(ratio[sel]):.1f} dB, recall {detected[sel].mean():.2f}")
    for lo, hi in zip(EDGES[:-1], EDGES[1:], strict=True):
        for group, sel in groups:
            band = sel & (ratio >= lo) & (ratio < hi)
            if band.any():
                recall = detected[band].mean()
                print(f"ratio {lo:>4} to {hi:>3} dB  {group:6s} n={int(band.sum()):4d}  recall {recall:.2f}")
    every, aside, per_file_every, per_file_aside = Counter(), Counter(), [], []
    for clip in range(clips):
        refs = np.array([h[2] for h in mine if h[0] == clip])
        masked = np.array([h[4] < masked_below for h in mine if h[0] == clip], bool)
        est = np.array(found.get((clip, name), []))
        all_counts = counts_with_masked_aside(refs, np.zeros(len(refs), bool), est)
        aside_counts = counts_with_masked_aside(refs, masked, est)
        every += all_counts
        aside += aside_counts
        if len(refs):
            per_file_every.append(pooled_f(all_counts))
        if (~masked).any():
            per_file_aside.append(pooled_f(aside_counts))
    share = float(np.mean(ratio < masked_below)) if len(ratio) else 0.0
    print(
        f"F per file {np.mean(per_file_every):.3f}, pooled {pooled_f(every):.3f}; with the "
        f"{share:.1%} of hits below {masked_below:g} dB set aside: per file "
        f"{np.mean(per_file_aside):.3f}, pooled {pooled_f(aside):.3f}"
    )


def main() -> None:
    """Command line: render, transcribe, report every class."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=80)
    parser.add_argument("--seed", type=int, default=9001)
    parser.add_argument("--masked-below", type=float, default=-15.0, help="dB against the rest of the kit")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hits, found = render_and_transcribe(args.clips, args.seed, Path(tmp))
    for cls, name in enumerate(CLASS_NAMES):
        report_class(name, [h for h in hits if h[1] == cls], found, args.clips, args.masked_below)


if __name__ == "__main__":
    main()
