"""Export a trained checkpoint to ONNX (fp32), quantise it to int8, and check one against the other.

    python -m tools.export_nlu --checkpoint runs/student/best.pt --tokenizer runs/student-init/tokenizer.json \
        --labels runs/student --out models/nlu --name student --data PATH

Writes `<name>-fp32.onnx` (kept out of git for the student) and `<name>-int8.onnx` (its word embedding table
in `<name>-int8.onnx.data`, which onnxruntime memory-maps) with three
outputs (intent logits, slot logits, the pooled sentence embedding), the compact tokenizer files
(`pieces.txt`, `pieces.npz`, see `tools.compact_tokenizer`) and the label files, and with `--data`
writes `<name>-export.json`: int8 against fp32 on the whole MASSIVE dev split (or `--check-per-locale`),
one utterance at a time as the device runs them.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from pathlib import Path

import torch

from tools.compact_tokenizer import write_compact
from tools.nlu_model import load_checkpoint


class _Export(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        x = self.model.encode(input_ids, attention_mask)
        mask = attention_mask.to(x.dtype)[..., None]
        pooled = (x * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.model.intent_head(pooled), self.model.slot_head(x), pooled


def export_onnx(checkpoint: Path, path: Path) -> None:
    model, _ = load_checkpoint(checkpoint)
    model.eval()
    ids = torch.tensor([[0, 100, 200, 300, 2], [0, 100, 200, 2, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    torch.onnx.export(
        _Export(model), (ids, mask), str(path), input_names=["input_ids", "attention_mask"],
        output_names=["intent_logits", "slot_logits", "pooled"], opset_version=17, dynamo=False,
        dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                      "intent_logits": {0: "batch"}, "slot_logits": {0: "batch", 1: "tokens"}, "pooled": {0: "batch"}},
    )


QUANT_SCHEMES = ("dynamic", "dynamic7", "block4", "block8")


def quantize(src: Path, dst: Path, scheme: str = "dynamic7") -> None:
    """Quantise the fp32 export. The word embedding table is int8 per row in every scheme (a Gather).

    ``dynamic7`` (what ships): per-channel MatMul weights in 7 bits (-64..64, quantize_dynamic's reduce_range),
    each activation tensor quantised to 8 bits with one scale per call. ``dynamic``: the same with 8-bit weights,
    whose answers depend on the CPU: x86 without VNNI sums unsigned x signed byte pairs into 16 bits, which
    saturates (255 x 127 x 2 > 32767), while VNNI, AMX and ARM sum into 32 bits; a 7-bit pair cannot saturate
    (255 x 64 x 2 = 32640), so every CPU computes the same integers. ``block4`` / ``block8``: the encoder's and slot
    head's MatMul weights as 4- / 8-bit integers with one scale per block of 32 input rows (onnxruntime's
    MatMulNBits), activations quantised per block of each row (accuracy_level 4): closer to fp32 and, at 4 bits,
    2.7 MB smaller, but 1.6x the parse time;
    not adopted (MODEL_CARD, "Tried on 2026-12-07 and not kept").
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if scheme not in QUANT_SCHEMES:
        raise ValueError(f"unknown quantisation scheme {scheme!r}: use one of {', '.join(QUANT_SCHEMES)}")
    if scheme in ("dynamic", "dynamic7"):
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                         reduce_range=scheme == "dynamic7",
                         op_types_to_quantize=["MatMul", "Gather"], extra_options={"EnableSubgraph": False})
        return
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    blocks = MatMulNBitsQuantizer(onnx.load(str(src)), bits=8 if scheme == "block8" else 4, block_size=32,
                                  is_symmetric=True, accuracy_level=4)
    blocks.process()
    tmp = dst.with_name(dst.name + ".blocks.tmp")
    try:
        blocks.model.save_model_to_file(str(tmp), use_external_data_format=False)
        quantize_dynamic(str(tmp), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["Gather"], extra_options={"EnableSubgraph": False})
    finally:
        tmp.unlink(missing_ok=True)


def externalise(path: Path, min_bytes: int = 1 << 20) -> Path:
    """Move the large weights (the word embedding table) into ``<name>.data`` beside the model.

    onnxruntime memory-maps external weights instead of copying them, so only the rows of the embedding
    table that the utterances use are ever read in: about 14 MB less resident memory for the same model.
    """
    import onnx

    data = path.with_name(path.name + ".data")
    data.unlink(missing_ok=True)
    model = onnx.load(str(path))
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=data.name, size_threshold=min_bytes, convert_attribute=False)
    data.chmod(0o644)
    return data


def compare(fp32: Path, int8: Path, texts: list[tuple[str, str]]) -> dict:
    """int8 against fp32 as the device runs them (NluModel, one utterance at a time, in its locale): intents and
    slot sets, with the char n-gram model where ``charngrams.npz`` lies beside them (as it ships). ``texts`` holds
    (utterance, locale) pairs."""
    from edge.nlu.runtime import NluModel

    a, b = NluModel(fp32, threads=2), NluModel(int8, threads=2)
    agree = slot_agree = 0
    for text, locale in texts:
        pa, pb = a.parse(text, locale), b.parse(text, locale)
        agree += pa.intent == pb.intent
        slot_agree += {(s.type, s.start, s.end) for s in pa.slots} == {(s.type, s.start, s.end) for s in pb.slots}
    return {"utterances": len(texts), "intent_agreement": agree / len(texts),
            "slot_set_agreement": slot_agree / len(texts), "with_charngrams": b.charngrams is not None}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--tokenizer", type=Path, required=True)
    ap.add_argument("--labels", type=Path, required=True, help="folder with intents.txt and slot_types.txt")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--name", default="student")
    ap.add_argument("--data", type=Path, help="MASSIVE, for the int8-vs-fp32 check on dev utterances")
    ap.add_argument("--check-per-locale", type=int, default=0,
                    help="a seeded random sample of this many dev utterances per locale (0 = all)")
    ap.add_argument("--no-int8", action="store_true", help="fp32 only (the teacher, for the benchmark)")
    ap.add_argument("--quantize", choices=QUANT_SCHEMES, default="dynamic7",
                    help="how the int8 file is quantised (see quantize())")
    ap.add_argument("--compare-only", action="store_true", help="only the int8-vs-fp32 check of an earlier export")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    fp32 = args.out / f"{args.name}-fp32.onnx"
    int8 = args.out / f"{args.name}-int8.onnx"
    if not args.compare_only:
        export_onnx(args.checkpoint, fp32)
        for name in ("intents.txt", "slot_types.txt"):
            shutil.copy(args.labels / name, args.out / name)
        # the device reads the compact pieces files (edge.nlu.unigram), not tokenizer.json
        write_compact(args.tokenizer, args.out)
        print(f"wrote {fp32} ({fp32.stat().st_size / 1e6:.1f} MB)")
        if args.no_int8:
            return
        quantize(fp32, int8, args.quantize)
        data = externalise(int8)
        print(f"wrote {int8} ({int8.stat().st_size / 1e6:.1f} MB) and {data.name} ({data.stat().st_size / 1e6:.1f} MB)")
    if args.data:
        from edge.nlu.massive import load_massive

        by_locale: dict[str, list[tuple[str, str]]] = {}
        for e in load_massive(args.data, splits=["dev"]):
            by_locale.setdefault(e.locale, []).append((e.utt, e.locale))
        texts: list[tuple[str, str]] = []
        rng = random.Random(0)
        for locale in sorted(by_locale):
            rows = by_locale[locale]
            n = args.check_per_locale
            texts.extend(rng.sample(rows, n) if n and n < len(rows) else rows)
        report = compare(fp32, int8, texts)
        report["sample"] = f"{args.check_per_locale} per locale, seeded" if args.check_per_locale else "whole dev split"
        int8_bytes = int8.stat().st_size + sum(f.stat().st_size for f in int8.parent.glob(int8.name + ".data"))
        report.update(fp32_mb=round(fp32.stat().st_size / 1e6, 2), int8_mb=round(int8_bytes / 1e6, 2))
        (args.out / f"{args.name}-export.json").write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
