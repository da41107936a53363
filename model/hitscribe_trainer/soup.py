"""Uniform weight averaging of fine-tuned checkpoints (a "model soup", Wortsman et al., ICML 2022).

Runs fine-tuned from one exported model stay in one basin of the loss, so the mean of their
weights is itself a model, often steadier on data none of them trained on than any one of
them. The network has no normalisation statistics, so every floating-point tensor is averaged
and everything else must agree.
"""

from __future__ import annotations

from pathlib import Path

import torch


def average_state_dicts(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of floating-point tensors; other tensors must be equal in all."""
    if not states:
        raise ValueError("no checkpoints to average")
    keys = list(states[0])
    for i, s in enumerate(states[1:], start=2):
        if list(s) != keys:
            raise ValueError(f"checkpoint {i} has different tensors from checkpoint 1")
    out = {}
    for key in keys:
        tensors = [s[key] for s in states]
        if any(t.shape != tensors[0].shape for t in tensors):
            raise ValueError(f"tensor {key!r} differs in shape between checkpoints")
        if tensors[0].is_floating_point():
            out[key] = torch.stack([t.double() for t in tensors]).mean(0).to(tensors[0].dtype)
        elif all(torch.equal(t, tensors[0]) for t in tensors):
            out[key] = tensors[0].clone()
        else:
            raise ValueError(f"non-float tensor {key!r} differs between checkpoints")
    return out


def average_checkpoints(paths: list[Path], out: Path) -> Path:
    """Write the weight average of training checkpoints of one model configuration to ``out``.

    The result loads like any checkpoint (``export --checkpoint``, ``evaluate --checkpoint``);
    it has no optimiser state, so it is not a run to resume.
    """
    loaded = [torch.load(p, weights_only=False, map_location="cpu") for p in paths]
    config = loaded[0]["config"]
    for p, c in zip(paths[1:], loaded[1:], strict=True):
        if c["config"] != config:
            raise ValueError(f"{p} has a different model configuration from {paths[0]}")
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "config": config,
            "model": average_state_dicts([c["model"] for c in loaded]),
            "averaged_from": [str(p) for p in paths],
            "steps": [int(c.get("step", 0)) for c in loaded],
        },
        out,
    )
    return out
