"""A Piper voice kept once more with 8-bit convolution weights, in the models cache (profile ``piper_weights``).

A Piper voice (VITS) is about 15.6 million float weights, 85% of them in the convolutions of its text encoder
and flow. onnxruntime's dynamic quantisation stores those as uint8 with one scale per tensor (``ConvInteger``);
the duration predictor and the vocoder, where quantisation is heard, stay float. For Joe medium the file goes
from 63 to 23 MB and a loaded voice from about 88 to 50 MB (x86). Transcribed back by Whisper tiny.en, 199
MASSIVE en-US test utterances (two seeded samples) came out at 11.8% WER against 11.2% for the float voice,
with the same character error rate; quantising every convolution cost a point more. `edge bench tts
--roundtrip --profile rpi4` measures it again.

The copy is written once per voice, from the installed file, into ``<models cache>/piper-int8/<name>-<hash of
the source's path, size and mtime>/``, by a child process: the quantiser (``onnx``, ``onnxruntime.quantization``)
holds several copies of the model at once, and that memory should not stay in the assistant. Making one
removes the copies of the same source made before it changed and those whose source no longer exists.
Whenever no copy can be made (no ``onnx`` package, a read-only or full disk), the float voice is used, with a
warning once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from edge.model_join import models_cache_dir

__all__ = ["int8_voice", "quantize_voice"]

log = logging.getLogger(__name__)

_STAMP = "int8-source.json"
_FILE = "voice.onnx"
QUANTIZE_TIMEOUT_S = 600  # a Raspberry Pi 4 takes well under a minute for a medium voice


def quantize_voice(source: Path, dest: Path) -> int:
    """Write ``dest``: ``source`` with the Conv weights of its text encoder and flow quantised to uint8 (one
    scale per tensor); the duration predictor and the vocoder stay float. Returns how many Conv were quantised."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source), load_external_data=False).graph
    chosen = [n.name for n in graph.node if n.op_type == "Conv" and n.name.split("/")[1:2] in (["enc_p"], ["flow"])]
    if not chosen:
        raise ValueError("no text encoder or flow convolutions found (not a Piper VITS voice?)")
    quantize_dynamic(str(source), str(dest), weight_type=QuantType.QUInt8, op_types_to_quantize=["Conv"],
                     per_channel=False, nodes_to_quantize=chosen)
    return len(chosen)


def _source_key(model: Path) -> dict[str, object]:
    st = model.stat()
    return {"path": str(model.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _usable(folder: Path, key: dict[str, object]) -> bool:
    try:
        stamp = json.loads((folder / _STAMP).read_text())
        return bool(stamp.get("source") == key and (folder / _FILE).stat().st_size == stamp.get("size"))
    except (OSError, ValueError):
        return False


def _prune(made: Path, key: dict[str, object]) -> None:
    """Remove the other copies that nothing loads any more (same source before it changed, or a source gone)."""
    for other in made.parent.iterdir():
        if other == made or ".part-" in other.name or not other.is_dir():
            continue
        try:
            source = json.loads((other / _STAMP).read_text())["source"]["path"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if source == key["path"] or not Path(source).exists():
            shutil.rmtree(other, ignore_errors=True)


def int8_voice(model: Path, cache: Path | None = None) -> Path | None:
    """The int8 copy of the Piper voice ``model`` (made now if missing or stale); None when none can be made."""
    try:
        key = _source_key(model)
    except OSError:
        return None  # the caller reports the missing file
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    dest = (cache or models_cache_dir() / "piper-int8") / f"{model.stem}-{digest}"
    if _usable(dest, key):
        return dest / _FILE
    tmp = dest.with_name(f"{dest.name}.part-{os.getpid()}")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        done = subprocess.run([sys.executable, "-m", "edge.tts.piper_int8", str(model), str(tmp / _FILE)],
                              capture_output=True, text=True, timeout=QUANTIZE_TIMEOUT_S, check=False)
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            raise OSError(reason[:160])
        (tmp / _STAMP).write_text(json.dumps({"source": key, "size": (tmp / _FILE).stat().st_size}))
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
        _prune(dest, key)
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if _usable(dest, key):  # another process made it first
            return dest / _FILE
        log.warning("Piper voice %s kept as float weights (no int8 copy: %s)", model.name, exc)
        return None
    return dest / _FILE


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m edge.tts.piper_int8 VOICE.onnx OUT.onnx", file=sys.stderr)
        return 2
    try:
        quantize_voice(Path(args[0]), Path(args[1]))
    except ImportError as exc:
        print(f"the int8 voice needs the onnx package ({exc}); install edge again to get it", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - any quantiser failure: the float voice is used instead
        print(f"cannot quantise {args[0]}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
