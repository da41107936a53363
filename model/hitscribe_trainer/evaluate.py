"""Evaluation: mir_eval onset F-measure (+-50 ms) per class and velocity Pearson r.

Runs on a folder of ``*.wav`` + ``*.tsv`` pairs (``time<TAB>label<TAB>velocity``), such as the
validation renders made from held-out kits. ``--streaming`` runs the exported ONNX model hop
by hop in ONNX Runtime (what the plugin does) instead of the PyTorch offline pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import mir_eval
import numpy as np
import soundfile as sf
import torch
from scipy.signal import resample_poly

from .model import CLASS_NAMES, HitscribeNet, synth_activations
from .peaks import notes_from_outputs
from .synth import LABEL_MAP


def load_labels(path: Path) -> dict[str, list[tuple[float, float]]]:
    """TSV labels -> per class list of (time, velocity 1..127)."""
    out: dict[str, list[tuple[float, float]]] = {c: [] for c in CLASS_NAMES}
    for line in path.read_text().splitlines():
        parts = line.strip().split("\t")
        if len(parts) >= 2 and parts[1] in out:
            out[parts[1]].append((float(parts[0]), float(parts[2]) if len(parts) > 2 else 100.0))
    return out


def load_audio(path: Path, sr: int) -> np.ndarray:
    """Mono float32 at ``sr``."""
    audio, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if file_sr != sr:
        g = np.gcd(int(file_sr), sr)
        audio = resample_poly(audio, sr // g, int(file_sr) // g).astype(np.float32)
    return audio


def offline_outputs(net: HitscribeNet, audio: np.ndarray, source: str = "onset"):
    """Offline PyTorch pass; pads ``lookahead`` frames of silence so the tail is decided.

    ``source="synth"`` peak-picks the synthesiser activations instead of the onset head (for
    models trained without the supervised term): kick, snare, closed + open hi-hat, each
    divided by its maximum over the file as in DrummerNet's evaluation.
    """
    cfg = net.cfg
    pad = (cfg.lookahead_frames + 1) * cfg.hop + (-len(audio)) % cfg.hop
    x = torch.from_numpy(np.pad(audio, (0, pad)))[None]
    with torch.no_grad():
        out = net(x)
    if source == "synth":
        acts = synth_activations(out, cfg.time_sparsemax_frames)[0].numpy()
        classes = np.stack([acts[:, 0], acts[:, 1], acts[:, 2] + acts[:, 3]], axis=1)
        classes = classes / np.maximum(classes.max(axis=0, keepdims=True), 1e-6)
        return classes, classes, np.zeros_like(classes)
    return (
        torch.sigmoid(out["onset_logits"][0]).numpy(),
        out["velocity"][0].numpy(),
        out["offset"][0].numpy(),
    )


def streaming_outputs(onnx_path: Path, audio: np.ndarray, contract: dict, hops_per_call: int = 1):
    """ONNX Runtime pass over ``audio``, ``hops_per_call`` hops per call (one intra-op thread,
    like the engine). Any ``hops_per_call`` gives the same outputs (contract v3)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    hop = contract["hop_samples"]
    pad = (contract["lookahead_frames"] + 1) * hop + (-len(audio)) % hop
    x = np.pad(audio, (0, pad)).astype(np.float32).reshape(1, -1, hop)
    names = [t["name"] for t in contract["state_tensors"]]
    states = {t["name"]: np.zeros(t["shape"], np.float32) for t in contract["state_tensors"]}
    rows = []
    for i in range(0, x.shape[1], hops_per_call):
        frames, *new = sess.run(
            ["frames", *[f"{n}_out" for n in names]], {"audio": x[:, i : i + hops_per_call], **states}
        )
        states = dict(zip(names, new, strict=True))
        rows.append(frames[0])
    frames = np.concatenate(rows)  # [T, 3, C]
    return frames[:, 0], frames[:, 1], frames[:, 2]


def score(
    pairs: list[tuple[Path, Path]],
    outputs_fn,
    hop: int,
    sr: int,
    lookahead: int,
    thresholds,
    retrigger_s,
    kits: dict[str, dict[str, str]] | None = None,
    events: dict[str, list] | None = None,
) -> dict:
    """Per-class F/P/R averaged over files, plus velocity Pearson r over matched notes
    (``kits``, ``events``: see :func:`score_notes`)."""

    def notes_fn(wav: Path):
        onset, velocity, offset = outputs_fn(load_audio(wav, sr))
        return notes_from_outputs(onset, velocity, offset, hop, sr, lookahead, thresholds, retrigger_s)

    return score_notes(pairs, notes_fn, kits, events)


#: Reference-velocity bins (MIDI, lower edges) of ``recall_by_velocity``.
VELOCITY_BINS = (1, 32, 64, 96)
#: A false alarm is put down to the nearest rendered hit of another class within this window.
SOURCE_WINDOW_S = 0.03


def _velocity_bin(v: float) -> str:
    lo = max(b for b in VELOCITY_BINS if b <= max(v, 1))
    hi = ([b - 1 for b in VELOCITY_BINS if b > lo] or [127])[0]
    return f"{lo}-{hi}"


def _source(t: float, hits: list, name: str) -> str:
    """The instrument of the rendered hit nearest ``t`` (within ``SOURCE_WINDOW_S``) whose class
    is not ``name``, or ``"none"``."""
    best, best_d = "none", SOURCE_WINDOW_S
    for ht, inst, _ in hits:
        d = abs(ht - t)
        if d <= best_d and LABEL_MAP.get(inst) != name:
            best, best_d = inst, d
    return best


def score_notes(
    pairs: list[tuple[Path, Path]],
    notes_fn,
    kits: dict[str, dict[str, str]] | None = None,
    events: dict[str, list] | None = None,
) -> dict:
    """Score ``notes_fn(wav)`` (per class, a list of ``(time_s, velocity)``) against the TSVs.

    ``f``/``p``/``r`` are means over files (DrummerNet's protocol: a file with no reference hit
    of a class but any estimate scores 0 for it, a file with neither is skipped); ``f_pooled``
    counts hits, misses and false alarms over all files at once, so short, sparse files weigh
    as much as their hits do. ``files_without_hits_with_notes`` counts the files that scored 0
    that way (one stray note in a ride-led clip without a hi-hat costs its whole file).

    ``kits`` (file stem -> class -> kit, :func:`clip_kits`) adds ``by_kit``; ``events`` (file
    stem -> every rendered hit ``[time, instrument, velocity]``, :func:`clip_events`) adds
    ``errors``: recall per reference-velocity bin, and false alarms per source (the instrument
    played nearest each one within 30 ms, other than the class's own; ``"none"`` if nothing was).
    """
    recall_bins = {c: {} for c in CLASS_NAMES}
    false_sources = {c: {} for c in CLASS_NAMES}
    per_class = {c: {"f": [], "p": [], "r": []} for c in CLASS_NAMES}
    counts = {c: {"matched": 0, "ref": 0, "est": 0} for c in CLASS_NAMES}
    by_kit: dict[str, dict[str, dict]] = {}
    vel_pairs: dict[str, list[tuple[float, float]]] = {c: [] for c in CLASS_NAMES}
    per_file_r: dict[str, list[float]] = {c: [] for c in CLASS_NAMES}
    unreferenced = {c: 0 for c in CLASS_NAMES}
    for wav, tsv in pairs:
        labels = load_labels(tsv)
        est = notes_fn(wav)
        for c, name in enumerate(CLASS_NAMES):
            ref = np.array([t for t, _ in labels[name]])
            got = np.array([t for t, _ in est[c]])
            hits = mir_eval.util.match_events(ref, got, 0.05) if len(ref) and len(got) else []
            kit = (kits or {}).get(wav.stem, {}).get(name)
            tallies = [counts[name]]
            if kit is not None:
                entry = by_kit.setdefault(kit, {}).setdefault(name, {"f": [], "matched": 0, "ref": 0, "est": 0})
                tallies.append(entry)
            for tally in tallies:
                tally["matched"] += len(hits)
                tally["ref"] += len(ref)
                tally["est"] += len(got)
            if events is not None and wav.stem in events:
                found = {i for i, _ in hits}
                for i, (_, v) in enumerate(labels[name]):
                    tally = recall_bins[name].setdefault(_velocity_bin(v), [0, 0])
                    tally[0] += i in found
                    tally[1] += 1
                matched_est = {j for _, j in hits}
                for j, (t, _) in enumerate(est[c]):
                    if j not in matched_est:
                        src = _source(t, events[wav.stem], name)
                        false_sources[name][src] = false_sources[name].get(src, 0) + 1
            if len(ref) == 0 and len(got) == 0:
                continue
            unreferenced[name] += len(ref) == 0
            f, p, r = mir_eval.onset.f_measure(ref, got, window=0.05) if len(ref) else (0.0, 0.0, 0.0)
            if kit is not None:
                by_kit[kit][name]["f"].append(f)
            per_class[name]["f"].append(f)
            per_class[name]["p"].append(p)
            per_class[name]["r"].append(r)
            if hits:
                matched = [(labels[name][i][1], est[c][j][1]) for i, j in hits]
                vel_pairs[name].extend(matched)
                m = np.array(matched)
                if len(m) >= 5 and m[:, 0].std() > 0 and m[:, 1].std() > 0:
                    per_file_r[name].append(float(np.corrcoef(m[:, 0], m[:, 1])[0, 1]))
    result = {}
    for name in CLASS_NAMES:
        vals = per_class[name]
        pairs_arr = np.array(vel_pairs[name]) if vel_pairs[name] else np.zeros((0, 2))
        r = float(np.corrcoef(pairs_arr[:, 0], pairs_arr[:, 1])[0, 1]) if len(pairs_arr) > 2 else float("nan")
        result[name] = {
            "f": float(np.mean(vals["f"])) if vals["f"] else float("nan"),
            "p": float(np.mean(vals["p"])) if vals["p"] else float("nan"),
            "r": float(np.mean(vals["r"])) if vals["r"] else float("nan"),
            "f_pooled": pooled_f(counts[name]),
            "velocity_r": r,
            "velocity_r_per_file": float(np.mean(per_file_r[name])) if per_file_r[name] else float("nan"),
            "files_without_hits_with_notes": unreferenced[name],
        }
    result["mean_f"] = float(np.mean([result[c]["f"] for c in CLASS_NAMES]))
    result["mean_f_pooled"] = float(np.mean([result[c]["f_pooled"] for c in CLASS_NAMES]))
    if by_kit:
        result["by_kit"] = {
            kit: {
                name: {
                    "f": float(np.mean(e["f"])) if e["f"] else float("nan"),
                    "f_pooled": pooled_f(e),
                    "files": len(e["f"]),
                }
                for name, e in sorted(classes.items(), key=lambda item: CLASS_NAMES.index(item[0]))
            }
            for kit, classes in sorted(by_kit.items())
        }
    if events is not None:
        result["errors"] = {
            name: {
                "recall_by_velocity": {
                    b: {"recall": found / n, "refs": n}
                    for b, (found, n) in sorted(recall_bins[name].items(), key=_bin_key)
                },
                "false_alarms_by_source": dict(sorted(false_sources[name].items(), key=lambda kv: -kv[1])),
            }
            for name in CLASS_NAMES
        }
    result["mean_velocity_r_per_file"] = float(np.nanmean([result[c]["velocity_r_per_file"] for c in CLASS_NAMES]))
    return result


def _bin_key(item: tuple[str, list[int]]) -> int:
    return int(item[0].split("-")[0])


def pooled_f(count: dict[str, int]) -> float:
    """F-measure from hit counts summed over files (1.0 when there is nothing to find or find)."""
    total = count["ref"] + count["est"]
    return 2.0 * count["matched"] / total if total else 1.0


def tune_thresholds(pairs, outputs_fn, hop, sr, lookahead, retrigger_s, grid=None) -> list[float]:
    """Per-class threshold that maximises F on ``pairs`` (use a tuning split, not the test split)."""
    grid = grid or [0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    cache = [(load_labels(t), outputs_fn(load_audio(w, sr))) for w, t in pairs]
    best = []
    for c, name in enumerate(CLASS_NAMES):
        scores = []
        for thr in grid:
            fs = []
            for labels, (onset, velocity, offset) in cache:
                th = [thr] * len(CLASS_NAMES)
                est = notes_from_outputs(onset, velocity, offset, hop, sr, lookahead, th, retrigger_s)
                ref = np.array([t for t, _ in labels[name]])
                got = np.array([t for t, _ in est[c]])
                if len(ref):
                    fs.append(mir_eval.onset.f_measure(ref, got, window=0.05)[0])
            scores.append(np.mean(fs) if fs else 0.0)
        best.append(float(grid[int(np.argmax(scores))]))
    return best


def clip_kits(folder: Path) -> dict[str, dict[str, str]]:
    """File stem -> class -> kit name, from the ``info.json`` that ``synth`` writes (empty when
    the folder has none, as for recordings)."""
    return _render_info(folder).get("clip_kits", {})


def clip_events(folder: Path) -> dict[str, list] | None:
    """File stem -> every rendered hit ``[time_s, instrument, velocity]`` (distractors too), from
    the ``info.json`` that ``synth`` writes; ``None`` when the folder has none."""
    return _render_info(folder).get("clip_events")


def _render_info(folder: Path) -> dict:
    """The ``info.json`` that ``synth`` writes beside its renders (empty when there is none)."""
    info = folder / "info.json"
    return json.loads(info.read_text()) if info.exists() else {}


def find_pairs(folder: Path) -> list[tuple[Path, Path]]:
    """``(wav, tsv)`` pairs in ``folder``."""
    return [(w, w.with_suffix(".tsv")) for w in sorted(folder.glob("*.wav")) if w.with_suffix(".tsv").exists()]


def write_report(result: dict, path: Path) -> None:
    """JSON report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))


def score_tsv(
    pairs: list[tuple[Path, Path]],
    est_dir: Path,
    kits: dict[str, dict[str, str]] | None = None,
    events: dict[str, list] | None = None,
) -> dict:
    """Score transcriptions written by ``hitscribe transcribe --tsv`` (``<stem>.tsv`` in
    ``est_dir``, velocities 1..127) against the reference TSVs, exactly like :func:`score`."""

    def notes_fn(wav: Path):
        est = load_labels(est_dir / f"{wav.stem}.tsv")
        return [[(t, v / 127.0) for t, v in est[name]] for name in CLASS_NAMES]

    return score_notes(pairs, notes_fn, kits, events)
