"""Uniform weight averaging of fine-tuned checkpoints (a "model soup", Wortsman et al., ICML 2022).

Runs fine-tuned from one exported model stay in one basin of the loss, so the mean of their
weights is itself a model, often steadier on data none of them trained on than any one of
them. The network has no normalisation statistics, so every floating-point tensor is averaged
and everything else must agree.

An exported model (``.onnx``) can stand in for a checkpoint, so that a shipped model whose
checkpoint is gone can still be averaged with its own fine-tune (WiSE-FT, Wortsman et al.,
CVPR 2022). It lacks the training-only tensors (``TRAINING_ONLY``); those are averaged over the
checkpoints that have them.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .model import TRAINING_ONLY_HEADS, HitscribeNet, ModelConfig
from .warmstart import exported_config, load_onnx_weights

#: Tensors an ONNX export does not carry: the training-only heads and the feature buffers.
TRAINING_ONLY = tuple(f"{head}." for head in TRAINING_ONLY_HEADS) + ("dft", "mel", "window")


def average_state_dicts(
    states: list[dict[str, torch.Tensor]], absent: list[set[str]] | None = None
) -> dict[str, torch.Tensor]:
    """The element-wise mean of floating-point tensors; other tensors must be equal in all.

    ``absent[i]`` names tensors that ``states[i]`` only holds as placeholders (an ONNX export's
    missing training-only heads): each such tensor is averaged over the other states."""
    if not states:
        raise ValueError("no checkpoints to average")
    absent = absent or [set() for _ in states]
    keys = list(states[0])
    for i, s in enumerate(states[1:], start=2):
        if list(s) != keys:
            raise ValueError(f"checkpoint {i} has different tensors from checkpoint 1")
    out = {}
    for key in keys:
        tensors = [s[key] for s, gone in zip(states, absent, strict=True) if key not in gone]
        if not tensors:
            out[key] = states[0][key].clone()
            continue
        if any(t.shape != tensors[0].shape for t in tensors):
            raise ValueError(f"tensor {key!r} differs in shape between checkpoints")
        if tensors[0].is_floating_point():
            out[key] = torch.stack([t.double() for t in tensors]).mean(0).to(tensors[0].dtype)
        elif all(torch.equal(t, tensors[0]) for t in tensors):
            out[key] = tensors[0].clone()
        else:
            raise ValueError(f"non-float tensor {key!r} differs between checkpoints")
    return out


def _onnx_weights(path: Path, config: dict) -> tuple[dict[str, torch.Tensor], set[str]]:
    """The weights of an exported model in ``config``'s network, and the names it lacks."""
    net = HitscribeNet(ModelConfig.from_dict(config))
    try:
        missing = set(load_onnx_weights(net, path))
    except RuntimeError as e:  # a tensor of another shape
        raise ValueError(f"{path} has a different model configuration: {e}") from e
    wrong = sorted(k for k in missing if not k.startswith(TRAINING_ONLY))
    if wrong:
        raise ValueError(f"{path} has a different model configuration (no {', '.join(wrong[:3])})")
    return net.state_dict(), missing


def average_checkpoints(paths: list[Path], out: Path) -> Path:
    """Write the weight average of training checkpoints of one model configuration to ``out``.

    A path ending in ``.onnx`` is read as an exported model of the first checkpoint's
    configuration (when every path is an export, the first export's own, from its metadata). The
    result loads like any
    checkpoint (``export --checkpoint``, ``evaluate --checkpoint``); it has no optimiser state,
    so it is not a run to resume.
    """
    paths = [Path(p) for p in paths]
    loaded = {p: torch.load(p, weights_only=False, map_location="cpu") for p in paths if p.suffix != ".onnx"}
    first = next(iter(loaded), None)
    if first:
        config = loaded[first]["config"]
    else:
        config = (exported_config(paths[0]) or ModelConfig()).to_dict()
    for p, c in loaded.items():
        if c["config"] != config:
            raise ValueError(f"{p} has a different model configuration from {first}")
    states, absent = [], []
    for p in paths:
        if p.suffix == ".onnx":
            state, missing = _onnx_weights(p, config)
        else:
            state, missing = loaded[p]["model"], set()
        states.append(state)
        absent.append(missing)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "config": config,
            "model": average_state_dicts(states, absent),
            "averaged_from": [str(p) for p in paths],
            "steps": [int(loaded[p].get("step", 0)) if p in loaded else 0 for p in paths],
        },
        out,
    )
    return out
