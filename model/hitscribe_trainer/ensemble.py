"""One exported model that averages the outputs of several (an output ensemble).

Each member's graph is copied in with its names prefixed (``m0_``, ``m1_``, ...), all members
read the one ``audio`` input, and ``frames`` is the mean of the members' frames (onset
probability, velocity and offset alike). Each member keeps its own state tensors, so the
result is an ordinary contract-v3 model (``docs/model-contract.md``): the engine runs it as it
runs one network, at the members' summed cost.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnx.compose
import onnx.helper
import onnx.numpy_helper

from .export import read_contract, write_contract_metadata

#: Contract fields every member must share for their frames to mean the same thing.
SHARED_FIELDS = (
    "contract_version",
    "sample_rate",
    "hop_samples",
    "window_samples",
    "context_samples",
    "lookahead_frames",
    "latency_samples",
    "max_hops_per_call",
    "class_names",
    "gm_notes",
)


def ensemble_contract(contracts: list[dict], model_name: str) -> dict:
    """The first member's contract with the members' prefixed states and the new name."""
    first = contracts[0]
    for i, c in enumerate(contracts[1:], start=1):
        for key in SHARED_FIELDS:
            if c[key] != first[key]:
                raise ValueError(f"member {i} differs in {key}: {c[key]!r} against {first[key]!r}")
    states = [{**t, "name": f"m{i}_{t['name']}"} for i, c in enumerate(contracts) for t in c["state_tensors"]]
    return {
        **first,
        "model_name": model_name,
        "state_tensors": states,
        "state_size": sum(c["state_size"] for c in contracts),
        "ensemble_members": [c["model_name"] for c in contracts],
        "training_commit": ",".join(c["training_commit"] for c in contracts),
    }


def write_ensemble(paths: list[Path], out: Path, model_name: str) -> dict:
    """Write the averaging model of the exported models ``paths`` to ``out``; returns its contract."""
    if len(paths) < 2:
        raise ValueError("an ensemble needs at least two models")
    contracts = [read_contract(p) for p in paths]
    contract = ensemble_contract(contracts, model_name)
    graphs = []
    for i, path in enumerate(paths):
        member = onnx.compose.add_prefix(onnx.load(str(path)), f"m{i}_")
        for node in member.graph.node:  # every member reads the shared input
            node.input[:] = ["audio" if name == f"m{i}_audio" else name for name in node.input]
        graphs.append(member.graph)
    first = graphs[0]
    audio = next(v for v in first.input if v.name == "m0_audio")
    audio.name = "audio"
    frames = [next(o for o in g.output if o.name.endswith("_frames")) for g in graphs]
    scale = onnx.numpy_helper.from_array(np.array(1.0 / len(paths), np.float32), "ensemble_scale")
    nodes = [n for g in graphs for n in g.node] + [
        onnx.helper.make_node("Sum", [f.name for f in frames], ["ensemble_frames_sum"]),
        onnx.helper.make_node("Mul", ["ensemble_frames_sum", "ensemble_scale"], ["frames"]),
    ]
    output = onnx.helper.make_tensor_value_info("frames", frames[0].type.tensor_type.elem_type, None)
    output.type.CopyFrom(frames[0].type)
    graph = onnx.helper.make_graph(
        nodes,
        model_name,
        [audio] + [v for i, g in enumerate(graphs) for v in g.input if v.name not in ("audio", f"m{i}_audio")],
        [output] + [o for g in graphs for o in g.output if not o.name.endswith("_frames")],
        initializer=[i for g in graphs for i in g.initializer] + [scale],
        value_info=[v for g in graphs for v in g.value_info],
    )
    template = onnx.load(str(paths[0]), load_external_data=False)
    model = onnx.helper.make_model(graph, opset_imports=template.opset_import, ir_version=template.ir_version)
    write_contract_metadata(model, contract)
    onnx.checker.check_model(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    return contract
