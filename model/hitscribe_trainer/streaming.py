"""The streaming form of :class:`HitscribeNet`: ``k`` hops of audio in, ``k`` frames out.

All recurrent and convolution caches travel in one flat ``state`` vector (see
``docs/model-contract.md``), so the Rust engine only has to feed ``state_out`` back. ``k`` is a
dynamic axis (contract v2): the plugin sends one hop per call to keep its latency, the command
line sends many to amortise ONNX Runtime's cost per call. Both give the same numbers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .model import HitscribeNet


class StreamingStep(nn.Module):
    """Wraps a trained :class:`HitscribeNet` as ``(audio[1,k,hop], state[1,S]) -> outputs``."""

    def __init__(self, net: HitscribeNet):
        super().__init__()
        self.net = net
        cfg = net.cfg
        if not 2 * cfg.hop <= cfg.window <= 3 * cfg.hop:
            raise ValueError("the streaming front end needs 2 * hop <= window <= 3 * hop")
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

    def _frames(self, tail: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """``tail`` [1, window-hop] + ``audio`` [1, k, hop] -> analysis frames [k, window].

        Frame ``t`` is ``hop`` chunks ``t`` and ``t+1`` of the padded buffer plus the head of
        chunk ``t+2``: slices only, so the exported graph needs no dynamic unfold.
        """
        cfg = self.net.cfg
        hop, window = cfg.hop, cfg.window
        k = audio.shape[1]
        pad = 3 * hop - window  # tail + pad = 2 hops
        buf = torch.cat([tail, audio.reshape(1, -1)], dim=-1)
        buf = F.pad(buf, (0, pad))  # [1, (k+2)*hop]
        chunks = buf.reshape(k + 2, hop)
        return torch.cat([chunks[:k], chunks[1 : k + 1], chunks[2 : k + 2, : window - 2 * hop]], dim=-1)

    def forward(self, audio: torch.Tensor, state: torch.Tensor):
        """``k`` hops. Returns ``onset, velocity, offset`` ([1, k, C]) and ``state_out`` [1, S]."""
        net = self.net
        cfg = net.cfg
        parts = {}
        start = 0
        for (name, shape), size in zip(self.shapes, self.sizes, strict=False):
            parts[name] = state[:, start : start + size].reshape(shape)
            start += size
        tail = parts["audio_tail"]
        frames = self._frames(tail, audio)  # [k, window]
        spec = frames @ net.dft
        bins = cfg.window // 2 + 1
        power = (spec[:, :bins] ** 2 + spec[:, bins:] ** 2).unsqueeze(0)  # [1, k, bins]
        x, last_logmel = net._features_from_power(power, parts["prev_logmel"])
        flat = torch.cat([tail, audio.reshape(1, -1)], dim=-1)
        new = {"audio_tail": flat[:, flat.shape[1] - (cfg.window - cfg.hop) :], "prev_logmel": last_logmel}
        x, new["conv2d_a"] = net.conv2d_a.step(x, parts["conv2d_a"])
        x = F.max_pool2d(F.elu(x), (2, 1))
        x, new["conv2d_b"] = net.conv2d_b.step(x, parts["conv2d_b"])
        x = F.max_pool2d(F.elu(x), (2, 1))
        x = F.elu(net.proj(x.flatten(1, 2)))
        for i, conv in enumerate(net.tconvs):
            y, new[f"tconv{i}"] = conv.step(x, parts[f"tconv{i}"])
            x = x + F.elu(y)
        seq = x.transpose(1, 2)
        h, h_n = net.gru(seq, parts["gru"].transpose(0, 1).contiguous())
        new["gru"] = h_n.transpose(0, 1)
        out = net._heads(h, seq)
        state_out = torch.cat([new[name].reshape(1, -1) for name, _ in self.shapes], dim=-1)
        onset = torch.sigmoid(out["onset_logits"])
        return onset, out["velocity"], out["offset"], state_out
