"""Batches for training: synthetic grooves rendered on the fly, or the user's own recordings.

The unsupervised loss sees only audio. Frame targets are built from the synthetic events only
for the optional supervised term (and for measurement).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from .model import CLASS_NAMES, COMPONENTS

#: Instrument (as written by the kit manifest) -> target class index, or absent.
INSTRUMENT_TO_CLASS = {
    "kick": 0,
    "snare": 1,
    "sidestick": 1,
    "hihat_closed": 2,
    "hihat_open": 2,
    "hihat_pedal": 2,
}
#: Instrument -> synthesiser component.
INSTRUMENT_TO_COMPONENT = {
    "kick": "kick",
    "snare": "snare",
    "hihat_closed": "hihat_closed",
    "hihat_pedal": "hihat_closed",
    "hihat_open": "hihat_open",
    "tom_high": "tom",
    "tom_mid": "tom",
    "tom_low": "tom",
    "ride": "ride",
    "ride_bell": "ride",
    "crash": "crash",
    "china": "crash",
    "splash": "crash",
}


def frame_targets(events, n_frames: int, hop: int) -> dict[str, np.ndarray]:
    """Events ``(sample, instrument, velocity)`` -> onset/velocity/offset arrays ``[T, C]``."""
    c = len(CLASS_NAMES)
    onset = np.zeros((n_frames, c), np.float32)
    velocity = np.zeros((n_frames, c), np.float32)
    offset = np.zeros((n_frames, c), np.float32)
    for sample, instrument, vel in events:
        cls = INSTRUMENT_TO_CLASS.get(instrument)
        f = int(sample) // hop
        if cls is None or not 0 <= f < n_frames:
            continue
        if onset[f, cls] == 0 or vel > velocity[f, cls]:
            velocity[f, cls] = vel
            offset[f, cls] = (int(sample) - f * hop) / hop
        onset[f, cls] = 1.0
    return {
        "onset": onset,
        "velocity": velocity,
        "offset": offset,
        "component_onset": component_onsets(events, n_frames, hop),
    }


#: Seconds after an onset over which :func:`hit_audibility_db` compares the tracks.
AUDIBILITY_WINDOW_S = 0.03
#: :func:`onset_audibility` at frames with no target onset (any real hit is far below it).
AUDIBILITY_NONE_DB = 100.0


def hit_audibility_db(stems: dict[str, np.ndarray], start: int, cls: int, window: int) -> float:
    """Class ``cls``'s dry tracks against every other track over ``window`` samples from
    ``start`` (dB): how far a hit stands out of the rest of the kit (masking, roughly; before the
    mix's EQ, compression and room). ``stems`` as from ``synth.render_clip(stems_out=...)``."""
    own = rest = 0.0
    for instrument, track in stems.items():
        energy = float(np.sum(np.asarray(track[start : start + window], np.float64) ** 2))
        if INSTRUMENT_TO_CLASS.get(instrument) == cls:
            own += energy
        else:
            rest += energy
    return float(10 * np.log10((own + 1e-12) / (rest + 1e-12)))


def onset_audibility(events, stems: dict[str, np.ndarray], n_frames: int, hop: int, sr: int) -> np.ndarray:
    """:func:`hit_audibility_db` of every target onset ``[T, C]``, at its frame (the loudest
    hit where a frame holds two); :data:`AUDIBILITY_NONE_DB` elsewhere."""
    window = int(round(AUDIBILITY_WINDOW_S * sr))
    out = np.full((n_frames, len(CLASS_NAMES)), -np.inf, np.float32)
    for sample, instrument, _ in events:
        cls = INSTRUMENT_TO_CLASS.get(instrument)
        f = int(sample) // hop
        if cls is not None and 0 <= f < n_frames:
            out[f, cls] = max(out[f, cls], hit_audibility_db(stems, int(sample), cls, window))
    out[np.isneginf(out)] = AUDIBILITY_NONE_DB
    return out


def component_onsets(events, n_frames: int, hop: int) -> np.ndarray:
    """Events -> onset frames of every synthesiser component ``[T, len(COMPONENTS)]``.

    Distractors (toms, rides, crashes, other percussion) get their own rows, so the
    auxiliary loss gives the network an explicit place for what is *not* a target drum.
    """
    out = np.zeros((n_frames, len(COMPONENTS)), np.float32)
    for sample, instrument, _ in events:
        f = int(sample) // hop
        if 0 <= f < n_frames:
            out[f, COMPONENTS.index(INSTRUMENT_TO_COMPONENT.get(instrument, "other"))] = 1.0
    return out


#: Pre-emphasis of the stems before their energies are shared out (+6 dB per octave, so that a
#: hi-hat's or a ride's energy is not drowned by the kick's low end).
SHARE_PREEMPHASIS = 0.97
#: Silence's energy, relative to the clip's loudest frame (-40 dB): frames quieter than this
#: are mostly "silence".
SHARE_SILENCE = 1e-4


def component_shares(stems: dict[str, np.ndarray], n_frames: int, hop: int) -> np.ndarray:
    """Each synthesiser component's share of every frame's energy ``[T, len(COMPONENTS) + 1]``.

    ``stems`` maps instruments to their dry tracks (``synth.render_clip(stems_out=...)``).
    Energies are of the pre-emphasised tracks, summed per component; the last column is a
    silence share (a floor at :data:`SHARE_SILENCE` of the loudest frame's energy), so every
    row sums to 1. A dense target: it says what sounds under and between the onsets.
    """
    energy = np.zeros((n_frames, len(COMPONENTS) + 1), np.float64)
    n = n_frames * hop
    for instrument, track in stems.items():
        x = np.zeros(n, np.float64)
        k = min(n, len(track))
        x[:k] = track[:k]
        x[1:] -= SHARE_PREEMPHASIS * x[:-1].copy()
        col = COMPONENTS.index(INSTRUMENT_TO_COMPONENT.get(instrument, "other"))
        energy[:, col] += (x.reshape(n_frames, hop) ** 2).sum(axis=1)
    total = energy[:, :-1].sum(axis=1)
    energy[:, -1] = SHARE_SILENCE * max(float(total.max()), 1e-12)
    return (energy / energy.sum(axis=1, keepdims=True)).astype(np.float32)


def draw_templates(rng: np.random.Generator, kits, length: int) -> torch.Tensor:
    """One one-shot per synthesiser component, each from an independently drawn kit (L2 norm 10)."""
    out = np.zeros((len(COMPONENTS), length), np.float32)
    for k, comp in enumerate(COMPONENTS):
        candidates = [
            (kit, inst)
            for kit in kits
            for inst in kit.samples
            if INSTRUMENT_TO_COMPONENT.get(inst, "other") == comp and kit.samples[inst]
        ]
        if not candidates:
            continue
        kit, inst = candidates[rng.integers(len(candidates))]
        layers = kit.samples[inst]
        _, wave = layers[rng.integers(len(layers))]
        wave = np.asarray(wave, np.float32)[:length]
        out[k, : len(wave)] = wave
        norm = np.linalg.norm(out[k])
        if norm > 0:
            out[k] *= 10.0 / norm
    return torch.from_numpy(out)


class SyntheticGrooves(torch.utils.data.IterableDataset):
    """Endless synthetic clips from the training kits (rendered by :mod:`hitscribe_trainer.synth`)."""

    def __init__(
        self,
        cache_dir: Path,
        seconds: float,
        sr: int,
        hop: int,
        seed: int,
        split: str = "train",
        synth_overrides: dict | None = None,
        with_shares: bool = False,
        with_audibility: bool = False,
    ):
        super().__init__()
        self.cache_dir, self.seconds, self.sr, self.hop, self.seed, self.split = (
            Path(cache_dir),
            seconds,
            sr,
            hop,
            seed,
            split,
        )
        #: ``TRAINING_OPTIONS`` fields to override (e.g. ``mix_kits_p``, ``voicing_p``, ``blend_p``).
        self.synth_overrides = dict(synth_overrides or {})
        #: Also yield ``component_share`` (:func:`component_shares`) with every clip.
        self.with_shares = with_shares
        #: Also yield ``onset_audibility_db`` (:func:`onset_audibility`) with every clip.
        self.with_audibility = with_audibility

    def __iter__(self) -> Iterator[dict]:
        from .kits import load_kits
        from .synth import TRAINING_OPTIONS, render_clip

        options = replace(TRAINING_OPTIONS, **self.synth_overrides)

        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng(self.seed + (info.id if info else 0) * 7919)
        kits = load_kits(self.cache_dir, self.split)
        pool = None
        if options.procedural_p > 0:
            from .procedural import ProceduralPool

            pool = ProceduralPool(
                self.seed + 104729 + (info.id if info else 0),
                self.sr,
                distinct_cymbals=options.procedural_distinct_cymbals,
            )
        n = int(self.seconds * self.sr) // self.hop * self.hop
        while True:
            stems = {} if self.with_shares or self.with_audibility else None
            audio, events = render_clip(rng, kits, n / self.sr, self.sr, options, procedural_pool=pool, stems_out=stems)
            audio = np.nan_to_num(np.asarray(audio, np.float32)[:n])
            if len(audio) < n:
                audio = np.pad(audio, (0, n - len(audio)))
            targets = frame_targets(events, n // self.hop, self.hop)
            if self.with_shares:
                targets["component_share"] = component_shares(stems, n // self.hop, self.hop)
            if self.with_audibility:
                targets["onset_audibility_db"] = onset_audibility(events, stems, n // self.hop, self.hop, self.sr)
            yield {"audio": torch.from_numpy(audio), **{k: torch.from_numpy(v) for k, v in targets.items()}}


class UserRecordings(torch.utils.data.IterableDataset):
    """Random crops of a folder of the user's own drum recordings (no labels: unsupervised only)."""

    def __init__(self, folder: Path, seconds: float, sr: int, hop: int, seed: int):
        super().__init__()
        self.folder, self.seconds, self.sr, self.hop, self.seed = Path(folder), seconds, sr, hop, seed

    def __iter__(self) -> Iterator[dict]:
        from .synth import iter_user_audio

        rng = np.random.default_rng(self.seed)
        n = int(self.seconds * self.sr) // self.hop * self.hop
        for crop in iter_user_audio(self.folder, self.sr, n / self.sr, rng):
            audio = np.nan_to_num(np.asarray(crop, np.float32)[:n])
            audio = np.pad(audio, (0, n - len(audio)))
            audio *= 10 ** (rng.uniform(-24, 3) / 20) / max(1e-4, float(np.abs(audio).max()))
            yield {"audio": torch.from_numpy(audio)}
