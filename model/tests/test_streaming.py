"""Streaming ONNX export equals the offline PyTorch pass; the contract survives the round trip."""

import numpy as np
import onnxruntime as ort
import pytest
import torch

from hitscribe_trainer.evaluate import streaming_outputs
from hitscribe_trainer.export import export_onnx, read_contract
from hitscribe_trainer.model import TRAINING_ONLY_HEADS, HitscribeNet, ModelConfig


def _small_net():
    torch.manual_seed(1)
    cfg = ModelConfig(n_mels=32, conv2d_channels=4, channels=16, gru_hidden=16, dilations=(1, 2, 4))
    net = HitscribeNet(cfg).eval()
    # Move the weights away from their init so the test is not trivially near zero.
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return net


def _noise(seed: int, hops: int, hop: int) -> np.ndarray:
    """``hops`` hops of seeded noise at -14 dBFS rms."""
    return (np.random.default_rng(seed).standard_normal(hops * hop) * 0.2).astype(np.float32)


def _assert_stream_matches_offline(net, path, contract, audio: np.ndarray, calls=(1, 5, 64)):
    """The export at ``path`` equals ``net``'s offline pass on ``audio`` at each hop count per call."""
    hops = len(audio) // net.cfg.hop
    with torch.no_grad():
        out = net(torch.from_numpy(audio)[None])
    for hops_per_call in calls:
        onset, velocity, _ = streaming_outputs(path, audio, contract, hops_per_call)
        assert np.abs(onset[:hops] - torch.sigmoid(out["onset_logits"][0]).numpy()).max() < 1e-4
        assert np.abs(velocity[:hops] - out["velocity"][0].numpy()).max() < 1e-4


def test_streaming_onnx_matches_offline_forward(tmp_path):
    net = _small_net()
    path = tmp_path / "m.onnx"
    contract = export_onnx(net, path, model_name="test", data_summary="test export")
    rng = np.random.default_rng(0)
    n_hops = 400  # 4 s: long enough to exercise every cache many times over
    audio = (rng.standard_normal(n_hops * net.cfg.hop) * 0.2).astype(np.float32)
    audio[8000:8100] += 0.9  # a loud click
    with torch.no_grad():
        out = net(torch.from_numpy(audio)[None])
    ref = torch.sigmoid(out["onset_logits"][0]).numpy()
    for hops_per_call in (1, 7, 64):  # any number of hops per call
        onset, velocity, offset = streaming_outputs(path, audio, contract, hops_per_call)
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
    audio, *states = sess.get_inputs()
    assert audio.name == "audio"
    assert audio.shape[0] == 1 and audio.shape[2] == read["hop_samples"]
    assert isinstance(audio.shape[1], str), "the hop count is a dynamic axis"
    declared = read["state_tensors"]
    assert [(s.name, s.shape) for s in states] == [(t["name"], t["shape"]) for t in declared]
    assert read["state_size"] == sum(int(np.prod(t["shape"])) for t in declared)
    outputs = sess.get_outputs()
    assert [o.name for o in outputs] == ["frames", *[t["name"] + "_out" for t in declared]]
    assert [o.shape for o in outputs[1:]] == [t["shape"] for t in declared]
    assert sess.get_outputs()[0].shape[2:] == [3, len(read["class_names"])]
    meta = sess.get_modelmeta().custom_metadata_map
    assert meta["hitscribe.model_name"] == "round-trip"


def test_weights_survive_export_and_warm_start(tmp_path):
    from hitscribe_trainer.warmstart import net_from_onnx

    net = _small_net()
    path = tmp_path / "m.onnx"
    export_onnx(net, path, model_name="warm", data_summary="x")
    back, fresh = net_from_onnx(path, net.cfg)
    heads = {f"{head}.{part}" for head in TRAINING_ONLY_HEADS for part in ("weight", "bias")}
    assert set(fresh) <= heads | {"window", "mel", "dft"}  # fixed buffers are rebuilt, not learnt
    for name, value in net.state_dict().items():
        if name.split(".")[0] not in TRAINING_ONLY_HEADS:
            assert torch.allclose(back.state_dict()[name], value), name


def test_reexport_keeps_weights_and_contract(tmp_path):
    from hitscribe_trainer.export import reexport

    net = _small_net()
    first, second = tmp_path / "a.onnx", tmp_path / "b.onnx"
    written = export_onnx(net, first, model_name="again", thresholds=(0.3, 0.4, 0.6), data_summary="y")
    again = reexport(first, second)
    assert again == written
    audio = (np.random.default_rng(3).standard_normal(50 * net.cfg.hop) * 0.3).astype(np.float32)
    for a, b in zip(
        streaming_outputs(first, audio, written, 5), streaming_outputs(second, audio, again, 5), strict=True
    ):
        assert np.abs(a - b).max() < 1e-6


def test_widened_front_end_computes_the_same_outputs():
    from hitscribe_trainer.warmstart import widen_front_end

    net = _small_net()
    wide = widen_front_end(net, 9).eval()
    assert wide.cfg.conv2d_channels == 9
    assert wide.conv2d_b.conv.weight.shape[:2] == (9, 9)
    audio = torch.from_numpy((np.random.default_rng(4).standard_normal(40 * net.cfg.hop) * 0.3).astype(np.float32))
    with torch.no_grad():
        before, after = net(audio[None]), wide(audio[None])
    for key in ("onset_logits", "velocity", "offset"):
        assert torch.allclose(before[key], after[key], atol=1e-5), key
    # The new channels are live: their readers get a gradient, so training can use them.
    out = wide(audio[None])
    out["onset_logits"].sum().backward()
    assert wide.proj.weight.grad[:, 4 * (net.cfg.n_mels // 4) :].abs().sum() > 0


def test_a_widened_export_warm_starts_at_its_own_width(tmp_path):
    from hitscribe_trainer.warmstart import exported_config, load_onnx_weights, widen_front_end

    wide = widen_front_end(_small_net(), 9).eval()
    path = tmp_path / "wide.onnx"
    export_onnx(wide, path, model_name="wide", data_summary="x")
    cfg = exported_config(path)
    assert cfg is not None and cfg.conv2d_channels == 9
    again = HitscribeNet(cfg)
    assert not [name for name in load_onnx_weights(again, path) if name.startswith(("conv2d", "proj", "gru"))]


def test_carried_gru_state_starts_the_stream_where_the_last_clip_ended():
    from hitscribe_trainer.train import carried_state

    torch.manual_seed(0)
    net = HitscribeNet(ModelConfig()).eval()
    audio = torch.randn(2, 24000) * 0.1
    with torch.no_grad():
        first, second = net(audio[:, :12000]), net(audio[:, 12000:])
        resumed = net(audio[:, 12000:], first["gru_state"])
    assert first["gru_state"].shape == (1, 2, net.cfg.gru_hidden)
    # Zeros are the default; a carried state changes what follows.
    zeros = net(audio[:, 12000:], torch.zeros_like(first["gru_state"]))
    assert torch.allclose(zeros["onset_logits"], second["onset_logits"])
    assert not torch.allclose(resumed["onset_logits"], second["onset_logits"])
    rng = np.random.default_rng(1)
    assert carried_state(first["gru_state"], 2, 0.0, rng) is None
    assert rng.random() == np.random.default_rng(1).random(), "p = 0 draws nothing"
    kept = carried_state(first["gru_state"], 2, 1.0, rng)
    assert torch.equal(kept, first["gru_state"])
    assert carried_state(first["gru_state"], 3, 1.0, rng) is None, "a batch of another size starts fresh"


def test_training_noise_masks_bands_in_training_only():
    from hitscribe_trainer.model import TrainingNoise

    torch.manual_seed(0)
    net = HitscribeNet(ModelConfig())
    keys = set(net.state_dict())
    net.noise = TrainingNoise(mask_p=1.0, mask_bands=8, dropout=0.2)
    assert set(net.state_dict()) == keys, "the noise adds no weights, so exports are unchanged"
    x = torch.rand(4, 2, 64, 10) + 0.1
    net.train()
    masked = net.noise.mask_bands_of(x)
    zero_bands = (masked[:, 0, :, 0] == 0).sum(dim=1)
    assert ((zero_bands >= 1) & (zero_bands <= 16)).all()
    assert torch.equal(masked[masked != 0], x[masked != 0])
    net.eval()
    assert torch.equal(net.noise.mask_bands_of(x), x)
    audio = torch.randn(1, 2400) * 0.1
    with torch.no_grad():
        plain = HitscribeNet(ModelConfig())
        plain.load_state_dict(net.state_dict())
        plain.eval()
        assert torch.equal(net(audio)["onset_logits"], plain(audio)["onset_logits"])


def test_widened_gru_computes_the_same_outputs_and_exports_at_its_width(tmp_path):
    from hitscribe_trainer.warmstart import exported_config, load_onnx_weights, widen_gru

    net = _small_net()
    wide = widen_gru(net, 24).eval()
    assert wide.cfg.gru_hidden == 24
    audio = torch.from_numpy((np.random.default_rng(5).standard_normal(40 * net.cfg.hop) * 0.3).astype(np.float32))
    with torch.no_grad():
        before, after = net(audio[None]), wide(audio[None])
    for key in ("onset_logits", "velocity", "offset", "component_logits"):
        assert torch.allclose(before[key], after[key], atol=1e-5), key
    # The new units are live: the heads' weights that read them get a gradient.
    out = wide(audio[None])
    out["onset_logits"].sum().backward()
    assert wide.onset_head.weight.grad[:, net.cfg.channels + 16 :].abs().sum() > 0
    path = tmp_path / "wide-gru.onnx"
    export_onnx(wide, path, model_name="wide-gru", data_summary="x")
    cfg = exported_config(path)
    assert cfg is not None and cfg.gru_hidden == 24
    again = HitscribeNet(cfg)
    assert not [name for name in load_onnx_weights(again, path) if name.startswith(("gru", "onset_head"))]


def _with_velocity_branch(units: int = 8):
    from hitscribe_trainer.train import add_velocity_branch

    net = _small_net()
    plain = {k: v.clone() for k, v in net.state_dict().items()}
    net = add_velocity_branch(net, units)
    torch.manual_seed(2)
    with torch.no_grad():
        for p in net.velocity_branch.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return net.eval(), plain


def test_velocity_branch_starts_silent_and_never_touches_onsets():
    from hitscribe_trainer.train import add_velocity_branch

    net = _small_net()
    audio = torch.from_numpy((np.random.default_rng(6).standard_normal(60 * net.cfg.hop) * 0.3).astype(np.float32))
    with torch.no_grad():
        before = net(audio[None])
        grown = add_velocity_branch(net, 8).eval()
        fresh = grown(audio[None])
    assert torch.equal(before["velocity"], fresh["velocity"]), "zero output weights: velocity unchanged"
    branched, _ = _with_velocity_branch()
    with torch.no_grad():
        moved = branched(audio[None])
    assert torch.equal(before["onset_logits"], moved["onset_logits"])
    assert torch.equal(before["offset"], moved["offset"])
    assert (before["velocity"] - moved["velocity"]).abs().max() > 1e-3, "a trained branch moves velocity"
    assert moved["velocity_state"].shape == (1, 1, 8)


def test_train_only_velocity_freezes_everything_else():
    from hitscribe_trainer.train import trainable_parameters

    net, _ = _with_velocity_branch()
    learning = trainable_parameters(net, "velocity")
    names = {name for name, p in net.named_parameters() if p.requires_grad}
    assert names and all(n.startswith(("velocity_head.", "velocity_branch.")) for n in names)
    assert len(learning) == len(names)


def test_velocity_branch_streams_exports_and_warm_starts(tmp_path):
    from hitscribe_trainer.warmstart import exported_config, load_onnx_weights

    net, _ = _with_velocity_branch()
    path = tmp_path / "vel.onnx"
    contract = export_onnx(net, path, model_name="vel", data_summary="x")
    assert contract["state_tensors"][-1]["name"] == "state_velocity_gru"
    audio = _noise(7, 300, net.cfg.hop)
    audio[9000:9100] += 0.9
    _assert_stream_matches_offline(net, path, contract, audio)
    cfg = exported_config(path)
    assert cfg is not None and cfg.velocity_gru == 8
    again = HitscribeNet(cfg)
    fresh = load_onnx_weights(again, path)
    assert not [n for n in fresh if n.startswith(("gru", "velocity"))], fresh
    for name, value in net.state_dict().items():
        if name.startswith(("gru", "velocity")):
            assert torch.allclose(again.state_dict()[name], value), name


def _with_attack_branch():
    """The small network with a 6-band attack branch whose output layer has moved off zero."""
    from hitscribe_trainer.train import add_attack_branch

    net = add_attack_branch(_small_net(), 6)
    with torch.no_grad():
        for p in net.attack_branch.out.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return net.eval()


def test_attack_branch_starts_silent():
    from hitscribe_trainer.train import add_attack_branch

    net = _small_net()
    audio = torch.from_numpy(_noise(8, 60, net.cfg.hop))[None]
    with torch.no_grad():
        before, after = net(audio), add_attack_branch(net, 6).eval()(audio)
        moved = _with_attack_branch()(audio)
    assert all(torch.equal(before[k], after[k]) for k in ("onset_logits", "velocity", "offset"))
    assert (before["onset_logits"] - moved["onset_logits"]).abs().max() > 1e-3, "a trained branch moves onsets"


def test_attack_branch_streams_exports_and_warm_starts(tmp_path):
    from hitscribe_trainer.warmstart import exported_config, load_onnx_weights

    net = _with_attack_branch()
    path = tmp_path / "attack.onnx"
    contract = export_onnx(net, path, model_name="attack", data_summary="x")
    audio = _noise(9, 300, net.cfg.hop)
    audio[9000:9030] += 0.9  # a click shorter than one hop
    _assert_stream_matches_offline(net, path, contract, audio)
    cfg = exported_config(path)
    assert cfg is not None and cfg.attack_bands == 6
    again = HitscribeNet(cfg)
    load_onnx_weights(again, path)
    for name, value in net.state_dict().items():
        if name.startswith(TRAINING_ONLY_HEADS):
            continue
        assert torch.allclose(again.state_dict()[name], value), name


def test_train_only_attack_freezes_everything_else():
    from hitscribe_trainer.train import trainable_parameters

    net = _with_attack_branch()
    learning = trainable_parameters(net, "attack")
    names = {name for name, p in net.named_parameters() if p.requires_grad}
    assert names == {"attack_branch.out.weight", "attack_branch.out.bias"}
    assert len(learning) == 2


def test_train_only_attack_refuses_the_untrained_component_head(tmp_path):
    from hitscribe_trainer.train import TrainOptions, train

    opts = TrainOptions(
        run_dir=str(tmp_path / "run"), train_only="attack", component_weight=1.0, unsupervised_weight=0.0
    )
    with pytest.raises(ValueError, match="component-weight 0"):
        train(opts)
