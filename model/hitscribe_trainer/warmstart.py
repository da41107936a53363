"""Recover trainable weights from an exported model, to resume training from a shipped ONNX file
when its checkpoint is gone (checkpoints are git-ignored; the model is committed).

The streaming export keeps most parameters under their PyTorch names; contract v3 stores the
projection and temporal convolutions as time-major matrices (``proj_w``, ``tconv_w<i>``). The exporter turns the
GRU biases into one ONNX ``GRU`` bias (gate order z, r, h for input then recurrent weights;
PyTorch's order is r, z, n), and the heads into one fused ``head_w``/``head_b`` pair (contract
v2 and v3) or transposed per-head ``MatMul`` constants (v1); this module undoes all three. The
synthesiser heads (unsupervised path only) are not in the export and keep their fresh
initialisation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .model import HitscribeNet, ModelConfig

HEADS = ("onset_head", "velocity_head", "offset_head")


def _consumers(graph, name: str):
    return [n for n in graph.node if name in n.input]


def onnx_state_dict(path: Path, net: HitscribeNet) -> dict[str, torch.Tensor]:
    """A partial ``state_dict`` for ``net`` read from the exported model at ``path``."""
    model = onnx.load(str(path))
    g = model.graph
    arrays = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    # Contract v3 exports wrap the step function in one more module (``step.net.proj.weight``).
    arrays.update({k.removeprefix("step."): v for k, v in arrays.items() if k.startswith("step.")})
    own = net.state_dict()
    out: dict[str, torch.Tensor] = {}
    for key in own:
        if f"net.{key}" in arrays and arrays[f"net.{key}"].shape == tuple(own[key].shape):
            out[key] = torch.from_numpy(arrays[f"net.{key}"].copy())
    if "proj_w" in arrays:  # contract v3: time-major matrices
        out["proj.weight"] = torch.from_numpy(arrays["proj_w"].T.copy())[:, :, None]
    for i in range(len(net.tconvs)):
        if f"tconv_w{i}" in arrays:  # [taps * in, out], tap blocks in order
            w = arrays[f"tconv_w{i}"]
            c = w.shape[1]
            taps = [w[j * c : (j + 1) * c].T for j in range(w.shape[0] // c)]
            out[f"tconvs.{i}.conv.weight"] = torch.from_numpy(np.stack(taps, axis=-1).copy())
    for node in g.node:
        if node.op_type == "GRU":
            out.update(_gru_weights(node, arrays, own))
        if "head_w" in arrays and "head_b" in arrays:  # contracts v2, v3: fused heads, onset|velocity|offset
            n_cls = arrays["head_b"].shape[0] // len(HEADS)
            for i, head in enumerate(HEADS):
                rows = slice(i * n_cls, (i + 1) * n_cls)
                out[f"{head}.weight"] = torch.from_numpy(arrays["head_w"][:, rows].T.copy())
                out[f"{head}.bias"] = torch.from_numpy(arrays["head_b"][rows].copy())
        if node.op_type == "MatMul" and node.input[1] in arrays:
            for consumer in _consumers(g, node.output[0]):
                for head in HEADS:
                    if f"net.{head}.bias" in consumer.input:
                        out[f"{head}.weight"] = torch.from_numpy(arrays[node.input[1]].T.copy())
    if "attack_w" in arrays and "attack_branch.out.weight" in own:
        out["attack_branch.out.weight"] = torch.from_numpy(arrays["attack_w"].T.copy())
    if "velocity_extra_w" in arrays and "velocity_branch.out.weight" in own:
        w = arrays["velocity_extra_w"]  # [units, 3 C]: zeros, the branch's weights, zeros
        n_cls = w.shape[1] // len(HEADS)
        out["velocity_branch.out.weight"] = torch.from_numpy(w[:, n_cls : 2 * n_cls].T.copy())
    return out


def _gru_weights(node, arrays: dict[str, np.ndarray], own: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The PyTorch weights an ONNX ``GRU`` node holds as initialisers (the exporter keeps the
    weight matrices under their PyTorch names and folds only the biases): the main GRU's or the
    velocity branch's, told apart by their unit count (``VelocityBranch`` never has the main GRU's).
    """
    h = next(onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == "hidden_size")
    prefix = next(
        (
            p
            for p in ("gru", "velocity_branch.gru")
            if f"{p}.weight_hh_l0" in own and own[f"{p}.weight_hh_l0"].shape[1] == h
        ),
        None,
    )
    if prefix is None:
        return {}

    def reorder(rows: np.ndarray) -> torch.Tensor:  # ONNX gate order z, r, h -> PyTorch r, z, n
        return torch.from_numpy(np.concatenate([rows[h : 2 * h], rows[:h], rows[2 * h :]]).copy())

    out = {}
    for idx, name in ((1, "weight_ih_l0"), (2, "weight_hh_l0")):
        if node.input[idx] in arrays:
            out[f"{prefix}.{name}"] = reorder(arrays[node.input[idx]][0])
    if len(node.input) > 3 and node.input[3] in arrays:
        b = arrays[node.input[3]].reshape(-1)
        out[f"{prefix}.bias_ih_l0"] = reorder(b[: 3 * h])
        out[f"{prefix}.bias_hh_l0"] = reorder(b[3 * h :])
    return out


def load_onnx_weights(net: HitscribeNet, path: Path) -> list[str]:
    """Loads into ``net`` what ``path`` holds of its weights; returns the names left fresh."""
    missing, _ = net.load_state_dict(onnx_state_dict(path, net), strict=False)
    return sorted(missing)


def exported_config(path: Path) -> ModelConfig | None:
    """The architecture an export was made from (``None`` for exports that predate the field)."""
    from .export import read_contract

    saved = read_contract(path).get("model_config")
    return ModelConfig.from_dict(saved) if saved else None


def net_from_onnx(path: Path, cfg: ModelConfig | None = None) -> tuple[HitscribeNet, list[str]]:
    """A network initialised from ``path``; returns it and the parameter names left fresh."""
    net = HitscribeNet(cfg or ModelConfig())
    return net, load_onnx_weights(net, path)


def _widened_copy(src: HitscribeNet, field: str, size: int, what: str):
    """A fresh network with ``src``'s config but ``field`` = ``size`` (never smaller), and its
    state dict holding ``src``'s weights wherever the shapes still match."""
    old = getattr(src.cfg, field)
    if size < old:
        raise ValueError(f"cannot narrow the {what} from {old} to {size}")
    net = HitscribeNet(ModelConfig.from_dict({**src.cfg.to_dict(), field: size}))
    sd = net.state_dict()
    for key, value in src.state_dict().items():
        if sd[key].shape == value.shape:
            sd[key] = value.clone()
    return net, sd, old


def widen_front_end(src: HitscribeNet, channels: int) -> HitscribeNet:
    """A copy of ``src`` whose two 2-D convolutions have ``channels`` channels, same function.

    Net2Net-style widening: the old channels keep their weights, the new ones start from
    PyTorch's default initialisation, and every weight that *reads* a new channel from an old
    layer's point of view (the old channels of ``conv2d_b`` and the projection) starts at zero,
    so the widened network computes exactly what ``src`` computed until training moves it.
    """
    net, sd, old = _widened_copy(src, "conv2d_channels", channels, "front end's channels")
    sd["conv2d_a.conv.weight"][:old] = src.conv2d_a.conv.weight.detach()
    sd["conv2d_a.conv.bias"][:old] = src.conv2d_a.conv.bias.detach()
    sd["conv2d_b.conv.weight"][:old, :old] = src.conv2d_b.conv.weight.detach()
    sd["conv2d_b.conv.weight"][:old, old:] = 0.0
    sd["conv2d_b.conv.bias"][:old] = src.conv2d_b.conv.bias.detach()
    bands = net.cfg.n_mels // 4  # the projection reads channel-major [channel * bands + band]
    proj = torch.zeros_like(sd["proj.weight"])
    proj[:, : old * bands] = src.proj.weight.detach()
    sd["proj.weight"] = proj
    net.load_state_dict(sd)
    return net


def widen_gru(src: HitscribeNet, hidden: int) -> HitscribeNet:
    """A copy of ``src`` whose GRU has ``hidden`` units, same function.

    Net2Net-style, as :func:`widen_front_end`: the old units keep their weights and read none of
    the new units (their recurrent weights from new units start at zero), the new units start
    from PyTorch's default initialisation, and every head reads them with zero weights, so the
    widened network computes exactly what ``src`` computed until training moves it.
    """
    net, sd, old = _widened_copy(src, "gru_hidden", hidden, "GRU's units")
    own = src.state_dict()
    for gate in range(3):  # PyTorch's gate blocks r, z, n, each ``hidden`` rows
        new_rows, old_rows = slice(gate * hidden, gate * hidden + old), slice(gate * old, (gate + 1) * old)
        sd["gru.weight_ih_l0"][new_rows] = own["gru.weight_ih_l0"][old_rows]
        sd["gru.bias_ih_l0"][new_rows] = own["gru.bias_ih_l0"][old_rows]
        sd["gru.bias_hh_l0"][new_rows] = own["gru.bias_hh_l0"][old_rows]
        sd["gru.weight_hh_l0"][new_rows, :old] = own["gru.weight_hh_l0"][old_rows]
        sd["gru.weight_hh_l0"][new_rows, old:] = 0.0
    feat = net.cfg.channels  # every head reads cat([trunk features, GRU output])
    for name, module in net.named_children():
        if isinstance(module, torch.nn.Linear) and module.in_features == feat + hidden:
            weight = torch.zeros_like(sd[f"{name}.weight"])
            weight[:, : feat + old] = own[f"{name}.weight"]
            sd[f"{name}.weight"] = weight
    net.load_state_dict(sd)
    return net
