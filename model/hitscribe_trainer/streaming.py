"""The streaming form of :class:`HitscribeNet`: ``k`` hops of audio in, ``k`` frames out.

Every convolution cache, the GRU state and the front end's memory is a state tensor of its own
(``state_<part>`` in, ``state_<part>_out`` out, see ``docs/model-contract.md``): the Rust engine
binds each output to the next call's input. ``k`` is a dynamic axis: the plugin sends one or
two hops per call to keep its latency, the command line many to amortise ONNX Runtime's
per-call cost. The graph is kept lean because at one hop per call ONNX Runtime's cost is
mostly per node: a two-stage DFT instead of a 512 x 514 matrix, one fused head, the power
spectrum folded into the mel matrix, and every state in the shape its layer uses (contract
v2's one flat state cost a split, a concat and a reshape per part: 98 nodes against 78, and
about 10 % more time per call with the inputs and outputs bound once). The temporal stack is
exported time-major as matrix products (83 nodes), which is faster at two hops per call.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .model import LOG_FLOOR, HitscribeNet

#: Output rows of ``frames``: ``frames[0, t, row, class]``.
FRAME_ROWS = ("onset", "velocity", "offset")
#: First factor of the two-stage (Cooley-Tukey) DFT of the front end.
DFT_FACTOR = 16


def factorised_dft(window: np.ndarray, mel: np.ndarray, n1: int = DFT_FACTOR) -> dict[str, np.ndarray]:
    """Matrices for ``log-mel power = ((W1 @ x*w) * twiddle @ M2)^2 @ mel_dup`` (float32).

    A ``N = n1 * n2``-point DFT as two small matrix products and a twiddle instead of one
    ``N x N`` product: about a quarter of the arithmetic and kilobytes instead of a megabyte
    of weights, which matters most at one hop per call. Index ``n = n2 * i1 + i2`` (frame
    reshaped to ``[n1, n2]``), bin ``k = k1 + n1 * k2``; only bins ``0..N/2`` are computed and
    ``mel_dup`` maps the real and imaginary parts of each to the mel bands (its rows are the
    mel filterbank rows in that order, repeated for the imaginary parts).
    """
    n = len(window)
    n2 = n // n1
    bins = n // 2 + 1
    k2n = (bins - 1) // n1 + 1
    i1 = np.arange(n1)
    ang1 = 2 * np.pi * np.outer(i1, i1) / n1
    w1 = np.concatenate([np.cos(ang1), -np.sin(ang1)], axis=0)  # [2 n1, n1]
    tw = np.exp(-2j * np.pi * np.outer(i1, np.arange(n2)) / n)  # [k1, i2]
    f2 = np.exp(-2j * np.pi * np.outer(np.arange(n2), np.arange(k2n)) / n2)  # [i2, k2]
    m2 = np.block([[f2.real, f2.imag], [-f2.imag, f2.real]])  # [2 n2, 2 k2n]
    bin_of = i1[:, None] + n1 * np.arange(k2n)[None, :]  # [k1, k2]
    mel_rows = np.where((bin_of < bins)[..., None], mel[np.minimum(bin_of, bins - 1)], 0.0)  # [k1, k2, mels]
    mel_dup = np.concatenate([mel_rows, mel_rows], axis=1).reshape(n1 * 2 * k2n, -1)
    f32 = np.float32
    return {
        "window": window.reshape(n1, n2).astype(f32),
        "w1": w1.astype(f32),
        "tw_re": tw.real.astype(f32),
        "tw_im": tw.imag.astype(f32),
        "m2": m2.astype(f32),
        "mel_dup": mel_dup.astype(f32),
    }


class StreamingStep(nn.Module):
    """Wraps a trained :class:`HitscribeNet` as ``(audio[1,k,hop], *states) -> (frames, *states_out)``."""

    def __init__(self, net: HitscribeNet):
        super().__init__()
        self.net = net
        cfg = net.cfg
        if not 2 * cfg.hop <= cfg.window <= 3 * cfg.hop:
            raise ValueError("the streaming front end needs 2 * hop <= window <= 3 * hop")
        c2 = cfg.conv2d_channels
        #: (name, shape) of every state tensor, in graph order.
        self.shapes: list[tuple[str, tuple[int, ...]]] = [
            ("audio_tail", (1, 2 * cfg.hop)),
            ("prev_logmel", (1, cfg.n_mels)),
            ("conv2d_a", (1, 2, cfg.n_mels, net.conv2d_a.cache_frames)),
            ("conv2d_b", (1, c2, cfg.n_mels // 2, net.conv2d_b.cache_frames)),
        ]
        for i, conv in enumerate(net.tconvs):  # time-major: the newest frames are the last rows
            self.shapes.append((f"tconv{i}", (conv.cache_frames, cfg.channels)))
        self.shapes.append(("gru", (1, 1, cfg.gru_hidden)))
        if net.velocity_branch is not None:
            self.shapes.append(("velocity_gru", (1, 1, cfg.velocity_gru)))
        #: ONNX input names of the states (outputs add ``_out``), in graph order.
        self.state_names = [f"state_{name}" for name, _ in self.shapes]
        #: Floats in all states together (the contract's ``state_size``).
        self.state_size = sum(int(np.prod(shape)) for _, shape in self.shapes)
        if cfg.window % DFT_FACTOR:
            raise ValueError(f"the streaming front end needs a window that is a multiple of {DFT_FACTOR}")
        dft = factorised_dft(net.window.double().numpy(), net.mel.double().numpy())
        # Scaled so that log(1 + .) is the model's log-mel (see model._features_from_power).
        dft["mel_dup"] /= LOG_FLOOR
        for name, value in dft.items():
            self.register_buffer(f"dft_{name}", torch.from_numpy(value), persistent=False)
        # The temporal stack runs time-major ([frames, channels]) as matrix products with constant
        # right-hand sides, which ONNX Runtime packs once at load and fuses with the bias and ELU.
        # The channel-first convolutions it replaces took a much slower path for two frames per
        # call than for one (a matrix product padded to 16 columns).
        self.register_buffer("proj_w", net.proj.weight[:, :, 0].T.contiguous(), persistent=False)
        for i, conv in enumerate(net.tconvs):
            if conv.conv.kernel_size[0] != 3:
                raise ValueError("the streaming temporal stack expects 3-tap convolutions")
            w = conv.conv.weight  # [out, in, taps]; tap j reads frame t + j * dilation
            taps = torch.cat([w[:, :, j].T for j in range(w.shape[-1])]).contiguous()  # [taps * in, out]
            self.register_buffer(f"tconv_w{i}", taps, persistent=False)
        if net.attack_branch is not None:
            self.register_buffer("attack_w", net.attack_branch.out.weight.T.contiguous(), persistent=False)
        heads = (net.onset_head, net.velocity_head, net.offset_head)
        self.register_buffer("head_w", torch.cat([h.weight for h in heads]).T.contiguous(), persistent=False)
        self.register_buffer("head_b", torch.cat([h.bias for h in heads]), persistent=False)
        if net.velocity_branch is not None:  # the branch adds to the velocity rows only
            extra = net.velocity_branch.out.weight.T  # [units, C]
            zeros = torch.zeros_like(extra)
            self.register_buffer("velocity_extra_w", torch.cat([zeros, extra, zeros], dim=1), persistent=False)

    def initial_state(self) -> list[torch.Tensor]:
        """Zeros: the states of a stream that has heard only silence."""
        return [torch.zeros(shape) for _, shape in self.shapes]

    def _frames(self, tail: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``tail`` [1, 2 hop] + ``audio`` [1, k, hop] -> frames [k, window], new tail.

        The buffer (two held hops, then the new ones) is viewed as ``k + 2`` rows of one hop.
        Frame ``t`` ends with row ``t + 2``: the end of row ``t``, then rows ``t + 1`` and ``t + 2``.
        Every slice bound is a constant (negative from the end), so the exported graph
        computes no shapes at run time.
        """
        cfg = self.net.cfg
        hop, window = cfg.hop, cfg.window
        flat = torch.cat([tail, audio.reshape(1, -1)], dim=-1)  # [1, (k + 2) hop]
        rows = flat.reshape(-1, hop)
        frames = torch.cat([rows[:-2, 3 * hop - window :], rows[1:-1], rows[2:]], dim=-1)
        return frames, flat[:, -2 * hop :]

    def _logmel(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames [k, window] -> log-mel [k, mels] through the factorised DFT."""
        n1 = DFT_FACTOR
        x = frames.reshape(-1, n1, frames.shape[-1] // n1) * self.dft_window
        a = self.dft_w1 @ x  # [k, 2 n1, n2]: first-stage DFT, real then imaginary
        re, im = a[:, :n1], a[:, n1:]
        b = torch.cat([re * self.dft_tw_re - im * self.dft_tw_im, re * self.dft_tw_im + im * self.dft_tw_re], dim=-1)
        spec = b @ self.dft_m2  # [k, n1, 2 k2]: bins k1 + n1 k2, real then imaginary
        return torch.log1p((spec * spec).flatten(1) @ self.dft_mel_dup) * 0.25

    def forward(self, audio: torch.Tensor, *states: torch.Tensor):
        """``k`` hops. Returns ``frames`` [1, k, 3, C] (rows :data:`FRAME_ROWS`), then the new states."""
        net = self.net
        tail, prev_logmel, c2a, c2b, *rest = states
        branch = net.velocity_branch
        if branch is not None:
            rest, velocity_h = rest[:-1], rest[-1]
        tconv_caches, gru_h = rest[:-1], rest[-1]
        frames, new_tail = self._frames(tail, audio)
        logmel = self._logmel(frames)  # [k, mels]
        prev = torch.cat([prev_logmel, logmel[:-1]], dim=0)
        features = torch.cat([logmel, torch.relu(logmel - prev)], dim=-1)  # [k, 2 mels]
        x = features.T.reshape(1, 2, net.cfg.n_mels, -1)  # [1, 2, mels, k]: log-mel, then its rise
        new = [new_tail, logmel[-1:]]
        x, cache = net.conv2d_a.step(x, c2a)
        new.append(cache)
        x = F.max_pool2d(F.elu(x), (2, 1))
        x, cache = net.conv2d_b.step(x, c2b)
        new.append(cache)
        x = F.max_pool2d(F.elu(x), (2, 1))
        c, f = x.shape[1], x.shape[2]
        x = x.reshape(c * f, -1).T  # [k, c * f], time-major from here on
        x = x @ self.proj_w + net.proj.bias
        if net.attack_branch is not None:
            x = x + net.attack_branch.features(frames) @ self.attack_w + net.attack_branch.out.bias
        x = F.elu(x)
        for i, (conv, cache) in enumerate(zip(net.tconvs, tconv_caches, strict=True)):
            d = conv.conv.dilation[0]
            full = torch.cat([cache, x])  # [2 d + k, channels]
            taps = torch.cat([full[: -2 * d], full[d:-d], x], dim=1)  # frames t, t + d, t + 2 d
            new.append(full[-2 * d :])
            x = x + F.elu(taps @ getattr(self, f"tconv_w{i}") + conv.conv.bias)
        h, h_n = net.gru(x.unsqueeze(0), gru_h)  # [1, 1, hidden] is both layouts (one layer, batch 1)
        new.append(h_n)
        z = torch.cat([x, h.squeeze(0)], dim=-1)
        logits = z @ self.head_w + self.head_b  # [k, 3*C]
        if branch is not None:
            vin = torch.cat([z, branch.level(logmel)], dim=-1)
            hv, hv_n = branch.gru(vin.unsqueeze(0), velocity_h)
            new.append(hv_n)
            logits = logits + hv.squeeze(0) @ self.velocity_extra_w
        out = torch.sigmoid(logits)
        return (out.reshape(1, -1, len(FRAME_ROWS), len(self.head_b) // len(FRAME_ROWS)), *new)
