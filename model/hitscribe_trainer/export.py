"""Export the streaming step function to ONNX with the model contract in its metadata."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper
import torch

from .model import CLASS_NAMES, GM_NOTES, HitscribeNet, ModelConfig
from .streaming import StreamingStep

CONTRACT_KEY = "hitscribe.contract"
#: v3: ``audio`` is ``[1, k, hop]`` and ``frames`` (onset, velocity, offset) ``[1, k, 3, C]`` for
#: any ``k >= 1``; every state is its own tensor, ``state_<part>`` in and ``state_<part>_out``
#: out, listed with its shape in ``state_tensors`` (v2 had one flat ``state``).
CONTRACT_VERSION = 3
#: Most hops one call may carry (the exported graph's dynamic-axis bound).
MAX_HOPS_PER_CALL = 4096


def load_checkpoint(path: Path) -> HitscribeNet:
    """A trained network from a training checkpoint (eval mode)."""
    state = torch.load(path, weights_only=False, map_location="cpu")
    net = HitscribeNet(ModelConfig.from_dict(state["config"]))
    net.load_state_dict(state["model"])
    return net.eval()


def git_commit() -> str:
    """Short commit of the working tree, or "unknown"."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def build_contract(
    net: HitscribeNet, step: StreamingStep, model_name: str, thresholds, retrigger_ms, data_summary: str
):
    """The contract dictionary (docs/model-contract.md)."""
    cfg = net.cfg
    return {
        "contract_version": CONTRACT_VERSION,
        "model_name": model_name,
        "sample_rate": cfg.sample_rate,
        "hop_samples": cfg.hop,
        "window_samples": cfg.window,
        "context_samples": cfg.window,
        "lookahead_frames": cfg.lookahead_frames,
        "lookahead_samples": cfg.lookahead_frames * cfg.hop,
        "latency_samples": (cfg.lookahead_frames + 1) * cfg.hop,
        "state_size": step.state_size,
        "state_tensors": [
            {"name": name, "shape": list(shape)} for name, (_, shape) in zip(step.state_names, step.shapes, strict=True)
        ],
        "max_hops_per_call": MAX_HOPS_PER_CALL,
        "class_names": list(CLASS_NAMES),
        "gm_notes": list(GM_NOTES),
        "default_thresholds": [float(t) for t in thresholds],
        "default_retrigger_ms": [float(r) for r in retrigger_ms],
        "velocity_calibration": {"input_floor": 0.0, "input_ceiling": 1.0, "gamma": 1.0},
        "training_commit": git_commit(),
        "model_config": cfg.to_dict(),
        "data_summary": data_summary,
    }


class _ListStates(torch.nn.Module):
    """``forward(audio, states)`` with the states as one list: the exporter flattens the list into
    one graph input per state and needs a fixed argument count to match ``dynamic_shapes``."""

    def __init__(self, step: StreamingStep):
        super().__init__()
        self.step = step

    def forward(self, audio: torch.Tensor, states: list[torch.Tensor]):
        return self.step(audio, *states)


def export_onnx(
    net: HitscribeNet,
    path: Path,
    model_name: str = "hitscribe-causal-v2",
    thresholds=(0.5, 0.5, 0.5),
    retrigger_ms=(40.0, 40.0, 30.0),
    data_summary: str = "",
    training_commit: str | None = None,
) -> dict:
    """Write ``path`` (single file, opset 18) and return the contract written into it.

    ``training_commit`` defaults to the working tree's commit."""
    step = StreamingStep(net.eval()).eval()
    audio = torch.zeros(1, 4, net.cfg.hop)
    states = step.initial_state()
    hops = torch.export.Dim("hops", min=1, max=MAX_HOPS_PER_CALL)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        _ListStates(step),
        (audio, states),
        str(path),
        input_names=["audio", *step.state_names],
        output_names=["frames", *[f"{name}_out" for name in step.state_names]],
        opset_version=18,
        dynamo=True,
        external_data=False,
        dynamic_shapes=({1: hops}, [None] * len(states)),
    )
    contract = build_contract(net, step, model_name, thresholds, retrigger_ms, data_summary)
    if training_commit is not None:
        contract["training_commit"] = training_commit
    model = onnx.load(str(path))
    fold_gru_output(model)
    write_contract_metadata(model, contract)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return contract


def write_contract_metadata(model: onnx.ModelProto, contract: dict) -> None:
    """Replaces the model's metadata with the contract: the whole JSON under `CONTRACT_KEY` and
    each field again as `hitscribe.<field>` (strings as they are, the rest as JSON)."""
    del model.metadata_props[:]
    entries = {CONTRACT_KEY: json.dumps(contract)}
    entries.update({f"hitscribe.{k}": json.dumps(v) if not isinstance(v, str) else v for k, v in contract.items()})
    for key, value in entries.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value


#: Operators the exporter uses to move the GRU output into place.
#: Only their first input carries data (the rest are shapes, axes or indices); a ``Shape`` node
#: ends a data path.
_LAYOUT_OPS = {"Transpose", "Reshape", "Squeeze", "Unsqueeze"}


def fold_gru_output(model: onnx.ModelProto) -> int:
    """Replace the exporter's reshaping of the GRU output by one ``Reshape``; returns nodes removed.

    The exporter turns ``Y [T, directions, batch, hidden]`` into the time-major ``[T, hidden]``
    the heads read with transposes, squeezes and reshapes whose shapes it computes at run time.
    With one direction and batch 1 (the streaming contract), the bytes are already in order,
    so one ``Reshape`` to ``[-1, hidden]`` does the same. At one hop per call ONNX Runtime's cost
    is mostly per node, so this matters; ``tests/test_streaming.py`` checks the result
    against the PyTorch model.
    """
    return sum(_fold_one_gru_output(model, gru) for gru in [n for n in model.graph.node if n.op_type == "GRU"])


def _fold_one_gru_output(model: onnx.ModelProto, gru: onnx.NodeProto) -> int:
    """:func:`fold_gru_output` for one ``GRU`` node."""
    g = model.graph
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in gru.attribute}
    if attrs.get("direction", b"forward") != b"forward" or attrs.get("layout", 0) != 0:
        return 0
    producer = {o: n for n in g.node for o in n.output}
    y = gru.output[0]

    def layout_path(name: str, seen: set[str]) -> bool:
        """Whether ``name`` is ``y`` moved by layout operators only."""
        if name == y:
            return True
        node = producer.get(name)
        if node is None or node.op_type not in _LAYOUT_OPS or name in seen:
            return False
        seen.add(name)
        return layout_path(node.input[0], seen)

    target = next(
        (
            i
            for n in g.node
            if n.op_type == "Concat"
            for i in n.input
            if producer.get(i) is not None and producer[i] is not gru and layout_path(i, set())
        ),
        None,
    )
    if target is None:
        return 0
    before = len(g.node)
    shape_name = f"{gru.output[0]}_shape"
    g.initializer.append(onnx.numpy_helper.from_array(np.array([-1, attrs["hidden_size"]], np.int64), shape_name))
    g.node.remove(producer[target])
    g.node.insert(list(g.node).index(gru) + 1, onnx.helper.make_node("Reshape", [y, shape_name], [target]))
    # Drop what no longer feeds anything.
    outputs = {o.name for o in g.output}
    while True:
        used = {i for n in g.node for i in n.input} | outputs
        dead = [n for n in g.node if not any(o in used for o in n.output)]
        if not dead:
            break
        for n in dead:
            g.node.remove(n)
    used = {i for n in g.node for i in n.input}
    for init in [i for i in g.initializer if i.name not in used]:
        g.initializer.remove(init)
    return before - len(g.node)


def reexport(src: Path, out: Path) -> dict:
    """Re-export the weights of an exported model in the current contract (after a contract
    change), keeping its name, thresholds, retrigger times, training commit and data summary."""
    from .warmstart import net_from_onnx

    old = read_contract(src)
    if "model_config" in old:
        cfg = ModelConfig.from_dict(old["model_config"])
    else:  # contract v2 models predate the field and use the default architecture
        cfg = ModelConfig(
            sample_rate=old["sample_rate"],
            hop=old["hop_samples"],
            window=old["window_samples"],
            lookahead_frames=old["lookahead_frames"],
        )
    net, _ = net_from_onnx(src, cfg)
    contract = export_onnx(
        net.eval(),
        out,
        model_name=old["model_name"],
        thresholds=old["default_thresholds"],
        retrigger_ms=old["default_retrigger_ms"],
        data_summary=old["data_summary"],
        training_commit=old["training_commit"],
    )
    return contract


def read_contract(path: Path) -> dict:
    """The contract stored in an exported model."""
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    return json.loads(props[CONTRACT_KEY])
