"""Flags prepared one-shots that hold more than one hit (a slice of a beat, a flam, a roll).

A one-shot is rendered as one labelled hit, so every later attack inside it is a hit the labels
do not know about: a false alarm for a transcriber that hears it, or a missed hit that training
teaches it to ignore. The onset strength is the spectral flux of a 1024-point STFT (hop 5 ms):
the summed half-wave rectified rise of log magnitude. A later attack is a local peak of it, more
than 40 ms after the first, of at least RATIO times the first attack's strength, and with the
signal still within 40 dB of its peak there.

    model/.venv/bin/python model/scripts/oneshot-check.py [--split validation] [--ratio 0.2]

Prints one line per flagged one-shot (split, kit, instrument, path, attack times in seconds) and
a count per split and instrument. Reads the kit manifest (`kits.load_manifest`); writes nothing.
"""

import argparse
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile

from hitscribe_trainer.kits import load_manifest

CACHE = Path(__file__).resolve().parents[1] / "cache"
N_FFT = 1024
HOP_S = 0.005
MIN_GAP_S = 0.04
FLOOR_DB = 40.0


def later_attacks(audio: np.ndarray, sr: int, ratio: float) -> list[float]:
    """Times (s) of attacks after the first that reach ``ratio`` of its onset strength."""
    hop = max(1, int(round(HOP_S * sr)))
    padded = np.concatenate([np.zeros(N_FFT), audio, np.zeros(N_FFT)])
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::hop]
    mag = np.abs(np.fft.rfft(frames * np.hanning(N_FFT), axis=1))
    log_mag = np.log1p(1000.0 * mag)
    flux = np.maximum(np.diff(log_mag, axis=0), 0.0).sum(axis=1)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)[1:]
    if not len(flux) or flux.max() <= 0:
        return []
    first = int(np.argmax(flux > 0.1 * flux.max()))  # the earliest attack, not the strongest
    strength = flux[first : first + int(MIN_GAP_S / HOP_S)].max()
    times = []
    last = first
    for i in range(first + 1, len(flux) - 1):
        is_peak = flux[i] >= flux[i - 1] and flux[i] > flux[i + 1]
        loud = level[i] > level.max() - FLOOR_DB
        if is_peak and loud and flux[i] >= ratio * strength and (i - last) * HOP_S >= MIN_GAP_S:
            times.append(round((i - first) * HOP_S, 3))
            last = i
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["validation", "train"], help="only this split")
    parser.add_argument("--ratio", type=float, default=0.2, help="a later attack's strength against the first's")
    args = parser.parse_args()
    flagged, total = Counter(), Counter()
    for entry in load_manifest(CACHE):
        if args.split and entry["split"] != args.split:
            continue
        audio, sr = soundfile.read(CACHE / "kits" / entry["path"], always_2d=True)
        key = (entry["split"], entry["instrument"])
        total[key] += 1
        times = later_attacks(audio.mean(axis=1), sr, args.ratio)
        if times:
            flagged[key] += 1
            print(f"{entry['split']}\t{entry['kit']}\t{entry['instrument']}\t{entry['path']}\t{times}")
    print("\nflagged / one-shots per split and instrument:")
    for key in sorted(total):
        print(f"  {key[0]:10s} {key[1]:13s} {flagged[key]:3d} / {total[key]}")


if __name__ == "__main__":
    main()
