"""Stream-start test sets: how well a model hears the first hits of a take.

A file that begins with a hit is heard from the model's zero state; a take that follows silence
is heard from the state silence leaves. Both differ from the middle of a groove, where every
training clip used to start. From a labelled render folder (``synth``), this derives:

- ``CUT``: each clip cut at its first labelled hit (that hit at the file's first sample);
- ``LEAD``: the same cut clips after ``--lead`` seconds of digital silence.

and scores the first hits (every labelled hit within 30 ms of the clip's first one) of engine
transcriptions (``hitscribe transcribe --tsv``) by recall within +-50 ms:

    model/.venv/bin/python model/scripts/start-sets.py derive model/cache/validation-29a \\
        model/cache/start-cut-29a model/cache/start-lead-29a
    model/.venv/bin/python model/scripts/start-sets.py first-hits model/cache/start-cut-29a EST_DIR
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

#: Hits this close to the clip's first labelled hit count as first hits (a flam, a kick + hat).
FIRST_HIT_SPAN_S = 0.03
#: mir_eval's onset window.
WINDOW_S = 0.05


def read_labels(path: Path) -> list[tuple[float, str, str]]:
    """``(time_s, class, velocity)`` rows of a label or estimate TSV."""
    with open(path) as f:
        return [(float(r[0]), r[1], r[2]) for r in csv.reader(f, delimiter="\t") if r]


def derive(data: Path, cut_out: Path, lead_out: Path, lead_s: float) -> None:
    """Writes the cut and lead-in copies of every labelled clip of ``data``."""
    for out in (cut_out, lead_out):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
    info = json.loads((data / "info.json").read_text()) if (data / "info.json").exists() else {}
    for wav in sorted(data.glob("clip_*.wav")):
        labels = read_labels(wav.with_suffix(".tsv"))
        if not labels:
            continue
        audio, sr = sf.read(str(wav), dtype="float32")
        first = min(t for t, _, _ in labels)
        start = int(round(first * sr))
        cut = audio[start:]
        for out, pad in ((cut_out, 0), (lead_out, int(round(lead_s * sr)))):
            sf.write(str(out / wav.name), np.concatenate([np.zeros(pad, np.float32), cut]), sr, subtype="FLOAT")
            with open(out / wav.with_suffix(".tsv").name, "w") as f:
                for t, c, v in sorted(labels):
                    f.write(f"{max(0.0, t - first) + pad / sr:.6f}\t{c}\t{v}\n")
    for out, pad in ((cut_out, 0.0), (lead_out, lead_s)):
        derived = {k: info[k] for k in ("kits", "split", "seed", "sr", "labels", "clip_kits") if k in info}
        derived["derived_from"] = str(data)
        derived["start"] = f"cut at the first labelled hit, after {pad} s of digital silence"
        (out / "info.json").write_text(json.dumps(derived, indent=1))


def first_hit_recall(data: Path, est: Path) -> dict:
    """Recall of the first hits of every clip, per class and in all."""
    found: dict[str, list[int]] = {}
    for ref_path in sorted(data.glob("clip_*.tsv")):
        labels = read_labels(ref_path)
        est_path = est / ref_path.name
        notes = read_labels(est_path) if est_path.exists() else []
        first = min(t for t, _, _ in labels)
        for t, c, _ in labels:
            if t - first > FIRST_HIT_SPAN_S:
                continue
            hit = any(nc == c and abs(nt - t) <= WINDOW_S for nt, nc, _ in notes)
            found.setdefault(c, []).append(int(hit))
    report = {c: {"recall": float(np.mean(v)), "hits": len(v)} for c, v in sorted(found.items())}
    every = [x for v in found.values() for x in v]
    report["all"] = {"recall": float(np.mean(every)) if every else float("nan"), "hits": len(every)}
    return report


def main() -> None:
    """Command line: ``derive`` or ``first-hits``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("derive", help="write the cut and lead-in copies of a labelled render folder")
    d.add_argument("data", type=Path)
    d.add_argument("cut_out", type=Path)
    d.add_argument("lead_out", type=Path)
    d.add_argument("--lead", type=float, default=1.0, help="seconds of digital silence before the lead-in copies")
    f = sub.add_parser("first-hits", help="first-hit recall of engine transcriptions (a folder of TSVs)")
    f.add_argument("data", type=Path)
    f.add_argument("est", type=Path)
    args = parser.parse_args()
    if args.cmd == "derive":
        derive(args.data, args.cut_out, args.lead_out, args.lead)
    else:
        print(json.dumps(first_hit_recall(args.data, args.est)))


if __name__ == "__main__":
    main()
