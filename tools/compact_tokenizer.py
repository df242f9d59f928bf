"""Write the device's compact tokenizer files (`pieces.txt`, `pieces.npz`) from a Unigram `tokenizer.json`,
and check that `edge.nlu.unigram` cuts MASSIVE's text into the same pieces as `tokenizers` does.

    python -m tools.compact_tokenizer --tokenizer runs/student-init/tokenizer.json --out models/nlu --data PATH

The normaliser table is taken from the tokenizer itself: every code point is passed through its
normaliser and the ones that change are kept.
"""

from __future__ import annotations

import argparse
import base64
import json
import struct
import unicodedata
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from edge.nlu.pieces import normalise
from edge.nlu.unigram import UnigramTokenizer


def charsmap_rules(charsmap: bytes) -> dict[str, str]:
    """Every rule of a SentencePiece precompiled charsmap: its Darts double-array trie walked key by key."""
    size = struct.unpack("<I", charsmap[:4])[0]
    units = np.frombuffer(charsmap[4 : 4 + size], dtype="<u4").astype(np.int64)
    blob = charsmap[4 + size :]

    def offset(u: int) -> int:
        return int((u >> 10) << ((u & (1 << 9)) >> 6))

    rules: dict[str, str] = {}
    stack: list[tuple[int, bytes]] = [(0, b"")]
    while stack:
        node, key = stack.pop()
        u = int(units[node])
        if (u >> 8) & 1:
            v = int(units[node ^ offset(u)]) & ((1 << 31) - 1)
            try:
                rules[key.decode("utf-8")] = blob[v : blob.index(b"\0", v)].decode("utf-8")
            except UnicodeDecodeError:
                pass
        base = node ^ offset(u)
        for c in range(1, 256):
            child = base ^ c
            if child < len(units) and int(units[child]) & ((1 << 31) | 0xFF) == c:
                stack.append((child, key + bytes([c])))
    return rules


def combining_rules(spec: dict) -> dict[str, str]:
    """The charsmap's rules for a letter followed by combining marks (decomposed text, as in MASSIVE's vi-VN)."""
    norms = spec.get("normalizer") or {}
    for n in [norms, *norms.get("normalizers", [])]:
        if n.get("type") == "Precompiled":
            rules = charsmap_rules(base64.b64decode(n["precompiled_charsmap"]))
            return {k: v for k, v in rules.items()
                    if len(k) > 1 and any(unicodedata.category(c).startswith("M") for c in k)}
    return {}


def write_compact(tokenizer_json: Path, out: Path) -> None:
    spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    if any("\n" in p for p, _ in vocab):
        raise SystemExit("a piece contains a newline: pieces.txt cannot hold it")
    tok = Tokenizer.from_file(str(tokenizer_json))
    src, dst = [], []
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        ch = chr(c)
        got = tok.normalizer.normalize_str(ch) if tok.normalizer else ch
        if got != ch:
            src.append(c)
            dst.append(got)
    multi = combining_rules(spec)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pieces.txt").write_text("".join(p + "\n" for p, _ in vocab), encoding="utf-8")
    np.savez_compressed(out / "pieces.npz", scores=np.array([s for _, s in vocab], dtype=np.float32),
                        norm_from=np.array(src, dtype=np.int32), norm_to=np.array(dst, dtype=object).astype(str),
                        multi_from=np.array(list(multi), dtype=str), multi_to=np.array(list(multi.values()), dtype=str),
                        unk_id=np.array(spec["model"]["unk_id"]))
    print(f"wrote {out}/pieces.txt and pieces.npz: {len(vocab)} pieces, {len(src)} + {len(multi)} normaliser rules")


def check(tokenizer_json: Path, folder: Path, texts: list[str]) -> int:
    """Number of texts whose pieces or offsets differ between the two tokenizers."""
    ref = Tokenizer.from_file(str(tokenizer_json))
    ours = UnigramTokenizer.load(folder)
    bad = 0
    for i in range(0, len(texts), 10000):
        chunk = texts[i : i + 10000]
        for t, a in zip(chunk, ref.encode_batch(chunk, add_special_tokens=False)):
            b = ours.encode(t)
            # a bare "▁" covers no character of its own (tokenizers gives it the next one's): not compared
            ref_off = [tuple(o) if tk != "\u2581" else None for tk, o in zip(a.tokens, a.offsets)]
            our_off = [o if tk != "\u2581" else None for tk, o in zip(b.tokens, b.offsets)]
            if a.ids != b.ids or ref_off != our_off:
                bad += 1
                if bad <= 5:
                    print(f"differs: {t!r}\n  tokenizers {list(zip(a.tokens, a.offsets))}\n"
                          f"  ours       {list(zip(b.tokens, b.offsets))}")
    return bad


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data", type=Path, help="MASSIVE: check every utterance, as typed and as the runtime sees it")
    args = ap.parse_args(argv)
    write_compact(args.tokenizer, args.out)
    if args.data:
        from tools.nlu_data import CACHE, load_examples

        texts = [e.utt for e in load_examples(args.data, CACHE)]
        texts += [normalise(t) for t in texts]
        bad = check(args.tokenizer, args.out, texts)
        print(f"{bad} of {len(texts)} texts cut differently")
        if bad:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
