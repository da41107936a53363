"""Tests for distillation from exported teachers (``--teacher-onnx``) and output ensembles."""

from __future__ import annotations

import json

import torch

from hitscribe_trainer.export import export_onnx
from hitscribe_trainer.losses import distillation_loss
from hitscribe_trainer.model import HitscribeNet, ModelConfig
from hitscribe_trainer.train import TrainOptions, load_teachers, teacher_outputs, train

HOP = 240


def test_distillation_loss_is_smallest_at_the_teachers_outputs():
    torch.manual_seed(0)
    onset = torch.rand(2, 30, 3) * 0.9 + 0.05
    velocity = torch.rand(2, 30, 3)
    exact = {"onset_logits": torch.logit(onset), "velocity": velocity}
    best = distillation_loss(exact, onset, velocity)
    for shift in (-0.5, 0.5):
        moved = {"onset_logits": exact["onset_logits"] + shift, "velocity": (velocity + shift).clamp(0, 1)}
        assert best < distillation_loss(moved, onset, velocity)


def test_teachers_read_back_from_exports_average_their_outputs(tmp_path):
    torch.manual_seed(1)
    nets = [HitscribeNet(ModelConfig()).eval() for _ in range(2)]
    paths = [tmp_path / f"t{i}.onnx" for i in range(2)]
    for net, path in zip(nets, paths, strict=True):
        export_onnx(net, path, model_name="teacher", data_summary="test")
    audio = torch.randn(1, 20 * HOP) * 0.1
    onset, velocity = teacher_outputs(load_teachers([str(p) for p in paths]), audio)
    with torch.no_grad():
        outs = [net(audio) for net in nets]
    expected = (torch.sigmoid(outs[0]["onset_logits"]) + torch.sigmoid(outs[1]["onset_logits"])) / 2
    torch.testing.assert_close(onset, expected, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(velocity, (outs[0]["velocity"] + outs[1]["velocity"]) / 2, atol=1e-5, rtol=1e-4)


def test_a_run_with_a_teacher_trains_and_logs_the_term(fake_cache, tmp_path):
    teacher = tmp_path / "teacher.onnx"
    export_onnx(HitscribeNet(ModelConfig()).eval(), teacher, model_name="teacher", data_summary="test")
    opts = TrainOptions(
        cache_dir=str(fake_cache),
        run_dir=str(tmp_path / "run"),
        max_steps=2,
        batch_size=2,
        seconds=1.0,
        unsupervised_weight=0.0,
        component_weight=1.0,
        loader_workers=0,
        teacher_onnx=(str(teacher),),
        init_onnx=str(teacher),
    )
    ckpt = torch.load(train(opts), weights_only=False)
    assert ckpt["step"] == 2
    final = json.loads((tmp_path / "run" / "summary.json").read_text())["final"]
    assert final["kd"] > 0


def test_an_ensemble_export_streams_the_mean_of_its_members(tmp_path):
    from hitscribe_trainer.ensemble import write_ensemble
    from hitscribe_trainer.evaluate import streaming_outputs
    from hitscribe_trainer.export import read_contract

    torch.manual_seed(2)
    paths = [tmp_path / f"m{i}.onnx" for i in range(2)]
    for path in paths:
        export_onnx(HitscribeNet(ModelConfig()).eval(), path, model_name=path.stem, data_summary="test")
    both = tmp_path / "both.onnx"
    contract = write_ensemble(paths, both, "both")
    assert contract["ensemble_members"] == ["m0", "m1"]
    assert contract["state_size"] == 2 * read_contract(paths[0])["state_size"]
    assert read_contract(both) == contract
    audio = torch.randn(37 * HOP).numpy() * 0.1
    members = [streaming_outputs(p, audio, read_contract(p), hops_per_call=3) for p in paths]
    mean = streaming_outputs(both, audio, contract, hops_per_call=3)
    for row, got in enumerate(mean):
        expected = (members[0][row] + members[1][row]) / 2
        assert abs(got - expected).max() < 1e-6
