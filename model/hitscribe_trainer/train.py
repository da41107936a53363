"""Training loop: resumable, time-boxed, logged to a file."""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .data import SyntheticGrooves, UserRecordings, draw_templates
from .losses import (
    QUIET_HIT_VELOCITY,
    MultiResolutionLogSpectrum,
    component_onset_loss,
    component_share_loss,
    distillation_loss,
    reconstruction_loss,
    supervised_loss,
)
from .model import (
    CLASS_NAMES,
    TRAINING_ONLY_HEADS,
    AttackBranch,
    HitscribeNet,
    ModelConfig,
    TrainingNoise,
    VelocityBranch,
    count_parameters,
    synth_activations,
)
from .sparsemax import sparsemax

log = logging.getLogger("hitscribe.train")


@dataclass
class TrainOptions:
    """What a training run does; saved into every checkpoint."""

    cache_dir: str = "model/cache"
    run_dir: str = "model/runs/main"
    max_minutes: float = 100.0
    max_steps: int = 1_000_000
    batch_size: int = 12
    seconds: float = 2.5
    lr: float = 1e-3
    supervised_weight: float = 1.0
    component_weight: float = 0.0  # auxiliary onset BCE on every synthesiser component (losses.py)
    share_weight: float = 0.0  # auxiliary cross entropy on each component's share of frame energy
    velocity_corr_weight: float = 0.0  # within-clip velocity correlation term (losses.py)
    distractor_weight: float = 0.0  # extra weight on negatives near tom/ride/crash/percussion onsets
    first_hit_weight: float = 0.0  # extra weight on the onsets of hits after first_hit_quiet s of quiet
    first_hit_quiet: float = 0.2  # seconds with no onset before a hit that make it a first hit
    #: Classes (names) that get the first-hit weight (empty: all, as up to probe 46).
    first_hit_classes: tuple[str, ...] = ()
    #: One first-hit weight per class, in CLASS_NAMES order (empty: first_hit_weight and
    #: first_hit_classes decide); replaces them when given.
    first_hit_weights: tuple[float, ...] = ()
    quiet_hit_weight: float = 0.0  # extra weight on target onsets below quiet_hit_velocity
    quiet_hit_velocity: float = QUIET_HIT_VELOCITY  # label velocity below which a hit is quiet
    #: Only quiet hits this many dB or more above the rest of the kit get the weight (None: all).
    quiet_hit_min_db: float | None = None
    unsupervised_weight: float = 1.0
    unsupervised_items: int = 0  # 0 = whole batch; else the first N items (the term is costly on CPU)
    unsupervised_every: int = 1  # apply the unsupervised term every N steps
    activation: str = "sparsemax"  # or "softmax" (ablation)
    lookahead_frames: int = 2
    user_audio: str = ""
    init_onnx: str = ""  # a new run starts from this exported model's weights (warmstart.py)
    threads: int = 1
    loader_workers: int = 1
    seed: int = 0
    #: Share of training clips whose instruments each come from a random kit (None: the
    #: synthesiser's default, 0.2).
    mix_kits_p: float | None = None
    #: Kit voicing share per instrument and clip (None: the synthesiser's training default, 0.6).
    voicing_p: float | None = None
    #: Share of voicings with their own peaking bands (None: 0, as up to v8).
    voicing_eq_p: float | None = None
    #: Share of voicings with a steep low-pass at 3-10 kHz (None: 0, as up to run 47).
    voicing_lowpass_p: float | None = None
    #: Kit blending share per instrument and clip (None: 0, as up to v8).
    blend_p: float | None = None
    #: Procedural-kit share per instrument and clip (None: 0, as up to v20).
    procedural_p: float | None = None
    #: Procedural rides and crashes from the recipes closer to the sample packs' (None: off, as up to run 22).
    procedural_distinct_cymbals: bool | None = None
    #: Share of clips that start like a performance (``SynthOptions.start_p``; None: 0, as up to run 29).
    start_p: float | None = None
    #: Share of clips with a stop in the groove (``SynthOptions.stop_p``; None: 0, as up to run 29).
    stop_p: float | None = None
    #: Share of clips cut at a hit inside the groove (``SynthOptions.cut_p``; None: 0, as up to run 31).
    cut_p: float | None = None
    #: Share of grooves kept on the ride (``SynthOptions.ride_p``; None: 0.2, as up to run 33).
    ride_p: float | None = None
    #: Share of ride grooves kept on a crash or china (``SynthOptions.crash_lead_p``; None: 0, as
    #: up to run 43).
    crash_lead_p: float | None = None
    #: Share of stream starts whose first hit is any hit, not the downbeat
    #: (``SynthOptions.start_anywhere_p``; None: 0, as up to probe 35).
    start_anywhere_p: float | None = None
    #: Channels of the 2-D front end (0: the model's default, or the ``init_onnx`` model's);
    #: more than the ``init_onnx`` model's widens it without changing its output
    #: (``warmstart.widen_front_end``).
    conv2d_channels: int = 0
    #: Units of the GRU (0: the model's default, or the ``init_onnx`` model's); more than the
    #: ``init_onnx`` model's widens it without changing its output (``warmstart.widen_gru``).
    gru_hidden: int = 0
    #: Share of batch items whose GRU starts from the state the previous batch's item ended in
    #: (detached) instead of zeros, so that training sees states left by earlier audio (0: never).
    carry_state_p: float = 0.0
    #: Share of clips whose log-mel features lose random mel bands (``model.TrainingNoise``; 0: never).
    freq_mask_p: float = 0.0
    #: Widest masked band, in mel bands (of 64).
    freq_mask_bands: int = 8
    #: Dropout on the trunk's features in training (0: none, as up to v8).
    dropout: float = 0.0
    #: Steps at the start of a run in which only the training-only heads learn (the trunk and
    #: the exported heads stay as warm-started), so that heads a warm start leaves fresh do not
    #: disturb the trunk while they are still random (0: none, as up to run 24).
    head_warmup_steps: int = 0
    #: Exported models whose averaged outputs the network also learns (distillation; empty: none).
    teacher_onnx: tuple[str, ...] = ()
    #: Weight of :func:`losses.distillation_loss` when ``teacher_onnx`` is set.
    distill_weight: float = 1.0
    checkpoint_minutes: float = 5.0
    #: Units of the velocity branch to add (``model.VelocityBranch``; 0: none, or the
    #: ``init_onnx`` model's). The branch starts with zero output weights, so the network's
    #: output is unchanged until training moves it.
    velocity_gru: int = 0
    #: Mel bands of an attack branch to add (0: none, or the ``init_onnx`` model's). The branch
    #: starts with a zero output layer, so the network's output is unchanged at step 0
    #: (:class:`model.AttackBranch`).
    attack_bands: int = 0
    #: ``"velocity"``: only the velocity head and branch learn; the trunk, the onset and offset
    #: heads stay as they are, so onsets are bit-for-bit those of the starting model ("": all learn).
    train_only: str = ""


#: Parameters that learn under ``--train-only attack``: the attack branch alone.
ATTACK_PARAMETERS = ("attack_branch.",)
#: Parameters that learn under ``--train-only velocity``.
VELOCITY_PARAMETERS = ("velocity_head.", "velocity_branch.")


def add_velocity_branch(net: HitscribeNet, units: int) -> HitscribeNet:
    """``net`` with a fresh :class:`model.VelocityBranch` of ``units`` units (output unchanged)."""
    net.cfg = ModelConfig.from_dict({**net.cfg.to_dict(), "velocity_gru": units})
    net.velocity_branch = VelocityBranch(net.cfg, len(CLASS_NAMES))
    return net


def add_attack_branch(net: HitscribeNet, bands: int) -> HitscribeNet:
    """``net`` with a fresh :class:`model.AttackBranch` of ``bands`` bands (output unchanged)."""
    net.cfg = ModelConfig.from_dict({**net.cfg.to_dict(), "attack_bands": bands})
    net.attack_branch = AttackBranch(net.cfg)
    return net


def trainable_parameters(net: HitscribeNet, train_only: str) -> list[torch.nn.Parameter]:
    """The parameters a run optimises; the others are frozen (``requires_grad`` off)."""
    groups = {"": None, "velocity": VELOCITY_PARAMETERS, "attack": ATTACK_PARAMETERS}
    if train_only not in groups:
        raise ValueError(f"--train-only takes 'velocity', 'attack' or nothing, not {train_only!r}")
    for name, p in net.named_parameters():
        p.requires_grad_(not train_only or name.startswith(groups[train_only]))
    return [p for p in net.parameters() if p.requires_grad]


def first_hit_class_weights(weight: float, names=(), per_class=()) -> tuple[float, ...]:
    """The first-hit weight of each class, for ``supervised_loss``.

    ``per_class`` (one weight per class name) wins; otherwise ``weight`` goes to the classes
    named in ``names`` (none: every class).
    """
    if per_class:
        if len(per_class) != len(CLASS_NAMES) or min(per_class) < 0:
            raise ValueError(f"first-hit weights need {len(CLASS_NAMES)} values >= 0 ({list(CLASS_NAMES)})")
        if names:
            raise ValueError("give either first-hit weights per class or first-hit classes, not both")
        return tuple(float(w) for w in per_class)
    unknown = [name for name in names if name not in CLASS_NAMES]
    if unknown:
        raise ValueError(f"unknown first-hit classes {unknown}; known: {list(CLASS_NAMES)}")
    return tuple(float(weight) if not names or name in names else 0.0 for name in CLASS_NAMES)


def carried_state(
    previous: torch.Tensor | None, batch_size: int, p: float, rng: np.random.Generator
) -> torch.Tensor | None:
    """The GRU's starting state for a batch: each item's previous final state with probability
    ``p``, else zeros; ``None`` (zeros for all) when nothing is carried. ``rng`` is drawn only
    when ``p > 0``, so runs without carried state are unchanged."""
    if p <= 0 or previous is None or previous.shape[1] != batch_size:
        return None
    keep = torch.from_numpy(rng.random(batch_size) < p).to(previous.dtype)
    return previous * keep[None, :, None]


def load_teachers(paths) -> list[HitscribeNet]:
    """Frozen networks read back from exported models (``warmstart.net_from_onnx``), each in its
    own architecture; an empty list when ``paths`` is empty."""
    from .warmstart import exported_config, net_from_onnx

    teachers = []
    for path in paths:
        net, _ = net_from_onnx(Path(path), exported_config(Path(path)))
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        teachers.append(net)
        log.info("teacher: %s", path)
    return teachers


@torch.no_grad()
def teacher_outputs(teachers: list[HitscribeNet], audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The teachers' mean onset probability and mean velocity, each [B, T, C] (clean input:
    teachers are in eval mode, so they see no training noise)."""
    outs = [t(audio) for t in teachers]
    onset = torch.stack([torch.sigmoid(o["onset_logits"]) for o in outs]).mean(0)
    velocity = torch.stack([o["velocity"] for o in outs]).mean(0)
    return onset, velocity


def setup_logging(run_dir: Path) -> None:
    """Log to ``run_dir/train.log`` and the console."""
    run_dir.mkdir(parents=True, exist_ok=True)
    handlers = [logging.FileHandler(run_dir / "train.log"), logging.StreamHandler()]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", handlers=handlers, force=True)


def train(opts: TrainOptions, cfg: ModelConfig | None = None) -> Path:
    """Train (or resume) and return the path of the latest checkpoint."""
    if opts.component_weight > 0 and opts.unsupervised_weight > 0:
        raise ValueError("--component-weight needs --unsupervised-weight 0 (both use the component logits)")
    if opts.train_only == "attack" and opts.component_weight > 0:
        # The component head is not in an export, so a warm start leaves it random; frozen, its
        # loss would only teach the branch to serve a random head.
        raise ValueError("--train-only attack needs --component-weight 0 (the frozen component head is untrained)")
    first_hit_weights = first_hit_class_weights(  # checked before any work
        opts.first_hit_weight, opts.first_hit_classes, opts.first_hit_weights
    )
    run_dir = Path(opts.run_dir)
    setup_logging(run_dir)
    torch.set_num_threads(opts.threads)
    torch.manual_seed(opts.seed)
    ckpt_path = run_dir / "checkpoint.pt"
    state = torch.load(ckpt_path, weights_only=False) if ckpt_path.exists() else None
    if state is not None:
        cfg = ModelConfig.from_dict(state["config"])
    if state is None and opts.init_onnx:  # the export's own architecture (e.g. its front-end width)
        from .warmstart import exported_config

        cfg = cfg or exported_config(Path(opts.init_onnx))
    cfg = cfg or ModelConfig(lookahead_frames=opts.lookahead_frames)
    net = HitscribeNet(cfg)
    if state is None and opts.init_onnx:
        from .warmstart import load_onnx_weights, widen_front_end, widen_gru

        fresh = load_onnx_weights(net, Path(opts.init_onnx))
        log.info("initialised from %s (fresh: %s)", opts.init_onnx, ", ".join(fresh))
        if opts.conv2d_channels > cfg.conv2d_channels:
            net = widen_front_end(net, opts.conv2d_channels)
            cfg = net.cfg
            log.info("front end widened to %d channels (output unchanged)", cfg.conv2d_channels)
        if opts.gru_hidden > cfg.gru_hidden:
            net = widen_gru(net, opts.gru_hidden)
            cfg = net.cfg
            log.info("GRU widened to %d units (output unchanged)", cfg.gru_hidden)
    elif state is None and (opts.conv2d_channels or opts.gru_hidden):
        sizes = {"conv2d_channels": opts.conv2d_channels, "gru_hidden": opts.gru_hidden}
        cfg = ModelConfig.from_dict({**cfg.to_dict(), **{k: v for k, v in sizes.items() if v}})
        net = HitscribeNet(cfg)
    if state is None and opts.velocity_gru > cfg.velocity_gru:
        net = add_velocity_branch(net, opts.velocity_gru)
        cfg = net.cfg
        log.info("velocity branch of %d units added (output unchanged)", cfg.velocity_gru)
    if state is None and opts.attack_bands > cfg.attack_bands:
        net = add_attack_branch(net, opts.attack_bands)
        cfg = net.cfg
        log.info("attack branch of %d bands added (output unchanged)", cfg.attack_bands)
    net.noise = TrainingNoise(opts.freq_mask_p, opts.freq_mask_bands, opts.dropout)
    optim = torch.optim.Adam(trainable_parameters(net, opts.train_only), lr=opts.lr)
    step, elapsed = 0, 0.0
    if state is not None:
        net.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        step, elapsed = state["step"], state["elapsed_s"]
        log.info("resumed from %s at step %d (%.1f min)", ckpt_path, step, elapsed / 60)
    log.info("model: %d parameters, config %s, options %s", count_parameters(net), cfg.to_dict(), vars(opts))

    dataset = (
        UserRecordings(Path(opts.user_audio), opts.seconds, cfg.sample_rate, cfg.hop, opts.seed + step)
        if opts.user_audio
        else SyntheticGrooves(
            Path(opts.cache_dir),
            opts.seconds,
            cfg.sample_rate,
            cfg.hop,
            opts.seed + step,
            synth_overrides={
                k: v
                for k, v in (
                    ("mix_kits_p", opts.mix_kits_p),
                    ("voicing_p", opts.voicing_p),
                    ("voicing_eq_p", opts.voicing_eq_p),
                    ("voicing_lowpass_p", opts.voicing_lowpass_p),
                    ("blend_p", opts.blend_p),
                    ("procedural_p", opts.procedural_p),
                    ("procedural_distinct_cymbals", opts.procedural_distinct_cymbals),
                    ("start_p", opts.start_p),
                    ("stop_p", opts.stop_p),
                    ("cut_p", opts.cut_p),
                    ("ride_p", opts.ride_p),
                    ("crash_lead_p", opts.crash_lead_p),
                    ("start_anywhere_p", opts.start_anywhere_p),
                )
                if v is not None
            },
            with_shares=opts.share_weight > 0,
            with_audibility=opts.quiet_hit_weight > 0 and opts.quiet_hit_min_db is not None,
        )
    )
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=opts.batch_size,
        num_workers=opts.loader_workers,
        persistent_workers=opts.loader_workers > 0,
        prefetch_factor=4 if opts.loader_workers > 0 else None,
    )
    use_sup = opts.supervised_weight > 0 and not opts.user_audio
    use_unsup = opts.unsupervised_weight > 0
    spec = MultiResolutionLogSpectrum(cfg.sample_rate)
    rng = np.random.default_rng(opts.seed + 1 + step)
    kits = None
    if use_unsup:
        from .kits import load_kits

        kits = load_kits(Path(opts.cache_dir), "train")
    budget = opts.max_minutes * 60
    start = time.time() - elapsed
    last_ckpt = time.time()
    bar = tqdm(total=int(budget), initial=int(elapsed), unit="s", desc="training", mininterval=10)
    running: dict[str, float] = {}

    def save():
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(
            {
                "config": cfg.to_dict(),
                "options": vars(opts),
                "model": net.state_dict(),
                "optim": optim.state_dict(),
                "step": step,
                "elapsed_s": time.time() - start,
            },
            tmp,
        )
        tmp.replace(ckpt_path)

    teachers = load_teachers(opts.teacher_onnx)
    net.train()
    carry: torch.Tensor | None = None
    for batch in loader:
        now = time.time() - start
        if now >= budget or step >= opts.max_steps:
            break
        frac = now / budget
        for group in optim.param_groups:  # warm-up then cosine decay over the time budget
            group["lr"] = opts.lr * min(1.0, (step + 1) / 300) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        out = net(batch["audio"], carried_state(carry, batch["audio"].shape[0], opts.carry_state_p, rng))
        carry = out["gru_state"].detach()
        loss = batch["audio"].new_zeros(())
        parts = {}
        if use_sup:
            sup, parts = supervised_loss(
                out,
                batch,
                cfg.lookahead_frames,
                velocity_corr_weight=opts.velocity_corr_weight,
                distractor_weight=opts.distractor_weight,
                first_hit_weight=first_hit_weights,
                first_hit_quiet_frames=round(opts.first_hit_quiet * cfg.sample_rate / cfg.hop),
                quiet_hit_weight=opts.quiet_hit_weight,
                quiet_hit_velocity=opts.quiet_hit_velocity,
                quiet_hit_min_db=opts.quiet_hit_min_db,
            )
            loss = loss + opts.supervised_weight * sup
            if opts.component_weight > 0:
                aux = component_onset_loss(out, batch, cfg.lookahead_frames)
                parts["aux"] = aux.item()
                loss = loss + opts.component_weight * aux
            if opts.share_weight > 0:
                share = component_share_loss(out, batch, cfg.lookahead_frames)
                parts["share"] = share.item()
                loss = loss + opts.share_weight * share
        if teachers:
            t_onset, t_velocity = teacher_outputs(teachers, batch["audio"])
            kd = distillation_loss(out, t_onset, t_velocity)
            parts["kd"] = kd.item()
            loss = loss + opts.distill_weight * kd
        if use_unsup and step % opts.unsupervised_every == 0:
            n_items = opts.unsupervised_items or batch["audio"].shape[0]
            sub = {k: v[:n_items] for k, v in out.items()}
            templates = draw_templates(rng, kits, cfg.sample_rate)
            projection = torch.softmax if opts.activation == "softmax" else sparsemax
            acts = synth_activations(sub, cfg.time_sparsemax_frames, projection)
            rec, _ = reconstruction_loss(spec, batch["audio"][:n_items], acts, templates, cfg.hop, cfg.lookahead_frames)
            parts["rec"] = rec.item()
            loss = loss + opts.unsupervised_weight * rec
        optim.zero_grad()
        loss.backward()
        if step < opts.head_warmup_steps:
            for name, p in net.named_parameters():
                if name.split(".")[0] not in TRAINING_ONLY_HEADS:
                    p.grad = None  # Adam skips it: no moments build up from zeros
        torch.nn.utils.clip_grad_norm_([p for p in net.parameters() if p.requires_grad], 5.0)
        optim.step()
        step += 1
        parts["loss"] = loss.item()
        for key, val in parts.items():
            running[key] = 0.98 * running.get(key, val) + 0.02 * val
        bar.update(int(time.time() - start) - bar.n)
        if step % 50 == 0:
            log.info("step %d  %.1f min  %s", step, now / 60, "  ".join(f"{k}={v:.4f}" for k, v in running.items()))
        if time.time() - last_ckpt > opts.checkpoint_minutes * 60:
            save()
            last_ckpt = time.time()
    save()
    (run_dir / "summary.json").write_text(
        json.dumps({"steps": step, "minutes": (time.time() - start) / 60, "final": running}, indent=1)
    )
    log.info("finished: %d steps, %.1f min", step, (time.time() - start) / 60)
    return ckpt_path
