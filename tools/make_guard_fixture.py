"""Write the benchmark regression guard's fixture: a fixed, evenly spread excerpt of MASSIVE 1.1's test split.

    python tools/make_guard_fixture.py --data ../shared/data/massive-1.1/massive_1.1_jsonl.tar.gz

en-US gets 48 utterances (spoken and scored from audio in CI); de-DE, fr-FR, es-ES, ja-JP and hi-IN 25 each
(scored as text). Records keep MASSIVE's official fields, so the loader and the spoken-set builder read them
as they read the real data. MASSIVE is CC BY 4.0 (FitzGerald et al. 2022, built on SLURP).
"""

from __future__ import annotations

import argparse
import json
import tarfile
from pathlib import Path

COUNTS = {"en-US": 48, "de-DE": 25, "fr-FR": 25, "es-ES": 25, "ja-JP": 25, "hi-IN": 25}
FIELDS = ("id", "locale", "partition", "scenario", "intent", "utt", "annot_utt")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="massive_1.1_jsonl.tar.gz")
    ap.add_argument("--out", type=Path, default=Path("tests/fixtures/bench_guard"))
    args = ap.parse_args()
    with tarfile.open(args.data) as tar:
        for member in tar.getmembers():
            locale = Path(member.name).stem
            if locale not in COUNTS or not member.name.endswith(".jsonl"):
                continue
            rows = [json.loads(line) for line in tar.extractfile(member)]  # type: ignore[union-attr]
            test = [r for r in rows if r["partition"] == "test"]
            step = len(test) // COUNTS[locale]
            picked = test[::step][: COUNTS[locale]]
            with (args.out / f"{locale}.jsonl").open("w", encoding="utf-8") as f:
                for r in picked:
                    f.write(json.dumps({k: r[k] for k in FIELDS}, ensure_ascii=False) + "\n")
            print(f"{locale}: {len(picked)} of {len(test)} test utterances")


if __name__ == "__main__":
    main()
