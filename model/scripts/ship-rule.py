"""A ship rule's held-out renders, and one model's row of its decision table.

Every ship rule (``model/results/ship-rule-vN.md``) names fresh seeds for eight sets of held-out
renders, then compares candidates with the shipped model on the same figures. This script makes
those sets and prints a model's row, so that any row of a rule's table can be rebuilt:

    model/.venv/bin/python model/scripts/ship-rule.py renders 46 --seeds 1492 1493 4572 4573 1046 1047 1494
    model/.venv/bin/python model/scripts/ship-rule.py score 46 v43s assets/models/hitscribe-causal.onnx \\
        --json model/results/v46-v43s.json

Sets of rule N (folders under ``model/cache``): ``validation-Na``/``-Nb`` (120 clips of 10 s),
``validation-mics-Na``/``-Nb`` (60 clips through close and overhead microphones),
``validation-60s-Na``/``-Nb`` (10 continuous minutes), and from ``validation-Ns`` (240 clips)
the stream-start sets ``start-cut-N`` and ``start-lead-N`` (``start-sets.py``). Every render
leaves out the one-shots in ``model/EXCLUDED_ONESHOTS.txt``.

The row: F per set (mean of four), pooled F of the 60 s sets, per-file velocity r (the two
plain sets), start-cut F, recall of first hits of cut files and after a second of silence,
hi-hat notes on the real Amen break (``sonic-pi-samples``) at hi-hat thresholds 0.4-0.7, and
hi-hats called on ride and ride-bell hits (every false hi-hat in brackets) over the six groove
sets. Scoring runs the release CLI (``score-sets.sh``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / "model/.venv/bin/python"
TRAINER = ROOT / "model/.venv/bin/hitscribe-train"
CLI = ROOT / "target/release/hitscribe"
#: The real break whose ride must not turn into hi-hats (CC0, Debian's sonic-pi-samples).
AMEN = Path("/usr/share/sonic-pi/samples/loop_amen_full.flac")
#: Hi-hat thresholds of the Amen sweep; 0.5 is the shipped default.
AMEN_THRESHOLDS = (0.4, 0.5, 0.6, 0.7)
CLASSES = ("kick", "snare", "hihat")


def set_names(rule: int) -> dict[str, str]:
    """Role -> folder name (under ``model/cache``) of rule ``rule``'s sets."""
    return {
        "a": f"validation-{rule}a",
        "b": f"validation-{rule}b",
        "mics_a": f"validation-mics-{rule}a",
        "mics_b": f"validation-mics-{rule}b",
        "long_a": f"validation-60s-{rule}a",
        "long_b": f"validation-60s-{rule}b",
        "start": f"validation-{rule}s",
        "cut": f"start-cut-{rule}",
        "lead": f"start-lead-{rule}",
    }


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a command from the repository root; stop with its output if it fails."""
    done = subprocess.run([str(a) for a in args], cwd=ROOT, text=True, capture_output=True, **kwargs)
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done


def renders(rule: int, seeds: list[int]) -> None:
    """Render rule ``rule``'s eight sets from its seven seeds (a, b, mics a, mics b, 60 s a, 60 s b, start)."""
    names = set_names(rule)
    plan = [
        (names["a"], 120, 10, []),
        (names["b"], 120, 10, []),
        (names["mics_a"], 60, 10, ["--mics-p", "1"]),
        (names["mics_b"], 60, 10, ["--mics-p", "1"]),
        (names["long_a"], 10, 60, []),
        (names["long_b"], 10, 60, []),
        (names["start"], 240, 10, []),
    ]
    for (name, clips, seconds, extra), seed in zip(plan, seeds, strict=True):
        run(
            [
                TRAINER,
                "--cache",
                "model/cache",
                "synth",
                "--exclude-oneshots",
                "model/EXCLUDED_ONESHOTS.txt",
                "--out",
                f"model/cache/{name}",
                "--clips",
                clips,
                "--seconds",
                seconds,
                "--seed",
                seed,
                *extra,
            ]
        )
        print(f"rendered {name} (seed {seed})")
    run(
        [
            PYTHON,
            "model/scripts/start-sets.py",
            "derive",
            f"model/cache/{names['start']}",
            f"model/cache/{names['cut']}",
            f"model/cache/{names['lead']}",
        ]
    )
    print(f"derived {names['cut']} and {names['lead']}")


def amen_hihats(model: str) -> list[int]:
    """Hi-hat notes the engine writes on the real Amen break, one count per sweep threshold."""
    counts = []
    with tempfile.TemporaryDirectory() as out:
        for threshold in AMEN_THRESHOLDS:
            tsv = Path(out) / f"{AMEN.stem}.tsv"
            run(
                [
                    CLI,
                    "transcribe",
                    AMEN,
                    "-o",
                    out,
                    "--tsv",
                    out,
                    "--quiet",
                    "--model",
                    model,
                    "--threshold",
                    f"hihat={threshold}",
                ]
            )
            counts.append(sum(1 for row in csv.reader(open(tsv), delimiter="\t") if row[1] == "hihat"))
    return counts


def first_hits(data: str, est: Path) -> dict:
    """``start-sets.py first-hits`` of one start set: recall and hit count per class and overall."""
    done = run([PYTHON, "model/scripts/start-sets.py", "first-hits", f"model/cache/{data}", est])
    return json.loads(done.stdout.strip().splitlines()[-1])


def row_figures(reports: dict[str, dict], cut: dict, lead: dict, amen: list[int]) -> dict:
    """The figures of one model's row from its score-tsv reports (by role), first hits and Amen sweep."""
    four = [reports[r]["mean_f"] for r in ("a", "b", "mics_a", "mics_b")]
    long = [reports[r]["mean_f_pooled"] for r in ("long_a", "long_b")]
    ride = false_hihats = 0
    for role in ("a", "b", "mics_a", "mics_b", "long_a", "long_b"):
        sources = reports[role]["errors"]["hihat"]["false_alarms_by_source"]
        ride += sources.get("ride", 0) + sources.get("ride_bell", 0)
        false_hihats += sum(sources.values())
    return {
        "four": four,
        "mean_of_four": sum(four) / 4,
        "pooled_60s": long,
        "pooled_60s_mean": sum(long) / 2,
        "velocity_r": (reports["a"]["mean_velocity_r_per_file"] + reports["b"]["mean_velocity_r_per_file"]) / 2,
        "start_cut_f": reports["cut"]["mean_f"],
        "first_hits_cut": cut,
        "after_silence": lead,
        "after_silence_found": round(lead["all"]["recall"] * lead["all"]["hits"]),
        "amen_hihats": dict(zip(map(str, AMEN_THRESHOLDS), amen, strict=True)),
        "amen_hihats_sum": sum(amen),
        "ride_false_hihats": ride,
        "false_hihats": false_hihats,
        # Clips of the four sets with no hi-hat that got a hi-hat note (each scores hi-hat F 0).
        "hihat_files_without_hits_with_notes": sum(
            reports[r]["hihat"]["files_without_hits_with_notes"] for r in ("a", "b", "mics_a", "mics_b")
        ),
    }


def markdown_row(tag: str, fig: dict) -> str:
    """One row of a rule's decision table (the column order of rules v45 and v46)."""

    def per_class(hits: dict) -> str:
        return " / ".join(f"{hits[c]['recall']:.3f}" for c in CLASSES)

    cut, lead = fig["first_hits_cut"], fig["after_silence"]
    cells = [
        tag,
        *(f"{f:.4f}" for f in fig["four"]),
        f"{fig['mean_of_four']:.4f}",
        f"{fig['pooled_60s'][0]:.4f} / {fig['pooled_60s'][1]:.4f} ({fig['pooled_60s_mean']:.4f})",
        f"{fig['velocity_r']:.3f}",
        f"{fig['start_cut_f']:.4f}",
        f"{cut['all']['recall']:.3f} ({per_class(cut)})",
        f"{lead['all']['recall']:.3f}, {fig['after_silence_found']} of {lead['all']['hits']} ({per_class(lead)})",
        f"{fig['amen_hihats']['0.5']} ({fig['amen_hihats_sum']})",
        f"{fig['ride_false_hihats']} ({fig['false_hihats']})",
    ]
    return "| " + " | ".join(cells) + " |"


def score(rule: int, tag: str, model: str, json_out: Path | None) -> None:
    """Score ``model`` on rule ``rule``'s sets through the engine and print its table row."""
    names = set_names(rule)
    roles = [r for r in names if r != "start"]
    scores = Path(os.environ.get("SCORE_DIR", "/tmp/hitscribe-scores"))
    run(
        ["model/scripts/score-sets.sh", model, tag, *(names[r] for r in roles)],
        env={**os.environ, "SCORE_DIR": str(scores)},
    )
    reports = {r: json.load(open(scores / f"{tag}-{names[r]}.json")) for r in roles}
    cut = first_hits(names["cut"], scores / f"{tag}-{names['cut']}")
    lead = first_hits(names["lead"], scores / f"{tag}-{names['lead']}")
    fig = row_figures(reports, cut, lead, amen_hihats(model))
    print(markdown_row(tag, fig))
    if json_out:
        json_out.write_text(json.dumps({"rule": rule, "tag": tag, "model": model, **fig}, indent=1) + "\n")


def main() -> None:
    """Command line: ``renders`` or ``score``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("renders", help="render a rule's eight held-out sets")
    r.add_argument("rule", type=int)
    r.add_argument(
        "--seeds",
        type=int,
        nargs=7,
        required=True,
        metavar="SEED",
        help="a, b, mics a, mics b, 60 s a, 60 s b, start (as the rule names them)",
    )
    s = sub.add_parser("score", help="score one model on a rule's sets and print its table row")
    s.add_argument("rule", type=int)
    s.add_argument("tag", help="the row's name (also names the transcription folders)")
    s.add_argument("model", help="exported ONNX model")
    s.add_argument("--json", type=Path, help="also write the row's figures here")
    args = parser.parse_args()
    if args.command == "renders":
        renders(args.rule, args.seeds)
    else:
        score(args.rule, args.tag, args.model, args.json)


if __name__ == "__main__":
    main()
