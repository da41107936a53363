"""Kits assembled from loose sample packs, the kit table and the component targets."""

import numpy as np
import soundfile as sf

from hitscribe_trainer import sample_packs
from hitscribe_trainer.data import component_onsets
from hitscribe_trainer.kits import SR, kit_table_markdown, to_oneshot
from hitscribe_trainer.model import COMPONENTS


def test_pack_kits_rotate_through_each_list():
    first = sample_packs.pack_kit_layers("lmms", 0)
    second = sample_packs.pack_kit_layers("lmms", 1)
    assert first["kick"] == [("kick01", 0.8)]
    assert second["kick"] == [("kick02", 0.8)]
    # A single-entry list is shared by every kit; soft/hard pairs become two velocity layers.
    assert first["hihat_pedal"] == second["hihat_pedal"]
    assert sample_packs.pack_kit_layers("sonicpi", 0)["snare"] == [("drum_snare_soft", 0.5), ("drum_snare_hard", 1.0)]


def test_extract_sample_packs_writes_kits_and_skips_unreadable(tmp_path, monkeypatch):
    folder = tmp_path / "src"
    folder.mkdir()
    t = np.arange(SR // 4) / SR
    sf.write(str(folder / "kick01.wav"), (np.sin(2 * np.pi * 60 * t) * np.exp(-t * 20)).astype(np.float32), SR)
    (folder / "snare01.wav").write_bytes(b"RIFF not really a wav")
    table = {"kick": ["kick01"], "snare": ["snare01"]}
    monkeypatch.setattr(sample_packs, "PACKS", {"test": ("test-pkg", folder, 2, table)})
    out = tmp_path / "kits"

    def write(path, x):
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), x, SR)

    entries = sample_packs.extract_sample_packs(out, write, to_oneshot, lambda pkg, f: "CC0", lambda m: None)
    assert [(e["kit"], e["instrument"]) for e in entries] == [("test_1", "kick"), ("test_2", "kick")]
    assert all((out / e["path"]).exists() and e["licence"] == "CC0" for e in entries)


def test_headerless_raw_pack_is_read_with_its_format_and_licence(tmp_path, monkeypatch):
    """STK-style rawwaves: 16-bit big-endian mono at 22.05 kHz, no header; licence overridden."""
    folder = tmp_path / "raw"
    folder.mkdir()
    t = np.arange(22050 // 4) / 22050
    tone = np.sin(2 * np.pi * 200 * t) * np.exp(-t * 15)
    (folder / "bassdrum.raw").write_bytes((tone * 20000).astype(">i2").tobytes())
    monkeypatch.setattr(sample_packs, "PACKS", {"rawpack": ("raw-pkg", folder, 1, {"kick": ["bassdrum"]})})
    monkeypatch.setattr(sample_packs, "RAW_READ_ARGS", {"rawpack": sample_packs.RAW_READ_ARGS["stk"]})
    monkeypatch.setattr(sample_packs, "LICENCE_BY_PACK", {"rawpack": "MIT"})
    written = {}

    def write(path, x):
        written[path.name] = x

    entries = sample_packs.extract_sample_packs(tmp_path / "kits", write, to_oneshot, lambda p, f: "?", lambda m: None)
    assert [(e["kit"], e["instrument"], e["licence"]) for e in entries] == [("rawpack_1", "kick", "MIT")]
    shot = written["kick_0.wav"]
    # Resampled from 22.05 kHz to the cache rate: the 200 Hz tone keeps its pitch (zero crossings).
    crossings = np.count_nonzero(np.diff(np.signbit(shot[: SR // 10])))
    assert abs(crossings - 2 * 200 / 10) <= 2


def test_kit_table_counts_kits_and_splits():
    entries = [
        dict(kit="a", instrument="kick", source_package="p", licence="MIT", split="train"),
        dict(kit="a", instrument="snare", source_package="p", licence="MIT", split="train"),
        dict(kit="b", instrument="kick", source_package="q", licence="CC0", split="validation"),
    ]
    table = kit_table_markdown(entries)
    assert table.startswith("2 kits, 3 one-shots: **1 train** (2 one-shots), **1 validation** (1 one-shots).")
    assert "| a | p | MIT | train | 2 | 2 |" in table
    assert "| b | q | CC0 | **validation** | 1 | 1 |" in table


def test_component_onsets_mark_distractors_in_their_own_rows():
    hop = 240
    events = [(0, "kick", 1.0), (hop * 3 + 5, "ride", 0.5), (hop * 4, "clap", 0.7), (hop * 99, "crash", 1.0)]
    target = component_onsets(events, 10, hop)
    assert target.shape == (10, len(COMPONENTS))
    assert target[0, COMPONENTS.index("kick")] == 1
    assert target[3, COMPONENTS.index("ride")] == 1
    assert target[4, COMPONENTS.index("other")] == 1
    assert target.sum() == 3  # the crash is past the clip
