"""Fixtures shared by the trainer's tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fakes import decaying_noise

from hitscribe_trainer import kits as kits_mod


def _write_hydrogen_kit(root: Path, name: str, licence: str) -> None:
    d = root / name
    d.mkdir(parents=True)
    rng = np.random.default_rng(len(name))
    insts = []
    for i, (iname, fn) in enumerate([("Kick", "k"), ("Snare", "s"), ("Hat Closed", "h"), ("Weird FX", "x")]):
        layers = ""
        for j, (lo, hi) in enumerate([(0.0, 0.5), (0.5, 1.0)]):
            x = np.concatenate([np.zeros(300), decaying_noise(rng, 4000, 0.02)])
            sf.write(str(d / f"{fn}{j}.wav"), np.stack([x, x], 1), 44100)
            layers += f"<layer><filename>{fn}{j}.wav</filename><min>{lo}</min><max>{hi}</max></layer>"
        insts.append(
            f"<instrument><id>{i}</id><name>{iname}</name>"
            f"<instrumentComponent>{layers}</instrumentComponent></instrument>"
        )
    (d / "drumkit.xml").write_text(
        '<?xml version="1.0"?><drumkit_info xmlns="http://www.hydrogen-music.org/drumkit">'
        f"<name>{name}</name><license>{licence}</license><instrumentList>"
        + "".join(insts)
        + "</instrumentList></drumkit_info>"
    )


@pytest.fixture(scope="module")
def fake_cache(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("kits")
    src = tmp / "src"
    _write_hydrogen_kit(src, "TrainKit", "GPL")
    _write_hydrogen_kit(src, kits_mod.VALIDATION_KITS[0], "CC0")
    cache = tmp / "cache"
    kits_mod.prepare_kits(cache, verbose=False, hydrogen_dir=src, sf2_dir=None, freepats_dir=None, extra_sources=False)
    return cache
