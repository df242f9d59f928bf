"""`edge learn`: what the assistant learned on this device, and custom intents from a file.

    edge learn list                   learned phrasings, custom intents, candidates, the turn log's size
    edge learn undo ID                retire learned item ID (as listed)
    edge learn forget [--all]         erase the turn log and candidates (--all: every learned item too)
    edge learn intents FILE           load custom intents (TOML, see docs/learning.md)
    edge learn calibrate              calibrate the similarity thresholds for the NLU model from MASSIVE dev
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.cli_errors import CliError

__all__ = ["add_parsers", "cmd_learn"]


def _data_dir(args: argparse.Namespace) -> Path | None:
    return Path(args.data_dir) if args.data_dir else None


def _store(args: argparse.Namespace) -> Any:
    from edge.learn.db import open_learn_store
    from edge.skills.store import StoreError

    try:
        return open_learn_store(_data_dir(args))
    except StoreError as e:
        raise CliError(str(e)) from None


def _model(args: argparse.Namespace) -> Any:
    from edge.commands.common import profile_or_exit
    from edge.nlu.runtime import NluModel, NluModelError

    profile = profile_or_exit(args.profile)
    try:
        return NluModel(args.model or profile.nlu.model, threads=profile.nlu.threads,
                        max_tokens=profile.nlu.max_tokens, ood_threshold=profile.nlu.ood_threshold)
    except NluModelError as e:
        raise CliError(str(e)) from None


def _embedder(model: Any) -> Any:
    from edge.nlu.runtime import NluModelError

    try:
        model.embed(["probe"])
    except NluModelError as e:
        raise CliError(f"{e} (learning needs the sentence embedding)") from None
    return model.embed


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def cmd_list(args: argparse.Namespace) -> int:
    from edge.learn.memory import ExemplarMemory
    from edge.learn.mining import RephraseMiner
    from edge.learn.turnlog import TurnLog

    store = _store(args)
    memory = ExemplarMemory(store, None)
    items = [it for it in memory.all_items() if it.active or args.all]
    candidates = RephraseMiner(store, memory).pending()
    custom = store.query("SELECT name, spec, source FROM custom_intents ORDER BY name")
    turns = TurnLog(store).count()
    if args.json:
        print(json.dumps({"items": [vars(it) for it in items], "candidates": [vars(c) for c in candidates],
                          "custom_intents": [dict(r) | {"spec": json.loads(r["spec"])} for r in custom],
                          "turns_logged": turns}, ensure_ascii=False, default=str, indent=2))
        return 0
    rephrase = [it for it in items if it.kind == "rephrase"]
    print(f"learned phrasings: {len(rephrase)}")
    for it in rephrase:
        mark = "" if it.active else " (undone)"
        slots = ", ".join(f"{s['type']}={s['value']}" for s in it.slots)
        print(f"  {it.id:>5}  {it.text!r} -> {it.intent}{' [' + slots + ']' if slots else ''}  "
              f"({it.origin}, {_when(it.created)}){mark}")
    print(f"custom intents: {len(custom)}")
    for r in custom:
        spec = json.loads(r["spec"])
        n = sum(1 for it in items if it.kind == "custom" and it.intent == r["name"])
        action = spec.get("reply") or spec.get("skill") or " ".join(spec.get("command") or [])
        print(f"  {r['name']}: {n} examples ({spec.get('locale')}) -> {action!r}  from {r['source']}")
    print(f"candidates (not yet applied): {len(candidates)}")
    for c in candidates[:20]:
        print(f"  {c.text!r} -> {c.intent}  seen {c.sightings}x")
    print(f"turns logged: {turns}  ({store.path})")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    from edge.learn.memory import ExemplarMemory

    memory = ExemplarMemory(_store(args), None)
    found = memory.undo(args.id)
    if found is None:
        raise CliError(f"no active learned item {args.id}; see `edge learn list` for the ids")
    print(f"undone {found.id}: {found.text!r} -> {found.intent}")
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from edge.learn.turnlog import TurnLog

    store = _store(args)
    log = TurnLog(store)
    if args.all:
        with store.transaction() as db:
            db.execute("DELETE FROM memory")
            db.execute("DELETE FROM custom_intents")
    n = log.forget()
    print(f"erased {n} logged turns and every candidate" + (", every learned item and custom intent" if args.all
                                                               else "; learned items kept (--all erases them)"))
    return 0


def cmd_intents(args: argparse.Namespace) -> int:
    from edge.learn.custom import install_intents
    from edge.learn.intents_file import IntentsFileError, load_intents_file
    from edge.learn.learner import Learner

    model = _model(args)
    try:
        intents = load_intents_file(args.file, set(model.labels.intents))
    except IntentsFileError as e:
        raise CliError(str(e)) from None
    learner = Learner(_store(args), _embedder(model))
    if learner.thresholds.source.startswith("default"):
        _auto_calibrate(learner)
    t0 = time.perf_counter()
    n = install_intents(learner, intents, str(Path(args.file).resolve()), args.allow_commands, model.parse_batch)
    ms = (time.perf_counter() - t0) * 1000
    commands = [i.name for i in intents if i.command]
    print(f"learned {len(intents)} custom intents from {n} examples in {ms:.0f} ms: "
          + ", ".join(i.name for i in intents))
    if commands and not args.allow_commands:
        print(f"note: commands of {', '.join(commands)} will not run: load with --allow-commands to allow them")
    if learner.thresholds.source.startswith("default"):
        print("note: the similarity thresholds are the strict uncalibrated defaults; run `edge learn calibrate "
              "--massive PATH` for better recall")
    return 0


def _auto_calibrate(learner: Any) -> None:
    """Calibrate once for this model when MASSIVE is at hand (a few seconds); else keep the strict defaults."""
    from edge.learn.calibrate import (
        calibrate,
        calibration_sample,
        embed_sample,
        massive_path,
        save_background,
        save_thresholds,
    )

    if not massive_path().exists():
        return
    print("calibrating the similarity thresholds for this model (once) ...", flush=True)
    sample = calibration_sample(massive_path())
    vecs = embed_sample(learner.embed_fn, sample)
    thresholds = calibrate(learner.embed_fn, sample, vecs=vecs)
    save_thresholds(learner.store, learner.key, thresholds)
    save_background(learner.key, vecs, [i for _, i, _ in sample])
    learner.set_thresholds(thresholds, vecs, np.array([i for _, i, _ in sample]))


def cmd_calibrate(args: argparse.Namespace) -> int:
    from edge.learn.calibrate import (
        calibrate,
        calibration_sample,
        embed_sample,
        massive_path,
        save_background,
        save_bundle,
        save_thresholds,
    )
    from edge.learn.memory import model_key

    path = Path(args.massive) if args.massive else massive_path()
    if not path.exists():
        raise CliError(f"MASSIVE not found at {path}; pass --massive PATH (a folder or the jsonl tar.gz)")
    model = _model(args)
    embed = _embedder(model)
    sample = calibration_sample(path, per_intent=args.per_intent)
    vecs = embed_sample(embed, sample)
    thresholds = calibrate(embed, sample, vecs=vecs)
    store = _store(args)
    save_thresholds(store, model_key(embed), thresholds)
    save_background(model_key(embed), vecs, [i for _, i, _ in sample])
    if args.ship:
        shipped = save_bundle(model.model_path.parent, model_key(embed), thresholds, vecs, [i for _, i, _ in sample])
        print(f"wrote {shipped} (ship it with the model: devices without MASSIVE use it)")
    print(f"exemplar {thresholds.exemplar}, fewshot {thresholds.fewshot}, paraphrase {thresholds.paraphrase}, "
          f"repeat {thresholds.repeat} "
          f"({thresholds.source}); saved in {store.path}")
    return 0


def cmd_learn(args: argparse.Namespace) -> int:
    return int(args.learn_func(args))


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="where learn.db is kept (default: $XDG_DATA_HOME/edge)")
    common.add_argument("--profile", help="device profile name or path, for its NLU model (default: desktop)")
    common.add_argument("--model", type=Path, help="ONNX NLU model to embed with (default: the profile's)")
    p = sub.add_parser("learn", help="what the assistant learned here: list, undo, forget, custom intents")
    lsub = p.add_subparsers(dest="learn_command", required=True)
    c = lsub.add_parser("list", parents=[common], help="learned phrasings, custom intents, candidates")
    c.add_argument("--all", action="store_true", help="also undone items")
    c.add_argument("--json", action="store_true")
    c.set_defaults(learn_func=cmd_list)
    c = lsub.add_parser("undo", parents=[common], help="retire one learned item")
    c.add_argument("id", type=int, help="the item's id, as `edge learn list` shows it")
    c.set_defaults(learn_func=cmd_undo)
    c = lsub.add_parser("forget", parents=[common], help="erase the turn log and candidates")
    c.add_argument("--all", action="store_true", help="also every learned phrasing and custom intent")
    c.set_defaults(learn_func=cmd_forget)
    c = lsub.add_parser("intents", parents=[common],
                        help="load custom intents from a TOML file (see docs/learning.md)")
    c.add_argument("file", help="the intents file")
    c.add_argument("--allow-commands", action="store_true", help="let the file's commands run (your whitelist)")
    c.set_defaults(learn_func=cmd_intents)
    c = lsub.add_parser("calibrate", parents=[common],
                        help="similarity thresholds for the NLU model from MASSIVE dev utterances")
    c.add_argument("--massive", help="MASSIVE folder or jsonl tar.gz (default: the shared copy)")
    c.add_argument("--per-intent", type=int, default=6, help="utterances per intent and locale (default: 6)")
    c.add_argument("--ship", action="store_true", help="also write learn-calibration.npz beside the model")
    c.set_defaults(learn_func=cmd_calibrate)
    p.set_defaults(func=cmd_learn)
