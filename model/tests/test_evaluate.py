"""Scoring: perfect transcriptions score 1, shifted ones 0, velocity r is measured."""

import importlib.util
from pathlib import Path

import numpy as np
import soundfile as sf

from hitscribe_trainer.evaluate import pooled_f, score_notes, score_tsv

MODEL_SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _load_script(file_name: str):
    """A script of ``model/scripts`` (hyphenated names are not importable) as a module."""
    spec = importlib.util.spec_from_file_location(
        file_name.removesuffix(".py").replace("-", "_"), MODEL_SCRIPTS / file_name
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_pair(folder: Path, stem: str, rows: list[tuple[float, str, int]]) -> tuple[Path, Path]:
    wav = folder / f"{stem}.wav"
    wav.write_bytes(b"")  # scoring reads only the TSV; the wav path names the clip
    tsv = folder / f"{stem}.tsv"
    tsv.write_text("".join(f"{t:.6f}\t{label}\t{v}\n" for t, label, v in rows))
    return wav, tsv


def test_perfect_and_shifted_transcriptions(tmp_path):
    rows = [(0.5 + 0.25 * i, ("kick", "snare", "hihat")[i % 3], 20 + 10 * i) for i in range(9)]
    pair = _write_pair(tmp_path, "clip", rows)
    est_dir = tmp_path / "est"
    est_dir.mkdir()
    _write_pair(est_dir, "clip", rows)
    perfect = score_tsv([pair], est_dir)
    assert perfect["mean_f"] == 1.0
    shifted = score_notes(
        [pair],
        lambda _wav: [[(t + 0.08, v / 127) for t, lab, v in rows if lab == c] for c in ("kick", "snare", "hihat")],
    )
    assert shifted["mean_f"] == 0.0


def test_velocity_correlation_is_reported(tmp_path):
    rows = [(0.3 * i + 0.1, "hihat", 10 + 12 * i) for i in range(10)]
    pair = _write_pair(tmp_path, "clip", rows)
    result = score_notes([pair], lambda _wav: [[], [], [(t, np.sqrt(v / 127)) for t, _, v in rows]])
    assert result["hihat"]["f"] == 1.0
    assert result["hihat"]["velocity_r"] > 0.95


def test_pooled_f_counts_hits_over_files(tmp_path):
    dense = [(0.1 * i + 0.1, "hihat", 80) for i in range(18)]
    pairs = [_write_pair(tmp_path, "dense", dense), _write_pair(tmp_path, "sparse", [(0.5, "kick", 90)])]
    # All 18 hats found; one false hi-hat in the file that has none: per-file mean 0.5.
    est = {"dense": [[], [], [(t, 0.6) for t, _, _ in dense]], "sparse": [[(0.5, 0.7)], [], [(1.0, 0.5)]]}
    result = score_notes(pairs, lambda wav: est[wav.stem])
    assert result["hihat"]["f"] == 0.5
    assert result["hihat"]["files_without_hits_with_notes"] == 1
    assert result["kick"]["files_without_hits_with_notes"] == 0
    assert abs(result["hihat"]["f_pooled"] - 36 / 37) < 1e-9
    assert result["kick"]["f_pooled"] == 1.0


def test_scores_per_kit(tmp_path):
    pairs = [_write_pair(tmp_path, f"clip_{i:03d}", [(0.5, "kick", 90), (1.0, "snare", 60)]) for i in range(2)]
    kits = {"clip_000": {"kick": "red", "snare": "red"}, "clip_001": {"kick": "blue", "snare": "red"}}
    # The kick of the "blue" clip is missed; everything else is found.
    est = {"clip_000": [[(0.5, 0.7)], [(1.0, 0.4)], []], "clip_001": [[], [(1.0, 0.4)], []]}
    result = score_notes(pairs, lambda wav: est[wav.stem], kits)
    assert result["by_kit"]["red"]["kick"] == {"f": 1.0, "f_pooled": 1.0, "files": 1}
    assert result["by_kit"]["blue"]["kick"]["f_pooled"] == 0.0
    assert result["by_kit"]["red"]["snare"]["files"] == 2
    assert result["kick"]["f"] == 0.5


def test_errors_split_recall_by_velocity_and_false_alarms_by_source(tmp_path):
    ref = [(0.5, "kick", 100), (1.0, "snare", 20), (1.5, "snare", 90)]
    pairs = [_write_pair(tmp_path, "clip_000", ref)]
    played = [
        [0.5, "kick", 0.8],
        [1.0, "snare", 0.15],
        [1.5, "snare", 0.7],
        [2.0, "ride", 0.6],
        [2.5, "hihat_closed", 0.5],
    ]
    # The soft snare is missed; a false hi-hat on the ride, one on nothing, a false snare on the kick.
    est = {"clip_000": [[(0.5, 0.7)], [(0.51, 0.5), (1.5, 0.6)], [(2.01, 0.5), (2.5, 0.5), (3.0, 0.4)]]}
    result = score_notes(pairs, lambda wav: est[wav.stem], events={"clip_000": played})
    errors = result["errors"]
    assert errors["snare"]["recall_by_velocity"] == {
        "1-31": {"recall": 0.0, "refs": 1},
        "64-95": {"recall": 1.0, "refs": 1},
    }
    assert errors["kick"]["recall_by_velocity"] == {"96-127": {"recall": 1.0, "refs": 1}}
    assert errors["snare"]["false_alarms_by_source"] == {"kick": 1}
    # The hi-hat at 2.5 s was played but is not in the reference TSV, so it counts as a false
    # alarm of no other instrument's making ("none"), like the one at 3.0 s.
    assert errors["hihat"]["false_alarms_by_source"] == {"none": 2, "ride": 1}
    assert "errors" not in score_notes(pairs, lambda wav: est[wav.stem])


def test_start_sets_cut_at_the_first_hit_and_score_first_hits(tmp_path):
    start_sets = _load_script("start-sets.py")
    data = tmp_path / "data"
    data.mkdir()
    sr = 1000
    audio = np.zeros(3 * sr, np.float32)
    audio[500] = audio[510] = audio[2000] = 1.0
    sf.write(str(data / "clip_000.wav"), audio, sr, subtype="FLOAT")
    (data / "clip_000.tsv").write_text("0.500000\tkick\t100\n0.510000\thihat\t60\n2.000000\tsnare\t90\n")
    cut, lead = tmp_path / "cut", tmp_path / "lead"
    start_sets.derive(data, cut, lead, 1.0)
    cut_audio, _ = sf.read(str(cut / "clip_000.wav"))
    lead_audio, _ = sf.read(str(lead / "clip_000.wav"))
    assert cut_audio[0] == 1.0 and len(cut_audio) == 2500
    assert not lead_audio[:1000].any() and lead_audio[1000] == 1.0
    assert (lead / "clip_000.tsv").read_text().splitlines()[0] == "1.000000\tkick\t100"
    # First hits: the kick and the hat 10 ms later, not the snare; the estimate finds the kick only.
    est = tmp_path / "est"
    est.mkdir()
    (est / "clip_000.tsv").write_text("0.020000\tkick\t90\n1.500000\tsnare\t80\n")
    report = start_sets.first_hit_recall(cut, est)
    assert report["all"] == {"recall": 0.5, "hits": 2}
    assert report["kick"]["recall"] == 1.0 and report["hihat"]["recall"] == 0.0 and "snare" not in report


def test_oneshot_check_flags_a_slice_with_a_second_attack_and_passes_a_clean_hit():
    oneshot_check = _load_script("oneshot-check.py")
    sr = 24000
    rng = np.random.default_rng(0)
    t = np.arange(int(0.8 * sr)) / sr
    # A kick-like hit alone, and the same slice with a hi-hat-like burst 0.3 s in (as in a slice
    # of a beat that a kit calls a one-shot).
    kick = np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.15)
    hat = np.diff(rng.standard_normal(len(t) + 1)) * 0.3 * np.exp(-np.maximum(t - 0.3, 0) / 0.03) * (t >= 0.3)
    assert oneshot_check.later_attacks(kick, sr, ratio=0.2) == []
    attacks = oneshot_check.later_attacks(kick + hat, sr, ratio=0.2)
    assert len(attacks) == 1 and abs(attacks[0] - 0.3) <= 0.01


def test_ship_rule_row_gathers_every_figure_of_a_decision_table_row():
    ship_rule = _load_script("ship-rule.py")
    assert ship_rule.set_names(46)["cut"] == "start-cut-46"

    def report(f, pooled=0.8, velocity_r=0.7, ride=0, other=0, stray=0):
        sources = {"ride": ride, "snare": other} if ride or other else {}
        return {
            "hihat": {"files_without_hits_with_notes": stray},
            "mean_f": f,
            "mean_f_pooled": pooled,
            "mean_velocity_r_per_file": velocity_r,
            "errors": {"hihat": {"false_alarms_by_source": sources}},
        }

    reports = {
        "a": report(0.70, velocity_r=0.6, ride=3, other=5),
        "b": report(0.80, velocity_r=0.8, stray=2),
        "mics_a": report(0.75),
        "mics_b": report(0.75, ride=1),
        "long_a": report(0.5, pooled=0.9),
        "long_b": report(0.5, pooled=0.7, ride=2, stray=5),
        "cut": report(0.66),
        "lead": report(0.67),
    }
    hits = {c: {"recall": 0.5, "hits": 10} for c in ("kick", "snare", "hihat")}
    lead = {**hits, "all": {"recall": 0.9, "hits": 30}}
    fig = ship_rule.row_figures(reports, {**hits, "all": {"recall": 0.5, "hits": 30}}, lead, [10, 4, 4, 2])
    assert fig["mean_of_four"] == 0.75
    assert fig["pooled_60s_mean"] == 0.8
    assert abs(fig["velocity_r"] - 0.7) < 1e-12
    assert fig["start_cut_f"] == 0.66
    assert fig["after_silence_found"] == 27
    assert (fig["ride_false_hihats"], fig["false_hihats"]) == (6, 11)
    assert fig["hihat_files_without_hits_with_notes"] == 2  # the four 10 s sets only
    assert fig["amen_hihats"]["0.5"] == 4 and fig["amen_hihats_sum"] == 20
    row = ship_rule.markdown_row("v43s", fig)
    assert row.startswith("| v43s | 0.7000 | 0.8000 | 0.7500 | 0.7500 | 0.7500 |")
    assert "| 0.900, 27 of 30 (0.500 / 0.500 / 0.500) | 4 (20) | 6 (11) |" in row


def test_audibility_sets_masked_hits_aside_as_neither_miss_nor_false_alarm():
    audibility = _load_script("audibility.py")
    refs = np.array([1.0, 2.0, 3.0, 4.0])
    masked = np.array([False, True, True, False])
    # Found: the audible hit at 1 s, the masked one at 2 s, and a stray note at 5 s; missed: 3 s and 4 s.
    est = np.array([1.01, 2.02, 5.0])
    every = audibility.counts_with_masked_aside(refs, np.zeros(4, bool), est)
    assert every == {"matched": 2, "ref": 4, "est": 3}
    aside = audibility.counts_with_masked_aside(refs, masked, est)
    assert aside == {"matched": 1, "ref": 2, "est": 2}
    assert pooled_f(aside) == 0.5
    assert pooled_f(audibility.counts_with_masked_aside(np.array([2.0]), np.array([True]), np.array([2.0]))) == 1.0
