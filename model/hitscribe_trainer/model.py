"""The causal analysis network and its streaming (one hop per call) form.

Offline and streaming forms share every weight. Each causal convolution keeps the last
``receptive - 1`` input frames as cache; the streaming step concatenates that cache with the
newest frame, so the two forms compute the same numbers (see ``tests/test_streaming.py``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .sparsemax import sparsemax

#: Target classes the engine peak-picks, in contract order.
CLASS_NAMES = ("kick", "snare", "hihat")
#: General MIDI drum notes for the target classes.
GM_NOTES = (36, 38, 42)
#: Power floor of the log-mel front end.
LOG_FLOOR = 1e-6
#: Synthesiser components (the unsupervised path rebuilds audio from these).
COMPONENTS = ("kick", "snare", "hihat_closed", "hihat_open", "tom", "ride", "crash", "other")
#: Heads that only training uses: the streaming export leaves them out (a warm start from an
#: export initialises them afresh).
TRAINING_ONLY_HEADS = ("component_head", "gain_head", "share_head")


@dataclass
class ModelConfig:
    """Hyper-parameters that define the network and its streaming contract."""

    sample_rate: int = 24000
    hop: int = 240
    window: int = 512
    n_mels: int = 64
    fmin: float = 30.0
    fmax: float = 11000.0
    conv2d_channels: int = 12
    channels: int = 96
    gru_hidden: int = 96
    lookahead_frames: int = 2
    time_sparsemax_frames: int = 8
    dilations: tuple[int, ...] = field(default_factory=lambda: (1, 2, 4, 8))
    #: Units of the velocity branch's own GRU (0: none, the velocity head reads the trunk only,
    #: as up to v26). See :class:`VelocityBranch`.
    velocity_gru: int = 0
    #: Mel bands of the attack branch's short-window front end (0: none, as up to p60s). See
    #: :class:`AttackBranch`.
    attack_bands: int = 0

    def to_dict(self) -> dict:
        """Plain-JSON form for checkpoints."""
        d = asdict(self)
        d["dilations"] = list(self.dilations)
        return d

    @staticmethod
    def from_dict(d: dict) -> ModelConfig:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["dilations"] = tuple(d.get("dilations", (1, 2, 4, 8)))
        return ModelConfig(**d)


def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Slaney-style triangular mel filters, shape ``[n_fft // 2 + 1, n_mels]``."""

    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    bins = np.linspace(0, sr / 2, n_fft // 2 + 1)
    mels = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)
    hz = mel_to_hz(mels)
    fb = np.zeros((n_fft // 2 + 1, n_mels), dtype=np.float32)
    for m in range(n_mels):
        lo, centre, hi = hz[m], hz[m + 1], hz[m + 2]
        up = (bins - lo) / max(centre - lo, 1e-6)
        down = (hi - bins) / max(hi - centre, 1e-6)
        fb[:, m] = np.maximum(0.0, np.minimum(up, down))
        # Filters narrower than a bin still see their nearest bin.
        if fb[:, m].sum() == 0:
            fb[int(round(centre / (sr / n_fft))), m] = 1.0
        fb[:, m] *= 2.0 / (hi - lo)
    return fb


def hann_dft_basis(size: int) -> np.ndarray:
    """Real DFT of a periodic-Hann-windowed frame as one matrix, ``[size, 2 (size // 2 + 1)]``
    (float32): ``frame @ basis`` gives the real parts of bins ``0..size/2``, then the imaginary."""
    n = np.arange(size)
    ang = 2 * np.pi * np.outer(n, np.arange(size // 2 + 1)) / size
    hann = torch.hann_window(size, periodic=True).numpy()[:, None]
    return np.concatenate([np.cos(ang) * hann, -np.sin(ang) * hann], axis=1).astype(np.float32)


class CausalConv(nn.Module):
    """Convolution that is causal along the last (time) axis, 1-D or 2-D."""

    def __init__(self, conv: nn.Conv1d | nn.Conv2d):
        super().__init__()
        self.conv = conv
        k = conv.kernel_size[-1]
        d = conv.dilation[-1]
        #: Number of past frames the convolution needs.
        self.cache_frames = (k - 1) * d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Offline: zero history before the first frame."""
        return self.conv(F.pad(x, (self.cache_frames, 0)))

    def step(self, x: torch.Tensor, cache: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Streaming: ``x`` holds ``k`` new frames, ``cache`` the previous ``cache_frames``."""
        full = torch.cat([cache, x], dim=-1)
        return self.conv(full), full[..., -self.cache_frames :]


class TrainingNoise(nn.Module):
    """Training-only regularisation; the identity in eval mode, so it never reaches the export.

    - ``mask_p``: share of batch items whose log-mel features lose one or two random bands of up
      to ``mask_bands`` mel bands each (SpecAugment-style frequency masking; a masked band reads
      as digital silence, the front end's 0), so that no class leans on one narrow band of one
      kit's timbre;
    - ``dropout``: dropout on the trunk's features before the GRU and the heads.
    """

    def __init__(self, mask_p: float = 0.0, mask_bands: int = 8, dropout: float = 0.0):
        super().__init__()
        self.mask_p = mask_p
        self.mask_bands = mask_bands
        self.dropout = nn.Dropout(dropout)

    def mask_bands_of(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` [B, channels, mels, T] with random mel bands of random items zeroed."""
        if not self.training or self.mask_p <= 0:
            return x
        batch, _, mels, _ = x.shape
        keep = torch.ones(batch, 1, mels, 1, dtype=x.dtype, device=x.device)
        for item in range(batch):
            if torch.rand(()) >= self.mask_p:
                continue
            for _ in range(int(torch.randint(1, 3, ()))):
                width = int(torch.randint(1, self.mask_bands + 1, ()))
                low = int(torch.randint(0, mels - width + 1, ()))
                keep[item, :, low : low + width] = 0
        return x * keep


#: Mel bands averaged into one band of the velocity branch's level input.
LEVEL_POOL = 4


class VelocityBranch(nn.Module):
    """A small GRU that reads the trunk's features, the main GRU's output and the frame's level
    in coarse bands, and adds to the velocity head's logits.

    How hard a drum was hit shows in how loud it is *relative to the other hits of the same
    performance*: the stream has no whole-track normalisation and the input gain is unknown, so
    the branch keeps a memory of its own for the levels it has heard. Its output weights start
    at zero, so a network that gains the branch computes exactly what it computed before.
    Onsets and offsets never read it.
    """

    def __init__(self, cfg: ModelConfig, n_cls: int):
        super().__init__()
        if cfg.velocity_gru == cfg.gru_hidden:
            raise ValueError("the velocity branch needs a unit count of its own (exports tell the GRUs apart by it)")
        #: Inputs per frame: trunk features, main GRU output, pooled log-mel level.
        self.inputs = cfg.channels + cfg.gru_hidden + cfg.n_mels // LEVEL_POOL
        self.gru = nn.GRU(self.inputs, cfg.velocity_gru, batch_first=True)
        self.out = nn.Linear(cfg.velocity_gru, n_cls, bias=False)
        nn.init.zeros_(self.out.weight)

    @staticmethod
    def level(logmel: torch.Tensor) -> torch.Tensor:
        """``logmel`` [..., mels] -> coarse band level [..., mels / LEVEL_POOL]."""
        return logmel.unflatten(-1, (-1, LEVEL_POOL)).mean(-1)


#: Window of the attack branch's short frames, in samples (5.3 ms at 24 kHz).
ATTACK_WINDOW = 128
#: Hop between the attack branch's short frames: four per 240-sample hop.
ATTACK_HOP = 60
#: Lowest and highest frequency of the attack branch's bands (a 128-point frame's bins are
#: 188 Hz apart, so lower bands would only repeat the lowest bin).
ATTACK_FMIN, ATTACK_FMAX = 200.0, 11000.0


class AttackBranch(nn.Module):
    """A finer view of each hop's attacks, added to the trunk's features.

    The main front end's 512-sample window (21 ms) smears a quiet attack over the sustain of
    everything around it. This branch cuts the newest ``hop + ATTACK_WINDOW`` samples of the
    same frame into ``hop / ATTACK_HOP + 1`` short Hann-windowed frames (5.3 ms, 2.5 ms apart),
    takes their log power in ``bands`` mel bands, and passes the levels of the newest
    ``hop / ATTACK_HOP`` of them and their half-wave rectified rises through one linear layer
    into the trunk's projection. It reads only samples the frame already holds, so streaming
    needs no state of its own. The layer starts at zero, so a network that gains the branch
    computes exactly what it computed before.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.hop % ATTACK_HOP or cfg.window < cfg.hop + ATTACK_WINDOW:
            raise ValueError("the attack branch needs hop % 60 == 0 and window >= hop + 128")
        #: Short frames per hop (the branch also reads one from the previous hop for the rise).
        self.frames_per_hop = cfg.hop // ATTACK_HOP
        self.register_buffer("dft", torch.from_numpy(hann_dft_basis(ATTACK_WINDOW)))  # [window, 2 bins]
        mel = mel_filterbank(cfg.sample_rate, ATTACK_WINDOW, cfg.attack_bands, ATTACK_FMIN, ATTACK_FMAX)
        self.register_buffer("mel", torch.from_numpy(mel))  # [bins, bands]
        self.out = nn.Linear(2 * self.frames_per_hop * cfg.attack_bands, cfg.channels)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def features(self, frames: torch.Tensor) -> torch.Tensor:
        """``frames`` [..., window] (the main front end's frames) -> inputs [..., 2 * per hop * bands]."""
        span = self.frames_per_hop * ATTACK_HOP + ATTACK_WINDOW
        short = frames[..., -span:].unfold(-1, ATTACK_WINDOW, ATTACK_HOP)  # [..., per hop + 1, window]
        spec = short @ self.dft
        bins = spec.shape[-1] // 2
        power = spec[..., :bins] ** 2 + spec[..., bins:] ** 2
        level = (torch.log(power @ self.mel + LOG_FLOOR) - math.log(LOG_FLOOR)) * 0.25
        rise = torch.relu(level[..., 1:, :] - level[..., :-1, :])
        return torch.cat([level[..., 1:, :], rise], dim=-1).flatten(-2)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """``frames`` [..., window] -> the branch's addition to the projection [..., channels]."""
        return self.out(self.features(frames))


class HitscribeNet(nn.Module):
    """Log-mel front end, 2-D causal convolutions, dilated 1-D causal convolutions, a GRU, heads."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("window", torch.hann_window(cfg.window, periodic=True))
        self.register_buffer(
            "mel", torch.from_numpy(mel_filterbank(cfg.sample_rate, cfg.window, cfg.n_mels, cfg.fmin, cfg.fmax))
        )
        # Real DFT basis (window folded in), used by the exported graph instead of an FFT.
        self.register_buffer("dft", torch.from_numpy(hann_dft_basis(cfg.window)))

        c2 = cfg.conv2d_channels
        self.conv2d_a = CausalConv(nn.Conv2d(2, c2, (3, 3), padding=(1, 0)))
        self.conv2d_b = CausalConv(nn.Conv2d(c2, c2, (3, 3), padding=(1, 0)))
        flat = c2 * (cfg.n_mels // 4)
        self.proj = nn.Conv1d(flat, cfg.channels, 1)
        self.tconvs = nn.ModuleList(
            CausalConv(nn.Conv1d(cfg.channels, cfg.channels, 3, dilation=d)) for d in cfg.dilations
        )
        self.gru = nn.GRU(cfg.channels, cfg.gru_hidden, batch_first=True)
        feat = cfg.gru_hidden + cfg.channels
        n_cls = len(CLASS_NAMES)
        self.onset_head = nn.Linear(feat, n_cls)
        self.velocity_head = nn.Linear(feat, n_cls)
        #: Optional velocity memory (``cfg.velocity_gru`` > 0); ``None`` otherwise.
        self.velocity_branch = VelocityBranch(cfg, n_cls) if cfg.velocity_gru > 0 else None
        self.offset_head = nn.Linear(feat, n_cls)
        #: Optional short-window attack view (``cfg.attack_bands`` > 0); ``None`` otherwise.
        self.attack_branch = AttackBranch(cfg) if cfg.attack_bands > 0 else None
        self.component_head = nn.Linear(feat, len(COMPONENTS))
        self.gain_head = nn.Linear(feat, len(COMPONENTS))
        #: Training only (not exported): each component's share of the frame's energy, plus silence.
        self.share_head = nn.Linear(feat, len(COMPONENTS) + 1)
        #: Training-only noise (the trainer sets its strength); holds no weights.
        self.noise = TrainingNoise()

    # ----- front end -------------------------------------------------------------------------
    def _features_from_power(self, power: torch.Tensor, prev_logmel: torch.Tensor | None):
        """``power``: [B, T, bins] -> features [B, 2, n_mels, T] and the last log-mel frame.

        Log-mel is offset so that digital silence maps to 0 (the streaming state starts at 0).
        The second channel is the half-wave rectified frame difference (onset enhancement).
        """
        logmel = (torch.log(power @ self.mel + LOG_FLOOR) - math.log(LOG_FLOOR)) * 0.25
        if prev_logmel is None:
            prev_logmel = torch.zeros_like(logmel[:, :1])
        prev = torch.cat([prev_logmel, logmel[:, :-1]], dim=1)
        flux = torch.relu(logmel - prev)
        x = torch.stack([logmel, flux], dim=1).transpose(2, 3)  # [B, 2, mels, T]
        return x, logmel[:, -1:]

    def frames_power_offline(self, audio: torch.Tensor) -> torch.Tensor:
        """``audio``: [B, N] (N a multiple of hop) -> power spectra [B, N/hop, bins]."""
        cfg = self.cfg
        padded = self.padded_for_frames(audio)
        spec = torch.stft(
            padded, cfg.window, cfg.hop, window=self.window, center=False, return_complex=True
        )  # [B, bins, T]
        return (spec.real**2 + spec.imag**2).transpose(1, 2)

    def padded_for_frames(self, audio: torch.Tensor) -> torch.Tensor:
        """``audio`` with the zeros before the first frame (frame ``t`` ends with hop ``t``)."""
        return F.pad(audio, (self.cfg.window - self.cfg.hop, 0))

    def frames_offline(self, audio: torch.Tensor) -> torch.Tensor:
        """``audio``: [B, N] (N a multiple of hop) -> the front end's frames [B, N/hop, window]."""
        return self.padded_for_frames(audio).unfold(-1, self.cfg.window, self.cfg.hop)

    # ----- trunk -----------------------------------------------------------------------------
    def _heads(self, h: torch.Tensor, g: torch.Tensor, velocity_extra: torch.Tensor | None = None):
        """Every head's output from the trunk features ``g`` and the GRU output ``h``, [B, T, .];
        ``velocity_extra`` (the velocity branch's logits) is added to the velocity head's."""
        z = torch.cat([g, h], dim=-1)  # [B, T, feat]
        velocity_logits = self.velocity_head(z)
        if velocity_extra is not None:
            velocity_logits = velocity_logits + velocity_extra
        return {
            "onset_logits": self.onset_head(z),
            "velocity": torch.sigmoid(velocity_logits),
            "offset": torch.sigmoid(self.offset_head(z)),
            "component_logits": self.component_head(z),
            "component_gain": self.gain_head(z),
            "share_logits": self.share_head(z),
        }

    def forward(
        self, audio: torch.Tensor, gru_state: torch.Tensor | None = None, velocity_state: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Offline pass over ``audio`` [B, N]; every output is [B, T, ...], T = N // hop, except
        ``gru_state`` [1, B, hidden], the GRU's state after the last frame.

        Output frame ``t`` describes input frame ``t - lookahead_frames``. ``gru_state`` (default
        zeros) starts the GRU as if it had already heard other audio (training with carried state);
        ``velocity_state`` does the same for the velocity branch, whose final state is returned
        as ``velocity_state`` when the network has one.
        """
        n = audio.shape[-1] // self.cfg.hop * self.cfg.hop
        power = self.frames_power_offline(audio[..., :n])
        x, _ = self._features_from_power(power, None)
        logmel = x[:, 0].transpose(1, 2)  # [B, T, mels]
        x = F.elu(self.conv2d_a(self.noise.mask_bands_of(x)))
        x = F.max_pool2d(x, (2, 1))
        x = F.elu(self.conv2d_b(x))
        x = F.max_pool2d(x, (2, 1))
        b, c, f, t = x.shape
        x = self.proj(x.reshape(b, c * f, t))
        if self.attack_branch is not None:
            x = x + self.attack_branch(self.frames_offline(audio[..., :n])).transpose(1, 2)
        x = F.elu(x)
        for conv in self.tconvs:
            x = x + F.elu(conv(x))
        seq = self.noise.dropout(x.transpose(1, 2))
        h, last = self.gru(seq, gru_state)
        if self.velocity_branch is None:
            return {**self._heads(h, seq), "gru_state": last}
        branch = self.velocity_branch
        vin = torch.cat([seq, h, branch.level(logmel)], dim=-1)
        hv, v_last = branch.gru(vin, velocity_state)
        return {**self._heads(h, seq, branch.out(hv)), "gru_state": last, "velocity_state": v_last}


def synth_activations(out: dict[str, torch.Tensor], time_frames: int, projection=sparsemax) -> torch.Tensor:
    """Sparse, streaming-compatible synthesiser activations [B, T, K] (DrummerNet's multiply form).

    Instrument sparsemax per frame (with an extra always-zero "silence" logit so that
    silence is reachable) times the last element of a causal sliding-window time sparsemax,
    times a positive gain (the input is not normalised, so amplitude must be predicted).
    ``projection`` is sparsemax; the softmax ablation passes ``torch.softmax``.
    """
    logits = out["component_logits"]
    b, t, k = logits.shape
    with_silence = torch.cat([logits, torch.zeros_like(logits[..., :1])], dim=-1)
    inst = projection(with_silence, dim=-1)[..., :k]
    padded = F.pad(logits.transpose(1, 2), (time_frames - 1, 0), value=-1e4)  # [B, K, T+W-1]
    windows = padded.unfold(-1, time_frames, 1)  # [B, K, T, W]
    timew = projection(windows, dim=-1)[..., -1].transpose(1, 2)  # newest frame's share
    gain = torch.exp(out["component_gain"].clamp(-12.0, 4.0))
    return inst * timew * gain


def count_parameters(model: nn.Module) -> int:
    """Trainable parameter count."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
