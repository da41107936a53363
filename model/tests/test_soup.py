"""Weight averaging: the mean of the tensors, a loadable checkpoint, refusals on mismatch."""

import pytest
import torch

from hitscribe_trainer.export import export_onnx, load_checkpoint
from hitscribe_trainer.model import TRAINING_ONLY_HEADS, HitscribeNet, ModelConfig
from hitscribe_trainer.soup import average_checkpoints, average_state_dicts

CFG = ModelConfig(n_mels=32, conv2d_channels=4, channels=16, gru_hidden=16, dilations=(1, 2))


def _save(path, seed, cfg=CFG):
    torch.manual_seed(seed)
    net = HitscribeNet(cfg)
    torch.save({"config": cfg.to_dict(), "model": net.state_dict(), "step": seed}, path)
    return net


def test_average_is_the_mean_and_loads(tmp_path):
    a = _save(tmp_path / "a.pt", 1)
    b = _save(tmp_path / "b.pt", 2)
    out = average_checkpoints([tmp_path / "a.pt", tmp_path / "b.pt"], tmp_path / "soup.pt")
    soup = load_checkpoint(out)
    for name, p in soup.state_dict().items():
        expected = (a.state_dict()[name] + b.state_dict()[name]) / 2
        assert torch.allclose(p, expected, atol=1e-7), name
    # Averaging one network with itself gives the same network, output for output.
    same = average_checkpoints([tmp_path / "a.pt", tmp_path / "a.pt"], tmp_path / "same.pt")
    x = torch.randn(1, 24000) * 0.1
    with torch.no_grad():
        ref = a.eval()(x)["onset_logits"]
        got = load_checkpoint(same)(x)["onset_logits"]
    assert torch.equal(ref, got)


def test_average_refuses_mismatched_models(tmp_path):
    _save(tmp_path / "a.pt", 1)
    wider = ModelConfig(n_mels=32, conv2d_channels=4, channels=24, gru_hidden=16, dilations=(1, 2))
    _save(tmp_path / "w.pt", 2, wider)
    with pytest.raises(ValueError, match="configuration"):
        average_checkpoints([tmp_path / "a.pt", tmp_path / "w.pt"], tmp_path / "x.pt")
    with pytest.raises(ValueError, match="no checkpoints"):
        average_state_dicts([])
    with pytest.raises(ValueError, match="non-float"):
        average_state_dicts([{"n": torch.tensor([1])}, {"n": torch.tensor([2])}])


def test_an_export_averages_like_its_checkpoint(tmp_path):
    a = _save(tmp_path / "a.pt", 1)
    b = _save(tmp_path / "b.pt", 2)
    export_onnx(a, tmp_path / "a.onnx", model_name="a", data_summary="x")
    from_pt = load_checkpoint(average_checkpoints([tmp_path / "a.pt", tmp_path / "b.pt"], tmp_path / "1.pt"))
    from_onnx = load_checkpoint(average_checkpoints([tmp_path / "a.onnx", tmp_path / "b.pt"], tmp_path / "2.pt"))
    got, ref = from_onnx.state_dict(), from_pt.state_dict()
    for name in ref:
        if name.split(".")[0] in TRAINING_ONLY_HEADS:
            # Not in the export: taken from the checkpoint alone.
            assert torch.equal(got[name], b.state_dict()[name]), name
        else:
            assert torch.allclose(got[name], ref[name], atol=1e-6), name


def test_an_export_of_another_configuration_is_refused(tmp_path):
    _save(tmp_path / "a.pt", 1)
    torch.manual_seed(3)
    wider = HitscribeNet(ModelConfig(n_mels=32, conv2d_channels=4, channels=24, gru_hidden=16, dilations=(1, 2)))
    export_onnx(wider, tmp_path / "w.onnx", model_name="w", data_summary="x")
    with pytest.raises(ValueError, match="configuration"):
        average_checkpoints([tmp_path / "a.pt", tmp_path / "w.onnx"], tmp_path / "x.pt")


def test_exports_alone_average_in_their_own_configuration(tmp_path):
    a = _save(tmp_path / "a.pt", 1)
    b = _save(tmp_path / "b.pt", 2)
    export_onnx(a, tmp_path / "a.onnx", model_name="a", data_summary="x")
    export_onnx(b, tmp_path / "b.onnx", model_name="b", data_summary="x")
    soup = load_checkpoint(average_checkpoints([tmp_path / "a.onnx", tmp_path / "b.onnx"], tmp_path / "s.pt"))
    assert soup.cfg == CFG  # not the default configuration
    for name, p in soup.state_dict().items():
        if name.split(".")[0] not in TRAINING_ONLY_HEADS:
            expected = (a.state_dict()[name] + b.state_dict()[name]) / 2
            assert torch.allclose(p, expected, atol=1e-6), name
