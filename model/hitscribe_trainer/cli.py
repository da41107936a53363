"""``hitscribe-train``: prepare-kits, synth, train, average, export, evaluate."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .losses import QUIET_HIT_VELOCITY
from .model import CLASS_NAMES


def _cmd_prepare_kits(args) -> None:
    from .kits import prepare_kits

    print(prepare_kits(Path(args.cache)))


def _cmd_kits_table(args) -> None:
    from .kits import kit_table_markdown, load_manifest

    print(kit_table_markdown(load_manifest(Path(args.cache))), end="")


def _cmd_synth(args) -> None:
    from .kits import read_oneshot_list
    from .synth import SynthOptions, render_validation_set

    options = SynthOptions(mics_p=args.mics_p)
    exclude = read_oneshot_list(Path(args.exclude_oneshots)) if args.exclude_oneshots else []
    render_validation_set(
        Path(args.cache),
        Path(args.out),
        args.clips,
        args.seconds,
        args.seed,
        options=options,
        split=args.split,
        exclude=exclude,
    )
    print(f"rendered {args.clips} labelled clips from {args.split} kits into {args.out}")


def _cmd_join_set(args) -> None:
    from .synth import join_set

    out = join_set(Path(args.data), Path(args.out), args.gap_seconds)
    print(f"joined {args.data} into {out}")


def _cmd_train(args) -> None:
    from .train import TrainOptions, train

    opts = TrainOptions(
        cache_dir=args.cache,
        run_dir=args.run,
        max_minutes=args.max_minutes,
        max_steps=args.max_steps,
        batch_size=args.batch,
        seconds=args.seconds,
        lr=args.lr,
        supervised_weight=args.supervised_weight,
        component_weight=args.component_weight,
        share_weight=args.share_weight,
        head_warmup_steps=args.head_warmup_steps,
        velocity_corr_weight=args.velocity_corr_weight,
        distractor_weight=args.distractor_weight,
        first_hit_weight=args.first_hit_weight,
        first_hit_quiet=args.first_hit_quiet,
        first_hit_classes=tuple(args.first_hit_classes),
        first_hit_weights=tuple(args.first_hit_weights),
        quiet_hit_weight=args.quiet_hit_weight,
        quiet_hit_velocity=args.quiet_hit_velocity,
        quiet_hit_min_db=args.quiet_hit_min_db,
        unsupervised_weight=args.unsupervised_weight,
        unsupervised_items=args.unsupervised_items,
        unsupervised_every=args.unsupervised_every,
        activation=args.activation,
        lookahead_frames=args.lookahead,
        user_audio=args.user_audio or "",
        init_onnx=args.init_onnx or "",
        threads=args.threads,
        loader_workers=args.workers,
        seed=args.seed,
        mix_kits_p=args.mix_kits_p,
        voicing_p=args.voicing_p,
        voicing_eq_p=args.voicing_eq_p,
        voicing_lowpass_p=args.voicing_lowpass_p,
        blend_p=args.blend_p,
        procedural_p=args.procedural_p,
        procedural_distinct_cymbals=True if args.procedural_distinct_cymbals else None,
        start_p=args.start_p,
        stop_p=args.stop_p,
        cut_p=args.cut_p,
        ride_p=args.ride_p,
        crash_lead_p=args.crash_lead_p,
        start_anywhere_p=args.start_anywhere_p,
        carry_state_p=args.carry_state_p,
        conv2d_channels=args.conv2d_channels,
        gru_hidden=args.gru_hidden,
        velocity_gru=args.velocity_gru,
        attack_bands=args.attack_bands,
        train_only=args.train_only or "",
        freq_mask_p=args.freq_mask_p,
        freq_mask_bands=args.freq_mask_bands,
        dropout=args.dropout,
        teacher_onnx=tuple(args.teacher_onnx or ()),
        distill_weight=args.distill_weight,
    )
    print(train(opts))


def _outputs_fns(args, net_or_none):
    from .evaluate import offline_outputs, streaming_outputs
    from .export import read_contract

    if args.streaming:
        contract = read_contract(Path(args.onnx))
        return lambda audio: streaming_outputs(Path(args.onnx), audio, contract)
    return lambda audio: offline_outputs(net_or_none, audio, args.source)


def _cmd_evaluate(args) -> None:
    from .evaluate import clip_events, clip_kits, find_pairs, score, tune_thresholds, write_report
    from .export import load_checkpoint

    net = load_checkpoint(Path(args.checkpoint))
    cfg = net.cfg
    fn = _outputs_fns(args, net)
    retrigger = [r / 1000 for r in args.retrigger_ms]
    thresholds = args.thresholds
    if args.tune:
        thresholds = tune_thresholds(
            find_pairs(Path(args.tune)), fn, cfg.hop, cfg.sample_rate, cfg.lookahead_frames, retrigger
        )
        print("tuned thresholds", thresholds)
    data = Path(args.data)
    result = score(
        find_pairs(data),
        fn,
        cfg.hop,
        cfg.sample_rate,
        cfg.lookahead_frames,
        thresholds,
        retrigger,
        clip_kits(data),
        clip_events(data),
    )
    result["thresholds"] = thresholds
    result["lookahead_ms"] = cfg.lookahead_frames * cfg.hop / cfg.sample_rate * 1000
    print(json.dumps(result, indent=1))
    if args.report:
        write_report(result, Path(args.report))


def _cmd_score_tsv(args) -> None:
    from .evaluate import clip_events, clip_kits, find_pairs, score_tsv, write_report

    data = Path(args.data)
    result = score_tsv(find_pairs(data), Path(args.est), clip_kits(data), clip_events(data))
    print(json.dumps(result, indent=1))
    if args.report:
        write_report(result, Path(args.report))


def _cmd_average(args) -> None:
    from .soup import average_checkpoints

    out = average_checkpoints([Path(c) for c in args.checkpoints], Path(args.out))
    print(f"averaged {len(args.checkpoints)} checkpoints into {out}")


def _cmd_ensemble(args) -> None:
    from .ensemble import write_ensemble

    contract = write_ensemble([Path(m) for m in args.models], Path(args.out), args.name)
    print(f"wrote {args.out}: the mean of {', '.join(contract['ensemble_members'])}")


def _cmd_export(args) -> None:
    from .export import export_onnx, load_checkpoint, reexport

    if args.from_onnx:
        print(json.dumps(reexport(Path(args.from_onnx), Path(args.out)), indent=1))
        return
    net = load_checkpoint(Path(args.checkpoint))
    contract = export_onnx(
        net,
        Path(args.out),
        model_name=args.name,
        thresholds=args.thresholds,
        retrigger_ms=args.retrigger_ms,
        data_summary=args.data_summary,
    )
    print(json.dumps(contract, indent=1))


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    p = argparse.ArgumentParser(prog="hitscribe-train", description=__doc__)
    p.add_argument("--cache", default="model/cache", help="kit cache folder (git-ignored)")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("prepare-kits", help="extract one-shots from Debian drum packages")
    s.set_defaults(fn=_cmd_prepare_kits)

    s = sub.add_parser("kits-table", help="print the kit table of model/KITS.md from the manifest")
    s.set_defaults(fn=_cmd_kits_table)

    s = sub.add_parser("synth", help="render labelled validation clips from held-out kits")
    s.add_argument("--out", default="model/cache/validation")
    s.add_argument("--clips", type=int, default=60)
    s.add_argument("--seconds", type=float, default=10.0)
    s.add_argument("--seed", type=int, default=1234)
    s.add_argument("--split", choices=["validation", "train"], default="validation", help="train = tuning set")
    s.add_argument(
        "--mics-p", type=float, default=0.0, help="share of clips recorded with close microphones plus overheads"
    )
    s.add_argument(
        "--exclude-oneshots",
        default=None,
        help="text file of one-shot paths (as in the kit manifest) never to play, e.g. model/EXCLUDED_ONESHOTS.txt",
    )
    s.set_defaults(fn=_cmd_synth)

    s = sub.add_parser("join-set", help="join a rendered set's clips into one stream that changes sound at every join")
    s.add_argument("--data", default="model/cache/validation")
    s.add_argument("--out", default="model/cache/validation-long")
    s.add_argument("--gap-seconds", type=float, default=0.0, help="silence between clips")
    s.set_defaults(fn=_cmd_join_set)

    s = sub.add_parser("train", help="train or resume (time-boxed)")
    s.add_argument("--run", default="model/runs/main")
    s.add_argument("--max-minutes", type=float, default=100.0)
    s.add_argument("--max-steps", type=int, default=1_000_000)
    s.add_argument("--batch", type=int, default=12)
    s.add_argument("--seconds", type=float, default=2.5)
    s.add_argument("--lr", type=float, default=1e-3)
    s.add_argument("--supervised-weight", type=float, default=1.0)
    s.add_argument("--unsupervised-weight", type=float, default=1.0)
    s.add_argument(
        "--component-weight",
        type=float,
        default=0.0,
        help="auxiliary onset loss on every synthesiser component (supervised runs only)",
    )
    s.add_argument(
        "--share-weight",
        type=float,
        default=0.0,
        help="auxiliary loss on each component's share of every frame's energy (synthetic audio only)",
    )
    s.add_argument(
        "--head-warmup-steps",
        type=int,
        default=0,
        help="first steps in which only the training-only heads learn (after a warm start)",
    )
    s.add_argument(
        "--velocity-corr-weight",
        type=float,
        default=0.0,
        help="weight of the within-clip velocity correlation term (supervised runs)",
    )
    s.add_argument(
        "--distractor-weight",
        type=float,
        default=0.0,
        help="extra onset-loss weight on target-drum negatives within one frame of a tom, "
        "ride, crash or percussion onset (supervised runs)",
    )
    s.add_argument(
        "--first-hit-weight",
        type=float,
        default=0.0,
        help="extra onset-loss weight on the onsets of first hits, after --first-hit-quiet "
        "seconds with no onset (supervised runs): the start of a take or a phrase after a stop",
    )
    s.add_argument(
        "--first-hit-quiet",
        type=float,
        default=0.2,
        help="seconds with no onset of any component before a hit that make it a first hit "
        "(0.2 takes in the hits of sparse grooves too; 0.6 keeps to hits after a stop)",
    )
    s.add_argument(
        "--first-hit-classes",
        nargs="+",
        choices=list(CLASS_NAMES),
        default=[],
        help="classes that get the first-hit weight (default: all); a lone hi-hat competes "
        "with a lone ride, so 'kick snare' leaves the hi-hat to the hard negatives",
    )
    s.add_argument(
        "--first-hit-weights",
        nargs=len(CLASS_NAMES),
        type=float,
        metavar="W",
        default=[],
        help=f"one first-hit weight per class ({' '.join(CLASS_NAMES)}), in place of "
        "--first-hit-weight and --first-hit-classes: e.g. '2 2 1' keeps the hi-hat's weight lower",
    )
    s.add_argument(
        "--quiet-hit-weight",
        type=float,
        default=0.0,
        help="extra onset-loss weight on target onsets below --quiet-hit-velocity (supervised "
        "runs): ghost notes, most of the snare's misses",
    )
    s.add_argument(
        "--quiet-hit-velocity",
        type=float,
        default=QUIET_HIT_VELOCITY,
        help="label velocity (0-1) below which a hit is quiet (the grooves' ghost notes are 0.08-0.3)",
    )
    s.add_argument(
        "--quiet-hit-min-db",
        type=float,
        default=None,
        metavar="DB",
        help="weigh only the quiet hits whose dry track stands at least DB above the rest of the "
        "kit in its first 30 ms (e.g. -15; default: every quiet hit, however masked)",
    )
    s.add_argument(
        "--unsupervised-items", type=int, default=0, help="items per batch for the unsupervised term (0 = all)"
    )
    s.add_argument("--unsupervised-every", type=int, default=1, help="apply the unsupervised term every N steps")
    s.add_argument("--activation", choices=["sparsemax", "softmax"], default="sparsemax")
    s.add_argument("--lookahead", type=int, default=2, help="look-ahead in 10 ms frames")
    s.add_argument("--user-audio", help="folder of your own drum recordings (unsupervised only)")
    s.add_argument("--init-onnx", help="start a new run from the weights of this exported model")
    s.add_argument(
        "--teacher-onnx",
        nargs="+",
        help="exported models whose averaged outputs the network also learns (distillation)",
    )
    s.add_argument("--distill-weight", type=float, default=1.0, help="weight of the distillation term")
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument(
        "--mix-kits-p",
        type=float,
        help="share of training clips whose instruments each come from a random kit (default 0.2)",
    )
    s.add_argument("--voicing-p", type=float, help="kit voicing share per instrument and clip (default 0.6)")
    s.add_argument("--voicing-eq-p", type=float, help="share of voicings that also get 1-2 peaking bands (default 0)")
    s.add_argument(
        "--voicing-lowpass-p",
        type=float,
        help="share of voicings band-limited by a steep 3-10 kHz low-pass, as a lo-fi sample (default 0)",
    )
    s.add_argument(
        "--blend-p",
        type=float,
        help="share of instruments per clip layered with the same instrument of another kit (default 0)",
    )
    s.add_argument(
        "--procedural-p",
        type=float,
        help="share of instruments per clip taken from a kit synthesised for the clip (default 0)",
    )
    s.add_argument(
        "--procedural-distinct-cymbals",
        action="store_true",
        help="procedural rides and crashes closer to the sample packs' (bright, tonal rides; open hats <= 0.7 s)",
    )
    s.add_argument(
        "--start-p",
        type=float,
        help="share of clips that start on a downbeat at the first sample or after 0.1-1.5 s of silence (default 0)",
    )
    s.add_argument(
        "--stop-p",
        type=float,
        help="share of clips whose hits stop for 0.4-1.5 s (a break in the groove; default 0)",
    )
    s.add_argument(
        "--cut-p",
        type=float,
        help="share of clips cut at a hit 0.3-1.5 s into the groove, earlier tails ringing on (default 0)",
    )
    s.add_argument(
        "--ride-p",
        type=float,
        help="share of grooves that keep time on the ride instead of the hi-hat (default 0.2)",
    )
    s.add_argument(
        "--crash-lead-p",
        type=float,
        help="share of those ride grooves that keep time on a crash or china instead (default 0)",
    )
    s.add_argument(
        "--start-anywhere-p",
        type=float,
        help="share of --start-p takes that begin on any early hit (a pickup, a snare), not the downbeat (default 0)",
    )
    s.add_argument(
        "--carry-state-p",
        type=float,
        default=0.0,
        help="share of clips whose GRU starts from the previous batch's final state (long-stream training)",
    )
    s.add_argument(
        "--freq-mask-p",
        type=float,
        default=0.0,
        help="share of clips whose log-mel features lose 1-2 random mel bands (frequency masking)",
    )
    s.add_argument("--freq-mask-bands", type=int, default=8, help="widest masked band, in mel bands")
    s.add_argument("--dropout", type=float, default=0.0, help="dropout on the trunk's features in training")
    s.add_argument(
        "--conv2d-channels",
        type=int,
        default=0,
        help="channels of the 2-D front end; with --init-onnx, more than the model's widens it "
        "without changing its output",
    )
    s.add_argument(
        "--gru-hidden",
        type=int,
        default=0,
        help="units of the GRU; with --init-onnx, more than the model's widens it without changing its output",
    )
    s.add_argument(
        "--attack-bands",
        type=int,
        default=0,
        help="mel bands of an attack branch to add (short 5 ms frames, four per hop, into the trunk; "
        "starts at zero output, so the model is unchanged until it learns)",
    )
    s.add_argument(
        "--velocity-gru",
        type=int,
        default=0,
        help="units of a velocity branch to add (its own GRU over trunk features and band levels; "
        "starts at zero output, so the model is unchanged until it learns)",
    )
    s.add_argument(
        "--train-only",
        choices=["velocity", "attack"],
        help="velocity: only the velocity head and branch learn; onsets stay bit for bit the starting "
        "model's. attack: only the attack branch (--attack-bands) learns; the trunk and heads stay as they are",
    )
    s.set_defaults(fn=_cmd_train)

    s = sub.add_parser("average", help="average the weights of checkpoints fine-tuned from one model")
    s.add_argument(
        "--checkpoints",
        nargs="+",
        required=True,
        help="training checkpoints (.pt) or exported models (.onnx) of one configuration",
    )
    s.add_argument("--out", required=True)
    s.set_defaults(fn=_cmd_average)

    s = sub.add_parser("ensemble", help="one exported model that averages the outputs of several")
    s.add_argument("--models", nargs="+", required=True, help="exported models sharing one contract")
    s.add_argument("--name", required=True, help="model name written into the contract")
    s.add_argument("--out", required=True)
    s.set_defaults(fn=_cmd_ensemble)

    s = sub.add_parser("score-tsv", help="score TSVs written by `hitscribe transcribe --tsv`")
    s.add_argument("--data", default="model/cache/validation", help="folder of reference wav + tsv")
    s.add_argument("--est", required=True, help="folder of <stem>.tsv transcriptions")
    s.add_argument("--report")
    s.set_defaults(fn=_cmd_score_tsv)

    n = len(CLASS_NAMES)
    for name, fn, helptext in (
        ("evaluate", _cmd_evaluate, "onset F per class (mir_eval, +-50 ms) and velocity r"),
        ("export", _cmd_export, "export the streaming ONNX model with its contract"),
    ):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("--checkpoint", default="model/runs/main/checkpoint.pt")
        s.add_argument("--thresholds", type=float, nargs=n, default=[0.5] * n)
        s.add_argument("--retrigger-ms", type=float, nargs=n, default=[40.0, 40.0, 30.0])
        s.set_defaults(fn=fn)
        if name == "evaluate":
            s.add_argument("--data", default="model/cache/validation")
            s.add_argument("--tune", help="folder to tune thresholds on (never the test folder)")
            s.add_argument("--streaming", action="store_true", help="run the ONNX model hop by hop")
            s.add_argument("--source", choices=["onset", "synth"], default="onset", help="what to peak-pick")
            s.add_argument("--onnx", default="assets/models/hitscribe-causal.onnx")
            s.add_argument("--report")
        else:
            s.add_argument("--out", default="assets/models/hitscribe-causal.onnx")
            s.add_argument("--name", default="hitscribe-causal-v2")
            s.add_argument("--data-summary", default="")
            s.add_argument(
                "--from-onnx",
                help="re-export this exported model in the current contract (keeps its name, thresholds, commit)",
            )
    args = p.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
