"""Streaming ONNX export equals the offline PyTorch pass; the contract survives the round trip."""

import numpy as np
import onnxruntime as ort
import torch

from hitscribe_trainer.evaluate import streaming_outputs
from hitscribe_trainer.export import export_onnx, read_contract
from hitscribe_trainer.model import HitscribeNet, ModelConfig


def _small_net():
    torch.manual_seed(1)
    cfg = ModelConfig(n_mels=32, conv2d_channels=4, channels=16, gru_hidden=16, dilations=(1, 2, 4))
    net = HitscribeNet(cfg).eval()
    # Move the weights away from their init so the test is not trivially near zero.
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return net


def test_streaming_onnx_matches_offline_forward(tmp_path):
    net = _small_net()
    path = tmp_path / "m.onnx"
    contract = export_onnx(net, path, model_name="test", data_summary="test export")
    rng = np.random.default_rng(0)
    n_hops = 400  # 4 s: long enough to exercise every cache many times over
    audio = (rng.standard_normal(n_hops * net.cfg.hop) * 0.2).astype(np.float32)
    audio[8000:8100] += 0.9  # a loud click
    onset, velocity, offset = streaming_outputs(path, audio, contract)
    with torch.no_grad():
        out = net(torch.from_numpy(audio)[None])
    ref = torch.sigmoid(out["onset_logits"][0]).numpy()
    assert np.abs(onset[:n_hops] - ref).max() < 1e-4
    assert np.abs(velocity[:n_hops] - out["velocity"][0].numpy()).max() < 1e-4
    assert np.abs(offset[:n_hops] - out["offset"][0].numpy()).max() < 1e-4


def test_metadata_round_trip(tmp_path):
    net = _small_net()
    path = tmp_path / "m.onnx"
    written = export_onnx(net, path, model_name="round-trip", thresholds=(0.3, 0.4, 0.5), data_summary="x")
    read = read_contract(path)
    assert read == written
    assert read["latency_samples"] == (read["lookahead_frames"] + 1) * read["hop_samples"]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["audio", "state"]
    assert [o.name for o in sess.get_outputs()] == ["onset", "velocity", "offset", "state_out"]
    assert sess.get_inputs()[1].shape == [1, read["state_size"]]
    meta = sess.get_modelmeta().custom_metadata_map
    assert meta["hitscribe.model_name"] == "round-trip"
