"""The streaming form of :class:`HitscribeNet`: one hop of audio in, one frame of outputs out.

All recurrent and convolution caches travel in one flat ``state`` vector (see
``docs/model-contract.md``), so the Rust engine only has to feed ``state_out`` back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .model import HitscribeNet


class StreamingStep(nn.Module):
    """Wraps a trained :class:`HitscribeNet` as ``(audio[1,hop], state[1,S]) -> outputs``."""

    def __init__(self, net: HitscribeNet):
        super().__init__()
        self.net = net
        cfg = net.cfg
        c2 = cfg.conv2d_channels
        self.shapes: list[tuple[str, tuple[int, ...]]] = [
            ("audio_tail", (1, cfg.window - cfg.hop)),
            ("prev_logmel", (1, 1, cfg.n_mels)),
            ("conv2d_a", (1, 2, cfg.n_mels, net.conv2d_a.cache_frames)),
            ("conv2d_b", (1, c2, cfg.n_mels // 2, net.conv2d_b.cache_frames)),
        ]
        for i, conv in enumerate(net.tconvs):
            self.shapes.append((f"tconv{i}", (1, cfg.channels, conv.cache_frames)))
        self.shapes.append(("gru", (1, 1, cfg.gru_hidden)))
        self.sizes = [int(torch.tensor(s).prod()) for _, s in self.shapes]
        #: Length of the flat state vector.
        self.state_size = sum(self.sizes)

    def initial_state(self) -> torch.Tensor:
        """Zeros: the state of a stream that has heard only silence."""
        return torch.zeros(1, self.state_size)

    def forward(self, audio: torch.Tensor, state: torch.Tensor):
        """One hop. Returns ``onset, velocity, offset, state_out`` (each ``[1, ...]``)."""
        net = self.net
        parts = {}
        start = 0
        for (name, shape), size in zip(self.shapes, self.sizes, strict=False):
            parts[name] = state[:, start : start + size].reshape(shape)
            start += size
        frame = torch.cat([parts["audio_tail"], audio], dim=-1)  # [1, window]
        spec = frame @ net.dft
        bins = net.cfg.window // 2 + 1
        power = (spec[:, :bins] ** 2 + spec[:, bins:] ** 2).unsqueeze(1)  # [1, 1, bins]
        x, last_logmel = net._features_from_power(power, parts["prev_logmel"])
        new = {"audio_tail": frame[:, net.cfg.hop :], "prev_logmel": last_logmel}
        x, new["conv2d_a"] = net.conv2d_a.step(x, parts["conv2d_a"])
        x = F.max_pool2d(F.elu(x), (2, 1))
        x, new["conv2d_b"] = net.conv2d_b.step(x, parts["conv2d_b"])
        x = F.max_pool2d(F.elu(x), (2, 1))
        x = F.elu(net.proj(x.reshape(1, -1, 1)))
        for i, conv in enumerate(net.tconvs):
            y, new[f"tconv{i}"] = conv.step(x, parts[f"tconv{i}"])
            x = x + F.elu(y)
        seq = x.transpose(1, 2)
        h, h_n = net.gru(seq, parts["gru"].transpose(0, 1).contiguous())
        new["gru"] = h_n.transpose(0, 1)
        out = net._heads(h, seq)
        state_out = torch.cat([new[name].reshape(1, -1) for name, _ in self.shapes], dim=-1)
        onset = torch.sigmoid(out["onset_logits"][:, 0])
        return onset, out["velocity"][:, 0], out["offset"][:, 0], state_out
