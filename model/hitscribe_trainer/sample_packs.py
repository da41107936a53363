"""Kits assembled from loose one-shot folders (LMMS, Sonic Pi, eXaDrums and STK samples).

These packages ship single samples, not kits. Each pack is turned into several kits by
walking its lists of kicks, snares, hi-hats and the rest in step (kit ``i`` takes the
``i``-th sample of each list, wrapping around), so that a clip rendered with one kit has one
consistent sound per instrument, as a real kit would. Every kit built here is a training kit.
"""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

LMMS_DIR = Path("/usr/share/lmms/samples/drums")
SONIC_PI_DIR = Path("/usr/share/sonic-pi/samples")
EXADRUMS_DIR = Path("/usr/share/exadrums")
STK_DIR = Path("/usr/share/stk/rawwaves")
#: Packs whose files are headerless: the ``soundfile`` arguments that read them (STK's rawwaves
#: are 16-bit big-endian mono at 22.05 kHz).
RAW_READ_ARGS: dict[str, dict] = {
    "stk": dict(format="RAW", samplerate=22050, channels=1, subtype="PCM_16", endian="BIG"),
}
#: Licences the Debian copyright file names only as "other": the text, read by hand.
LICENCE_BY_PACK: dict[str, str] = {"stk": "MIT (the STK licence text, Files: *)"}

#: Pack -> (package, folder, kit count, instrument -> candidate file stems).
#: A stem list of several entries rotates across the pack's kits; a tuple entry
#: ``(stem, velocity)`` is one velocity layer of the same drum.
PACKS: dict[str, tuple[str, Path, int, dict[str, list]]] = {
    "lmms": (
        "lmms-common",
        LMMS_DIR,
        8,
        {
            "kick": [
                "kick01",
                "kick02",
                "kick03",
                "kick04",
                "bassdrum01",
                "bassdrum02",
                "bassdrum03",
                "bassdrum04",
                "bassdrum_acoustic01",
                "bassdrum_acoustic02",
                "kick_hard01",
                "kick_hiphop01",
                "kick_soft01",
                "kick_long01",
            ],
            "snare": [
                "snare01",
                "snare02",
                "snare03",
                "snare04",
                "snare05",
                "snare06",
                "snare07",
                "snare_acoustic01",
                "snare_electro01",
                "snare_harsh01",
                "snare_hiphop01",
                "snare_hiphop02",
                "snare_muffled01",
                "snare_muffled02",
                "snare_short01",
            ],
            "sidestick": ["sidestick01", "rim01", "snare_rim01"],
            "hihat_closed": ["hihat_closed01", "hihat_closed02", "hihat_closed03", "hihat_closed04", "hihat_closed05"],
            "hihat_open": ["hihat_opened01", "hihat_opened02", "hihat_opened03"],
            "hihat_pedal": ["hihat_foot_pedal01"],
            "crash": ["crash01", "crash02"],
            "ride": ["ride01", "ride02"],
            "tom_high": ["tom_hi01", "tom01", "tom02"],
            "tom_mid": ["tom_mid01", "tom03"],
            "tom_low": ["tom_low01", "tom04", "tom05"],
            "clap": ["clap01", "clap02", "clap03", "clap04"],
            "other": ["shaker01", "shaker02", "shaker03", "wood01", "clav01", "clav02"],
        },
    ),
    "sonicpi": (
        "sonic-pi-samples",
        SONIC_PI_DIR,
        6,
        {
            "kick": [
                [("drum_bass_soft", 0.5), ("drum_bass_hard", 1.0)],
                "drum_heavy_kick",
                "bd_808",
                "bd_ada",
                "bd_boom",
                "bd_fat",
                "bd_gas",
                "bd_haus",
                "bd_klub",
                "bd_pure",
                "bd_tek",
                "bd_zome",
                "bd_zum",
                "elec_hollow_kick",
                "elec_soft_kick",
            ],
            "snare": [
                [("drum_snare_soft", 0.5), ("drum_snare_hard", 1.0)],
                "sn_dolf",
                "sn_dub",
                "sn_generic",
                "sn_zome",
                "elec_snare",
                "elec_hi_snare",
                "elec_mid_snare",
                "elec_lo_snare",
                "elec_filt_snare",
            ],
            "hihat_closed": ["drum_cymbal_closed"],
            "hihat_open": ["drum_cymbal_open"],
            "hihat_pedal": ["drum_cymbal_pedal"],
            "crash": [[("drum_cymbal_soft", 0.5), ("drum_cymbal_hard", 1.0)], "elec_cymbal"],
            "splash": [[("drum_splash_soft", 0.5), ("drum_splash_hard", 1.0)]],
            "tom_high": [[("drum_tom_hi_soft", 0.5), ("drum_tom_hi_hard", 1.0)]],
            "tom_mid": [[("drum_tom_mid_soft", 0.5), ("drum_tom_mid_hard", 1.0)], "elec_fuzz_tom"],
            "tom_low": [[("drum_tom_lo_soft", 0.5), ("drum_tom_lo_hard", 1.0)]],
            "cowbell": ["drum_cowbell"],
            "clap": ["perc_snap", "perc_snap2"],
            "other": ["elec_tick", "elec_wood", "elec_triangle", "elec_pop", "elec_plip"],
        },
    ),
    # eXaDrums' default kit: one acoustic kit recorded at one velocity (BSD-3-Clause).
    "exadrums": (
        "exadrums",
        EXADRUMS_DIR,
        1,
        {
            "kick": ["BD_Acou_01"],
            "snare": ["Snr_Acou_01"],
            "hihat_closed": ["HiHat"],
            "crash": ["Crash_High"],
            "ride": ["RideEdge"],
            "ride_bell": ["RideBell"],
            "tom_high": ["Tom01"],
            "tom_low": ["Tom03"],
        },
    ),
    # The Synthesis ToolKit's drum rawwaves (the samples of its Drummer instrument).
    "stk": (
        "stk",
        STK_DIR,
        1,
        {
            "kick": ["bassdrum"],
            "snare": ["snardrum"],
            "hihat_closed": ["hihatcym"],
            "crash": ["crashcym"],
            "ride": ["ridecymb"],
            "tom_high": ["tomhidrm"],
            "tom_mid": ["tommiddr"],
            "tom_low": ["tomlowdr"],
            "cowbell": ["cowbell1"],
            "tambourine": ["tambourn"],
        },
    ),
}


def _find(folder: Path, stem: str) -> Path | None:
    for ext in (".flac", ".wav", ".ogg", ".raw"):
        p = folder / f"{stem}{ext}"
        if p.exists():
            return p
    return None


def pack_kit_layers(pack: str, index: int) -> dict[str, list[tuple[str, float]]]:
    """Instrument -> ``[(stem, velocity)]`` of kit ``index`` of a pack (no file access)."""
    _, _, _, table = PACKS[pack]
    out: dict[str, list[tuple[str, float]]] = {}
    for inst, candidates in table.items():
        choice = candidates[index % len(candidates)]
        out[inst] = list(choice) if isinstance(choice, list) else [(choice, 0.8)]
    return out


def extract_sample_packs(out_root: Path, write, to_oneshot, licence_of, verbose_log=print) -> list[dict]:
    """Write every pack kit's one-shots under ``out_root``; returns manifest entries.

    ``write``, ``to_oneshot`` and ``licence_of(package, file)`` are passed in by
    :mod:`hitscribe_trainer.kits` (shared with the other sources). Missing packs are skipped.
    """
    entries: list[dict] = []
    for pack, (package, folder, n_kits, _) in PACKS.items():
        if not folder.is_dir():
            verbose_log(f"{pack}: {folder} not found (package {package}), skipped")
            continue
        for i in range(n_kits):
            kit = f"{pack}_{i + 1}"
            count = 0
            for inst, layers in pack_kit_layers(pack, i).items():
                for k, (stem, velocity) in enumerate(layers):
                    src = _find(folder, stem)
                    if src is None:
                        continue
                    try:
                        x, sr = sf.read(str(src), dtype="float32", always_2d=True, **RAW_READ_ARGS.get(pack, {}))
                    except (sf.LibsndfileError, RuntimeError) as err:  # a few LMMS files are malformed
                        verbose_log(f"{src}: unreadable ({err}), skipped")
                        continue
                    y = to_oneshot(x, sr)
                    if y is None:
                        continue
                    out = out_root / kit / f"{inst}_{k}.wav"
                    write(out, y)
                    count += 1
                    entries.append(
                        dict(
                            kit=kit,
                            instrument=inst,
                            velocity=velocity,
                            path=str(out.relative_to(out_root)),
                            source_package=package,
                            licence=LICENCE_BY_PACK.get(pack) or licence_of(package, src.name),
                        )
                    )
            verbose_log(f"{pack} {kit}: {count} one-shots")
    return entries
