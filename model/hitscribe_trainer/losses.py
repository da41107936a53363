"""Training losses.

* :func:`reconstruction_loss` is DrummerNet's unsupervised objective made streaming-friendly:
  sparse activations drive a fixed synthesiser (one-shots of a randomly drawn kit per
  component), and input and rebuild are compared with L1 on multi-resolution, log-frequency
  ("CQT-like") log spectra plus their half-wave rectified time difference (onset enhancement).
* :func:`supervised_loss` is the optional term on synthetic labels (onset BCE, velocity and
  in-frame offset regression at the onsets).
* :func:`distillation_loss` pulls the network towards the averaged outputs of exported
  teacher models (knowledge distillation of an ensemble into one network).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .model import COMPONENTS

#: (n_fft, low Hz, high Hz): each resolution covers the octaves it resolves best.
RESOLUTIONS = (
    (2048, 30.0, 150.0),
    (1024, 150.0, 600.0),
    (512, 600.0, 2400.0),
    (256, 2400.0, 6000.0),
    (128, 6000.0, 11500.0),
)
#: Hop of the loss spectra, as in DrummerNet (4 ms at 16 kHz; ~2.7 ms at 24 kHz).
LOSS_HOP = 64
LOG_EPS = 1e-5


def log_band_filters(sr: int, n_fft: int, lo: float, hi: float, bins_per_octave: int = 12) -> torch.Tensor:
    """Triangular filters on a log-frequency axis, shape ``[n_fft//2+1, n_bands]``."""
    n_bands = max(2, int(round(np.log2(hi / lo) * bins_per_octave)))
    centres = lo * 2.0 ** (np.arange(-1, n_bands + 1) / bins_per_octave)
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    fb = np.zeros((len(freqs), n_bands), dtype=np.float32)
    for b in range(n_bands):
        left, centre, right = centres[b], centres[b + 1], centres[b + 2]
        up = (freqs - left) / (centre - left)
        down = (right - freqs) / (right - centre)
        fb[:, b] = np.maximum(0, np.minimum(up, down))
        if fb[:, b].sum() == 0:
            fb[int(np.argmin(np.abs(freqs - centre))), b] = 1.0
        fb[:, b] /= fb[:, b].sum()
    return torch.from_numpy(fb)


class MultiResolutionLogSpectrum(torch.nn.Module):
    """Octave-split multi-resolution log spectra (a differentiable pseudo-CQT)."""

    def __init__(self, sr: int):
        super().__init__()
        self.sr = sr
        for i, (n_fft, lo, hi) in enumerate(RESOLUTIONS):
            self.register_buffer(f"fb{i}", log_band_filters(sr, n_fft, lo, hi))
            self.register_buffer(f"win{i}", torch.hann_window(n_fft))

    def forward(self, audio: torch.Tensor) -> list[torch.Tensor]:
        """``audio`` [B, N] -> one ``[B, T, bands]`` log spectrum per resolution."""
        out = []
        for i, (n_fft, _, _) in enumerate(RESOLUTIONS):
            spec = torch.stft(audio, n_fft, LOSS_HOP, window=getattr(self, f"win{i}"), center=True, return_complex=True)
            mag = torch.sqrt(spec.real**2 + spec.imag**2 + 1e-10).transpose(1, 2) / np.sqrt(n_fft)
            band = mag @ getattr(self, f"fb{i}")
            out.append(torch.log10(band + LOG_EPS) - np.log10(LOG_EPS))
        return out


def spectral_distance(spec: MultiResolutionLogSpectrum, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """L1 between log spectra plus L1 between their onset-enhanced (rectified difference) forms."""
    total = x.new_zeros(())
    for a, b in zip(spec(x), spec(x_hat), strict=False):
        total = total + (a - b).abs().mean()
        da = torch.relu(a[:, 1:] - a[:, :-1])
        db = torch.relu(b[:, 1:] - b[:, :-1])
        total = total + 4.0 * (da - db).abs().mean()
    return total


def synthesise(activations: torch.Tensor, templates: torch.Tensor, hop: int, lookahead: int, n_samples: int):
    """Rebuild audio from frame-rate activations.

    ``activations`` [B, T, K] (output frame ``t`` describes input frame ``t - lookahead``),
    ``templates`` [K, L] one-shots. Each activation becomes an impulse at its frame's first
    sample (zero insertion), convolved with its component's one-shot (FFT convolution).
    """
    b, t, k = activations.shape
    aligned = activations[:, lookahead:]  # input frames 0 .. T-lookahead-1
    impulses = activations.new_zeros(b, k, t * hop)
    impulses[:, :, ::hop][:, :, : aligned.shape[1]] = aligned.transpose(1, 2)
    impulses = impulses[:, :, :n_samples]
    length = n_samples + templates.shape[-1]
    n_fft = 1 << (length - 1).bit_length()
    spec = torch.fft.rfft(impulses, n_fft) * torch.fft.rfft(templates, n_fft).unsqueeze(0)
    return torch.fft.irfft(spec.sum(dim=1), n_fft)[:, :n_samples]


def reconstruction_loss(spec, audio, activations, templates, hop, lookahead):
    """DrummerNet-style unsupervised loss for one batch; returns (loss, rebuilt audio)."""
    x_hat = synthesise(activations, templates, hop, lookahead, audio.shape[-1])
    return spectral_distance(spec, audio, x_hat), x_hat


def velocity_correlation_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, min_hits: int = 3):
    """Mean of ``1 - Pearson r`` between predicted and true velocity over the onsets of each
    clip and class (``[B, T, C]``; pairs with fewer than ``min_hits`` onsets or constant
    velocity are skipped).

    Clip gain is random, so absolute velocity is ambiguous from the audio alone, while the
    order of hits within a clip is not: this term rewards getting the within-clip dynamics
    right, which is what a musician (and the velocity correlation) cares about.
    """
    m = mask.to(pred.dtype)
    n = m.sum(dim=1)
    safe_n = n.clamp_min(1)
    p = (pred - (pred * m).sum(dim=1, keepdim=True) / safe_n[:, None]) * m
    t = (target - (target * m).sum(dim=1, keepdim=True) / safe_n[:, None]) * m
    t_norm = t.norm(dim=1)
    valid = (n >= min_hits) & (t_norm > 1e-3)
    if not valid.any():
        return pred.new_zeros(())
    r = (p * t).sum(dim=1) / (p.norm(dim=1) * t_norm).clamp_min(1e-6)
    return (1 - r)[valid].mean()


#: Synthesiser components that are not target drums (hard negatives for the onset classes).
DISTRACTORS = ("tom", "ride", "crash", "other")


def distractor_frames(component_onset: torch.Tensor) -> torch.Tensor:
    """``[B, T, len(COMPONENTS)]`` component onsets -> ``[B, T]`` bool: a distractor onset
    lies within one frame."""
    rows = [COMPONENTS.index(name) for name in DISTRACTORS]
    hit = component_onset[..., rows].amax(dim=-1)
    near = F.max_pool1d(hit[:, None], kernel_size=3, stride=1, padding=1)[:, 0]
    return near > 0


#: A hit with no onset of any component in this many frames before it (0.2 s at 100 frames/s)
#: is a first hit: the start of a take, a phrase or a fill after a stop.
FIRST_HIT_QUIET_FRAMES = 20
#: Target onsets below this label velocity are quiet hits (the grooves' ghost notes: 0.08-0.3).
QUIET_HIT_VELOCITY = 0.3
#: Onsets this many frames before a hit belong to it (a flam, a kick under a hat), not to the
#: groove before it.
FIRST_HIT_FLAM_FRAMES = 3


def first_hit_frames(component_onset: torch.Tensor, quiet_frames: int = FIRST_HIT_QUIET_FRAMES) -> torch.Tensor:
    """``[B, T, len(COMPONENTS)]`` component onsets -> ``[B, T]`` bool: no component onset in
    the ``quiet_frames`` frames before (the flam frames just before excepted).

    What came before the clip is unknown (a clip may begin inside a groove), so the frames
    before it count as busy: only quiet heard inside the clip makes a first hit. A short
    window also takes in hits of a sparse groove: the default checks the 17 frames (0.17 s)
    it leaves after the flam frames, so every hit of eighths slower than about 176 bpm counts;
    0.6 s keeps it to hits after a stop or at a take's start.
    """
    if quiet_frames <= FIRST_HIT_FLAM_FRAMES:
        raise ValueError(f"quiet_frames must exceed the {FIRST_HIT_FLAM_FRAMES} flam frames")
    hit = component_onset.amax(dim=-1)
    frames = hit.shape[1]
    busy_before = F.pad(hit[:, None], (quiet_frames, 0), value=1.0)
    span = quiet_frames - FIRST_HIT_FLAM_FRAMES
    recent = F.max_pool1d(busy_before, kernel_size=span, stride=1)[:, 0, :frames]
    return recent == 0


def supervised_loss(
    out: dict[str, torch.Tensor],
    targets: dict[str, torch.Tensor],
    lookahead: int,
    pos_weight=4.0,
    velocity_corr_weight: float = 0.0,
    distractor_weight: float = 0.0,
    first_hit_weight: float | tuple[float, ...] = 0.0,
    first_hit_quiet_frames: int = FIRST_HIT_QUIET_FRAMES,
    quiet_hit_weight: float = 0.0,
    quiet_hit_velocity: float = QUIET_HIT_VELOCITY,
    quiet_hit_min_db: float | None = None,
):
    """Onset BCE + velocity/offset regression at onsets, on synthetic labels, plus
    ``velocity_corr_weight`` x :func:`velocity_correlation_loss`.

    ``targets`` hold ``onset``, ``velocity``, ``offset`` as [B, T, C] for input frames (and
    ``component_onset`` [B, T, len(COMPONENTS)] when ``distractor_weight`` or ``first_hit_weight`` > 0).
    ``distractor_weight`` adds that much weight to the target classes' negatives within one
    frame of a distractor onset (tom, ride, crash, other percussion): hard negatives, where
    a hi-hat is most often called on a ride or a tambourine. ``first_hit_weight`` adds that
    much weight to the target onsets of first hits (:func:`first_hit_frames`, after
    ``first_hit_quiet_frames`` of quiet), which the hard
    negatives otherwise teach the network to doubt: with no groove before it, one bright tick
    could be a ride as well as a hi-hat. A tuple gives one weight per class: on the hi-hat
    the weight fights the hard negatives of a lone ride, while a kick or a snare after a stop
    has no such double, so the classes may want different weights. ``quiet_hit_weight`` adds
    that much weight to target onsets whose label velocity is below ``quiet_hit_velocity``:
    ghost notes, most of the snare's misses. ``quiet_hit_min_db`` keeps that weight to the
    quiet hits that stand at least that far out of the rest of the kit
    (``targets["onset_audibility_db"]``, :func:`data.onset_audibility`): half the rendered ghost
    notes are 15 dB or more under it, and weighting those teaches the network to fire on nothing.
    """
    t = out["onset_logits"].shape[1]
    n = t - lookahead
    logits = out["onset_logits"][:, lookahead:]
    onset = targets["onset"][:, :n]
    # The frame just after an onset is ambiguous (the hit spills over); do not punish it.
    after = F.pad(onset[:, :-1], (0, 0, 1, 0))
    spill = (onset == 0) & (after > 0)
    weight = torch.where(spill, torch.zeros_like(onset), torch.ones_like(onset))
    if distractor_weight > 0:
        # The spill-over frame stays unpunished beside a distractor too: a snare on a ride hit
        # (every backbeat of a ride-led groove) must not learn to end its peak a frame early.
        near = distractor_frames(targets["component_onset"][:, :n])
        hard = (onset == 0) & ~spill & near[..., None]
        weight = weight + distractor_weight * hard.to(weight.dtype)
    per_class = onset.new_tensor(first_hit_weight).expand(onset.shape[-1])
    if bool((per_class > 0).any()):
        first = (onset > 0) & first_hit_frames(targets["component_onset"][:, :n], first_hit_quiet_frames)[..., None]
        weight = weight + per_class * first.to(weight.dtype)
    if quiet_hit_weight > 0:
        quiet = (onset > 0) & (targets["velocity"][:, :n] < quiet_hit_velocity)
        if quiet_hit_min_db is not None:
            quiet = quiet & (targets["onset_audibility_db"][:, :n] >= quiet_hit_min_db)
        weight = weight + quiet_hit_weight * quiet.to(weight.dtype)
    bce = F.binary_cross_entropy_with_logits(
        logits, onset, weight=weight, pos_weight=torch.tensor(pos_weight, device=logits.device)
    )
    mask = onset > 0
    if mask.any():
        vel = F.mse_loss(out["velocity"][:, lookahead:][mask], targets["velocity"][:, :n][mask])
        off = F.mse_loss(out["offset"][:, lookahead:][mask], targets["offset"][:, :n][mask])
    else:
        vel = off = logits.new_zeros(())
    loss = bce + vel + 0.5 * off
    parts = {"bce": bce.item(), "vel": vel.item(), "off": off.item()}
    if velocity_corr_weight > 0:
        corr = velocity_correlation_loss(out["velocity"][:, lookahead:], targets["velocity"][:, :n], mask)
        loss = loss + velocity_corr_weight * corr
        parts["vcorr"] = corr.item()
    return loss, parts


def component_onset_loss(out: dict[str, torch.Tensor], targets: dict[str, torch.Tensor], lookahead: int):
    """Auxiliary BCE of the component head against every component's onsets (supervised runs).

    Teaches the trunk to tell hi-hats from rides and crashes and snares from toms. The
    component head is not exported; an unsupervised run leaves this term off, because there
    the same logits feed the synthesiser's sparsemax.
    """
    t = out["component_logits"].shape[1]
    logits = out["component_logits"][:, lookahead:]
    target = targets["component_onset"][:, : t - lookahead]
    return F.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(4.0, device=logits.device))


def component_share_loss(out: dict[str, torch.Tensor], targets: dict[str, torch.Tensor], lookahead: int):
    """Soft-target cross entropy of the share head against each component's share of every
    frame's energy (``data.component_shares``): a dense auxiliary target for the trunk, which
    learns what sounds under and between the onsets (a ride's wash, a snare's buzz). The
    share head is not exported."""
    t = out["share_logits"].shape[1]
    logits = out["share_logits"][:, lookahead:]
    target = targets["component_share"][:, : t - lookahead]
    return -(target * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()


def distillation_loss(out: dict[str, torch.Tensor], teacher_onset: torch.Tensor, teacher_velocity: torch.Tensor):
    """Soft-target onset BCE against the teachers' mean onset probability ``teacher_onset``
    [B, T, C], plus velocity MSE weighted by that probability (the teachers' velocity means
    something only where they hear a hit). Both sides are output frames, so no look-ahead shift.

    No positive weight: the BCE is smallest where the student's probability equals the
    teachers' (a weight would push every probability above theirs, and past the threshold)."""
    bce = F.binary_cross_entropy_with_logits(out["onset_logits"], teacher_onset)
    weight = teacher_onset.detach()
    vel = (weight * (out["velocity"] - teacher_velocity) ** 2).sum() / weight.sum().clamp_min(1e-6)
    return bce + vel
