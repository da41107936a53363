"""Drum one-shot extraction from Debian packages and kit loading.

``prepare_kits(cache_dir)`` writes ``cache_dir/kits/<kit>/<instrument>_<layer>.wav``
(mono float32, 24 kHz, <= 1.5 s, leading silence trimmed, peak-normalised) and
``cache_dir/kits/manifest.json``. ``load_kits(cache_dir, split)`` loads them back.

Sources (all optional, skipped when absent):
  * Hydrogen drumkits (hydrogen-drumkits, hydrogen-data): drumkit.xml layers.
  * AVL drums (avldrums.lv2-soundfont) and FluidR3 GM (fluid-soundfont-gm) sound
    fonts, rendered note by note with the fluidsynth CLI.
  * freepats GUS patches (Drum_000/*.pat), parsed directly.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Collection
from dataclasses import dataclass, field
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from .sample_packs import extract_sample_packs

SR = 24000
MAX_SECONDS = 1.5
MAX_LAYERS = 8  # per source instrument

INSTRUMENTS = (
    "kick",
    "snare",
    "sidestick",
    "hihat_closed",
    "hihat_open",
    "hihat_pedal",
    "tom_high",
    "tom_mid",
    "tom_low",
    "ride",
    "ride_bell",
    "crash",
    "china",
    "splash",
    "clap",
    "cowbell",
    "tambourine",
    "other",
)

HYDROGEN_DIR = Path("/usr/share/hydrogen/data/drumkits")
SF2_DIR = Path("/usr/share/sounds/sf2")
FREEPATS_DIR = Path("/usr/share/midi/freepats/Drum_000")

# Held-out kits: deterministic, from different sources and styles (acoustic
# Hydrogen kit, electronic Hydrogen kit, AVL sound-font kit). The AVL "Black
# Pearl" and Hydrogen "The Black Pearl"/"GMRockKit" kits share a recording
# author (Glen MacArthur), the Millo kits share samples and the FluidR3 drum kits
# share samples with each other, so each such family stays on one side (train).
VALIDATION_KITS = (
    "BJA_Pacific",  # Hydrogen, acoustic, CC-BY-SA-3.0-us
    "ColomboAcousticDrumkit",  # Hydrogen, acoustic, GPL-2+
    "HardElectro1",  # Hydrogen, electronic, GPL-2+
    "rumpf_kit_z01_h2",  # Hydrogen, acoustic, CC-BY-3.0
    "avl_Red_Zeppelin",  # AVL drums sound font, acoustic, CC-BY-SA-3.0
)

GM_NOTE_MAP = {
    35: "kick",
    36: "kick",
    37: "sidestick",
    38: "snare",
    39: "clap",
    40: "snare",
    41: "tom_low",
    42: "hihat_closed",
    43: "tom_low",
    44: "hihat_pedal",
    45: "tom_mid",
    46: "hihat_open",
    47: "tom_mid",
    48: "tom_high",
    49: "crash",
    50: "tom_high",
    51: "ride",
    52: "china",
    53: "ride_bell",
    54: "tambourine",
    55: "splash",
    56: "cowbell",
    57: "crash",
    58: "other",
    59: "ride",
}
AVL_NOTE_MAP = {
    36: "kick",
    37: "sidestick",
    38: "snare",
    39: "clap",
    40: "snare",
    41: "tom_low",
    42: "hihat_closed",
    43: "tom_low",
    44: "hihat_pedal",
    45: "tom_high",
    46: "hihat_open",
    47: "tom_high",
    49: "crash",
    51: "ride",
    53: "ride_bell",
    54: "tambourine",
    55: "splash",
    56: "cowbell",
    57: "crash",
    59: "ride",
    60: "crash",
}
FLUID_KITS = {0: "standard", 8: "room", 16: "power", 24: "electronic", 25: "tr808", 32: "jazz", 40: "brush"}
#: Further GM sound fonts (bank 128 presets), all training kits: file, kit prefix, presets.
EXTRA_SOUNDFONTS = (
    (
        Path("/usr/share/sounds/sf3/MuseScore_General_Full.sf3"),
        "musescore",
        {
            0: "standard",
            1: "standard1",
            2: "standard2",
            3: "standard3",
            8: "room",
            16: "power",
            24: "electronic",
            25: "tr808",
            32: "jazz",
            40: "brush",
        },
    ),
    (
        Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),
        "timgm6mb",
        {0: "standard", 8: "room", 16: "power", 24: "electronic", 25: "tr808", 32: "jazz", 40: "brush"},
    ),
    (
        Path("/usr/share/sounds/sf2/sf_GMbank.sf2"),
        "csoundgm",
        {0: "standard", 8: "room", 16: "power", 24: "electronic", 25: "tr808", 32: "jazz", 40: "brush"},
    ),
)
RENDER_VELOCITIES = (40, 80, 120)


@dataclass
class Kit:
    name: str
    samples: dict[str, list[tuple[float, np.ndarray]]] = field(default_factory=dict)


# --------------------------------------------------------------------------- names


def map_instrument_name(name: str) -> str | None:
    """Heuristic Hydrogen instrument name -> canonical instrument (None = skip)."""
    n = name.lower().strip()
    n = re.sub(r"^[a-g]#?\d\s*-\s*", "", n)  # rumpf "c#3 - stick"
    if not n or re.fullmatch(r"[\d\s]*", n) or n.startswith("sample:"):
        return None
    words = set(re.findall(r"[a-z]+|\d+", n))
    if any(w in n for w in ("choke", "swish", "roll", "zap", "whistle", "waterglass", "flink")) or words & {
        "chk",
        "fx",
    }:
        return None
    if "tambourine" in n or "tamb" in words:
        return "tambourine"
    if "cowbell" in n or "cow bell" in n:
        return "cowbell"
    if "clap" in n:
        return "clap"
    if "kick" in n or "bassdrum" in n or "bass drum" in n or "bd" in words:
        return "kick"
    if "side stick" in n or "sidestick" in n or "rim click" in n or "stick" in words or "sticks" in words:
        return "sidestick"
    if "snare" in n or "sd" in words:
        return "snare"
    if "hat" in n or "hh" in words or "ohh" in words or "hihat" in n:
        if "free" in words:
            return None
        if any(w in n for w in ("pedal", "foot")) or "pd" in words:
            return "hihat_pedal"
        if any(w in n for w in ("open", "semi")) or words & {"op", "ohh"}:
            return "hihat_open"
        return "hihat_closed"
    if any(w.startswith("tom") for w in words):
        if any(w.startswith("tomhi") for w in words):
            return "tom_high"
        if words & {"floor", "low", "lo"}:
            return "tom_low"
        if words & {"mid", "2"}:
            return "tom_mid"
        return "tom_high"
    if ("bell" in n or "cup" in n) and ("ride" in n or "crash" in n or n == "bell" or "paiste" in n):
        return "ride_bell"
    if "ride" in n:
        return "ride" if ("crash" not in n or "bow" in n) else "crash"
    if "china" in n:
        return "china"
    if "splash" in n:
        return "splash"
    if "crash" in n or "cymbal" in n:
        return "crash"
    if any(
        w in n
        for w in (
            "conga",
            "bongo",
            "djembe",
            "cajon",
            "clave",
            "woodblock",
            "shaker",
            "maraca",
            "agogo",
            "snap",
            "timbale",
            "sangban",
            "dununba",
            "kenkeni",
        )
    ):
        return "other"
    return None


# --------------------------------------------------------------------------- licences


def _copyright_stanzas(pkg: str) -> list[tuple[list[str], str]]:
    path = Path(f"/usr/share/doc/{pkg}/copyright")
    if not path.exists():
        return []
    out: list[tuple[list[str], str]] = []
    files: list[str] | None = None
    for para in re.split(r"\n\s*\n", path.read_text(errors="replace")):
        m = re.search(r"^Files:(.*?)(?=^\S)", para + "\nX", re.S | re.M)
        lic = re.search(r"^License:\s*(.+)$", para, re.M)
        if m:
            files = m.group(1).split()
            if lic:
                out.append((files, lic.group(1).strip()))
    return out


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def package_licence(pkg: str, kit_dir_name: str | None = None) -> str:
    """Licence for a kit from /usr/share/doc/<pkg>/copyright."""
    stanzas = _copyright_stanzas(pkg)
    if kit_dir_name is not None:
        key = _norm(kit_dir_name)
        for files, lic in stanzas:
            for f in files:
                stem = _norm(Path(f).name.replace(".h2drumkit", ""))
                if stem and (key.startswith(stem) or stem.startswith(key)):
                    return lic
    for files, lic in stanzas:
        if "*" in files:
            return lic
    path = Path(f"/usr/share/doc/{pkg}/copyright")
    if path.exists():
        text = path.read_text(errors="replace")
        if "GNU General Public License" in text:
            return "GPL-2+" if "any later version" in text else "GPL"
        if "MIT" in text:
            return "MIT"
    return "unknown"


def file_licence(pkg: str, file_name: str) -> str:
    """Licence of one file of a package (its own ``Files:`` stanza, else the package's)."""
    for files, lic in _copyright_stanzas(pkg):
        if any(Path(f).name == file_name for f in files):
            return lic
    return package_licence(pkg)


def owning_package(path: Path) -> str:
    try:
        out = subprocess.run(["dpkg", "-S", str(path)], capture_output=True, text=True, timeout=30).stdout
        if out:
            return out.split(":")[0].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


# --------------------------------------------------------------------------- audio


def to_oneshot(x: np.ndarray, sr: int) -> np.ndarray | None:
    """Mono, 24 kHz, leading silence trimmed, <= 1.5 s, peak 0.9. None if silent."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if x.size == 0:
        return None
    if sr != SR:
        g = gcd(int(sr), SR)
        x = resample_poly(x, SR // g, int(sr) // g)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak < 1e-5:
        return None
    idx = np.flatnonzero(np.abs(x) > peak * 10 ** (-40 / 20))
    start = max(0, int(idx[0]) - 12)  # keep 0.5 ms before the attack
    x = x[start : start + int(MAX_SECONDS * SR)]
    # trailing silence
    idx = np.flatnonzero(np.abs(x) > peak * 10 ** (-70 / 20))
    x = x[: int(idx[-1]) + 1]
    n_fade = min(len(x) // 4, int(0.03 * SR))
    if n_fade > 0:
        x[-n_fade:] *= np.linspace(1.0, 0.0, n_fade)
    x = x / peak * 0.9
    return x.astype(np.float32)


def _write(out: Path, x: np.ndarray) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(out), x, SR, subtype="FLOAT")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


# --------------------------------------------------------------------------- hydrogen


def _strip_ns(root: ET.Element) -> None:
    for el in root.iter():
        if "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]


def extract_hydrogen(kit_dir: Path, out_root: Path) -> list[dict]:
    xml = kit_dir / "drumkit.xml"
    root = ET.parse(xml).getroot()
    _strip_ns(root)
    kit = _safe(kit_dir.name)
    pkg = owning_package(xml)
    licence = package_licence(pkg, kit_dir.name)
    xml_lic = (root.findtext("license") or "").strip()
    if licence == "unknown" and xml_lic:
        licence = xml_lic
    entries = []
    counters: dict[str, int] = {}
    for inst in root.iter("instrument"):
        canon = map_instrument_name(inst.findtext("name") or "")
        if canon is None:
            continue
        layers = []
        for layer in inst.iter("layer"):
            fn = layer.findtext("filename")
            if not fn:
                continue
            lo = float(layer.findtext("min") or 0.0)
            hi = float(layer.findtext("max") or 1.0)
            layers.append((fn, lo, hi))
        if not layers and inst.findtext("filename"):
            layers.append((inst.findtext("filename"), 0.0, 1.0))
        if len(layers) > MAX_LAYERS:
            pick = np.linspace(0, len(layers) - 1, MAX_LAYERS).round().astype(int)
            layers = [layers[i] for i in sorted(set(pick))]
        for fn, lo, hi in layers:
            src = kit_dir / fn
            if not src.exists():
                continue
            try:
                x, sr = sf.read(str(src), dtype="float32", always_2d=True)
            except (RuntimeError, sf.LibsndfileError):
                continue
            y = to_oneshot(x, sr)
            if y is None:
                continue
            vel = 0.8 if len(layers) == 1 else float(np.clip((lo + hi) / 2, 0.05, 1.0))
            k = counters.get(canon, 0)
            counters[canon] = k + 1
            out = out_root / kit / f"{canon}_{k}.wav"
            _write(out, y)
            entries.append(
                dict(
                    kit=kit,
                    instrument=canon,
                    velocity=round(vel, 4),
                    path=str(out.relative_to(out_root)),
                    source_package=pkg,
                    licence=licence,
                )
            )
    return entries


# --------------------------------------------------------------------------- sound fonts


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def write_note_midi(
    path: Path, notes: list[tuple[int, int]], channel: int, program: int, bank: int, spacing_s: float
) -> None:
    """Type-0 MIDI file: one note every ``spacing_s`` (120 bpm, 480 ppq)."""
    ppq = 480
    ticks = int(round(spacing_s * 2 * ppq))  # 120 bpm: 1 beat = 0.5 s
    ev = bytearray()
    ev += _vlq(0) + bytes([0xB0 | channel, 0, bank >> 7 if bank > 127 else 0])
    ev += _vlq(0) + bytes([0xB0 | channel, 32, bank & 0x7F if bank <= 127 else 0])
    ev += _vlq(0) + bytes([0xC0 | channel, program])
    gap = ticks // 10
    for i, (note, vel) in enumerate(notes):
        ev += _vlq(ticks // 4 if i == 0 else gap) + bytes([0x90 | channel, note, vel])
        # note off, then "all sound off" so no tail leaks into the next note's slice
        ev += _vlq(ticks - gap) + bytes([0x80 | channel, note, 0])
        ev += _vlq(0) + bytes([0xB0 | channel, 120, 0])
    ev += _vlq(ticks) + b"\xff\x2f\x00"
    data = b"MThd" + struct.pack(">IHHH", 6, 0, 1, ppq)
    data += b"MTrk" + struct.pack(">I", len(ev)) + bytes(ev)
    path.write_bytes(data)


def render_soundfont(
    sf2: Path,
    kit: str,
    note_map: dict[int, str],
    channel: int,
    program: int,
    bank: int,
    out_root: Path,
    pkg: str,
    licence: str,
) -> list[dict]:
    if shutil.which("fluidsynth") is None:
        return []
    spacing = 2.0
    notes = [(n, v) for n in sorted(note_map) for v in RENDER_VELOCITIES]
    with tempfile.TemporaryDirectory() as td:
        mid = Path(td) / "notes.mid"
        wav = Path(td) / "out.wav"
        write_note_midi(mid, notes, channel, program, bank, spacing)
        subprocess.run(
            [
                "fluidsynth",
                "-ni",
                "-q",
                "-R",
                "0",
                "-C",
                "0",
                "-g",
                "0.6",
                "-r",
                str(SR),
                "-F",
                str(wav),
                str(sf2),
                str(mid),
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
        audio, sr = sf.read(str(wav), dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    entries = []
    counters: dict[str, int] = {}
    first = spacing / 4
    for i, (note, vel) in enumerate(notes):
        t0 = int((first + i * spacing - 0.005) * sr)
        seg = audio[max(0, t0) : t0 + int((spacing - 0.25) * sr)]
        if seg.size == 0 or np.max(np.abs(seg)) < 1e-3:
            continue
        y = to_oneshot(seg, sr)
        if y is None:
            continue
        canon = note_map[note]
        k = counters.get(canon, 0)
        counters[canon] = k + 1
        out = out_root / kit / f"{canon}_{k}.wav"
        _write(out, y)
        entries.append(
            dict(
                kit=kit,
                instrument=canon,
                velocity=round(vel / 127, 4),
                path=str(out.relative_to(out_root)),
                source_package=pkg,
                licence=licence,
            )
        )
    return entries


# --------------------------------------------------------------------------- freepats


def read_gus_patch(path: Path) -> tuple[np.ndarray, int] | None:
    """First sample of a GUS .pat file (GF1PATCH110) as float32, rate."""
    b = path.read_bytes()
    if not b.startswith(b"GF1PATCH"):
        return None
    off = 129 + 63 + 47  # header + instrument + layer
    if len(b) < off + 96:
        return None
    h = b[off : off + 96]
    length = struct.unpack_from("<I", h, 8)[0]
    rate = struct.unpack_from("<H", h, 20)[0]
    modes = h[55]
    data = b[off + 96 : off + 96 + length]
    if modes & 1:
        dt = "<u2" if modes & 2 else "<i2"
        x = np.frombuffer(data[: len(data) // 2 * 2], dtype=dt).astype(np.float32)
        x = (x - 32768) / 32768 if modes & 2 else x / 32768
    else:
        dt = "u1" if modes & 2 else "i1"
        x = np.frombuffer(data, dtype=dt).astype(np.float32)
        x = (x - 128) / 128 if modes & 2 else x / 128
    return x, int(rate)


def extract_freepats(out_root: Path, src_dir: Path = FREEPATS_DIR) -> list[dict]:
    if not src_dir.is_dir():
        return []
    licence = package_licence("freepats")
    entries = []
    counters: dict[str, int] = {}
    for pat in sorted(src_dir.glob("*.pat")):
        m = re.match(r"(\d+)_", pat.name)
        if not m or int(m.group(1)) not in GM_NOTE_MAP:
            continue
        canon = GM_NOTE_MAP[int(m.group(1))]
        try:
            r = read_gus_patch(pat)
        except (OSError, struct.error, ValueError):
            continue
        if r is None or r[1] < 4000:
            continue
        y = to_oneshot(*r)
        if y is None:
            continue
        k = counters.get(canon, 0)
        counters[canon] = k + 1
        out = out_root / "freepats" / f"{canon}_{k}.wav"
        _write(out, y)
        entries.append(
            dict(
                kit="freepats",
                instrument=canon,
                velocity=0.8,
                path=str(out.relative_to(out_root)),
                source_package="freepats",
                licence=licence,
            )
        )
    return entries


# --------------------------------------------------------------------------- prepare


def prepare_kits(
    cache_dir: Path,
    verbose: bool = True,
    hydrogen_dir: Path = HYDROGEN_DIR,
    sf2_dir: Path | None = SF2_DIR,
    freepats_dir: Path | None = FREEPATS_DIR,
    extra_sources: bool = True,
) -> Path:
    """Extract all available one-shots; returns the manifest path.

    The source directories can be overridden (tests); ``None`` skips a source, and
    ``extra_sources=False`` skips the extra sound fonts and sample packs."""
    cache_dir = Path(cache_dir)
    out_root = cache_dir / "kits"
    if out_root.exists():
        shutil.rmtree(out_root)
    out_root.mkdir(parents=True)
    entries: list[dict] = []

    def log(msg: str) -> None:
        if verbose:
            print(msg, flush=True)

    if hydrogen_dir is not None and Path(hydrogen_dir).is_dir():
        for kd in sorted(p for p in Path(hydrogen_dir).iterdir() if (p / "drumkit.xml").exists()):
            e = extract_hydrogen(kd, out_root)
            log(f"hydrogen {kd.name}: {len(e)} one-shots")
            entries += e
    for name in ("Black_Pearl_4_LV2", "Red_Zeppelin_4_LV2"):
        if sf2_dir is None:
            break
        sf2 = Path(sf2_dir) / f"{name}.sf2"
        if not sf2.exists():
            sf2 = Path("/usr/lib/lv2/avldrums.lv2") / f"{name}.sf2"
        if sf2.exists():
            pkg = owning_package(sf2)
            lic = package_licence(pkg, None)
            for files, lic2 in _copyright_stanzas(pkg):
                if any(f.startswith("sf2") for f in files):
                    lic = lic2
            kit = "avl_" + name.replace("_4_LV2", "")
            e = render_soundfont(sf2, kit, AVL_NOTE_MAP, 0, 0, 0, out_root, pkg, lic)
            log(f"avldrums {kit}: {len(e)} one-shots")
            entries += e
    fluid = Path(sf2_dir) / "FluidR3_GM.sf2" if sf2_dir is not None else None
    if fluid is not None and fluid.exists():
        pkg = owning_package(fluid)
        lic = "MIT"  # /usr/share/doc/fluid-soundfont-gm/copyright: MIT licence text
        text = Path(f"/usr/share/doc/{pkg}/copyright")
        if text.exists() and "MIT" not in text.read_text(errors="replace"):
            lic = package_licence(pkg)
        for prog, kname in FLUID_KITS.items():
            e = render_soundfont(fluid, f"fluid_{kname}", GM_NOTE_MAP, 9, prog, 128, out_root, pkg, lic)
            log(f"fluid {kname}: {len(e)} one-shots")
            entries += e
    if freepats_dir is not None:
        e = extract_freepats(out_root, Path(freepats_dir))
        log(f"freepats: {len(e)} one-shots")
        entries += e
    if extra_sources:
        for sf_path, prefix, presets in EXTRA_SOUNDFONTS:
            if not sf_path.exists():
                log(f"{sf_path} not found, skipped")
                continue
            pkg = owning_package(sf_path)
            lic = file_licence(pkg, sf_path.name)
            for prog, kname in presets.items():
                e = render_soundfont(sf_path, f"{prefix}_{kname}", GM_NOTE_MAP, 9, prog, 128, out_root, pkg, lic)
                log(f"{prefix} {kname}: {len(e)} one-shots")
                entries += e
        entries += extract_sample_packs(out_root, _write, to_oneshot, file_licence, log)

    for e in entries:
        e["split"] = "validation" if e["kit"] in VALIDATION_KITS else "train"
    manifest = out_root / "manifest.json"
    manifest.write_text(json.dumps(entries, indent=1))
    return manifest


def kit_table_markdown(entries: list[dict]) -> str:
    """The kit table of ``model/KITS.md`` (one row per kit, manifest order) from manifest entries."""
    kits: dict[str, list[dict]] = {}
    for e in entries:
        kits.setdefault(e["kit"], []).append(e)
    n_train = sum(1 for rows in kits.values() if rows[0]["split"] == "train")
    lines = [
        f"{len(kits)} kits, {len(entries)} one-shots: **{n_train} train** "
        f"({sum(len(r) for r in kits.values() if r[0]['split'] == 'train')} one-shots), "
        f"**{len(kits) - n_train} validation** "
        f"({sum(len(r) for r in kits.values() if r[0]['split'] != 'train')} one-shots).",
        "",
        "| Kit | Package | Licence | Split | One-shots | Instruments |",
        "|---|---|---|---|---|---|",
    ]
    for name, rows in kits.items():
        split = rows[0]["split"] if rows[0]["split"] == "train" else f"**{rows[0]['split']}**"
        licences = " / ".join(sorted({r["licence"] for r in rows}))
        n_inst = len({r["instrument"] for r in rows})
        lines.append(f"| {name} | {rows[0]['source_package']} | {licences} | {split} | {len(rows)} | {n_inst} |")
    return "\n".join(lines) + "\n"


def read_oneshot_list(path: Path) -> list[str]:
    """One-shot paths (relative to ``CACHE/kits``, as in the manifest) listed one per line in a
    text file; ``#`` starts a comment, blank lines are skipped."""
    out = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def load_manifest(cache_dir: Path) -> list[dict]:
    return json.loads((Path(cache_dir) / "kits" / "manifest.json").read_text())


def load_kits(cache_dir: Path, split: str | None = "train", exclude: Collection[str] = ()) -> list[Kit]:
    """Kits of a split ("train", "validation" or None for all), without the one-shots whose
    manifest paths are in ``exclude`` (see ``read_oneshot_list``); an unknown path is an error,
    so that a typo cannot leave a render silently unchanged."""
    root = Path(cache_dir) / "kits"
    kits: dict[str, Kit] = {}
    excluded = set(exclude)
    manifest = load_manifest(cache_dir)
    unknown = sorted(excluded - {e["path"] for e in manifest})
    if unknown:
        raise ValueError(f"one-shots to exclude are not in the kit manifest: {', '.join(unknown)}")
    for e in manifest:
        if split is not None and e["split"] != split:
            continue
        if e["path"] in excluded:
            continue
        x, sr = sf.read(str(root / e["path"]), dtype="float32")
        assert sr == SR
        kit = kits.setdefault(e["kit"], Kit(e["kit"]))
        kit.samples.setdefault(e["instrument"], []).append((float(e["velocity"]), x))
    for kit in kits.values():
        for v in kit.samples.values():
            v.sort(key=lambda t: t[0])
    return [kits[k] for k in sorted(kits)]
