"""Evaluate the conflict (hostility) scorer on the shared labelled sets.

Every snippet goes through ``bot.conflict.cli.score_stream``, the same code
path as ``python -m bot conflict score``, on the held-out split of each set
only. Printed per set: AUROC, precision, recall and F1 at the default
threshold, next to bare VADER (score = -compound, flag = compound <= -0.05)
computed in the same run; for HateCheck en/fr the accuracy per functionality
and how often non-hateful cases are flagged, ours versus VADER alone. The last
line is one JSON object with all the figures.

Held-out splits (deterministic, shared with scripts/fit_conflict.py):
  davidson, mlma_fr: crc32("<set>:<row id>") % 10 < 3 (30 %)
  hatecheck_en, hatecheck_fr: crc32("<set>:<templ_id>") % 10 < 3, by template
  convabuse: convabuse_valid.csv (the model is fitted on convabuse_train.csv)

Usage: python benchmarks/conflict_eval.py [--data /work/shared/data]
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import sys
import time
import zlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.conflict.cli import score_stream  # noqa: E402
from bot.conflict.scoring import default_model  # noqa: E402
from bot.core.sentiment import polarity  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data"
VADER_FLAG_AT = -0.05
HELD_OUT_BUCKETS = 3  # of 10


@dataclass(frozen=True)
class Example:
    """One labelled snippet in the CLI's input format."""

    dataset: str
    split: str
    record: dict[str, object]
    label: int
    functionality: str = ""


def split_of(dataset: str, key: str) -> str:
    """Return "test" or "train" from a stable hash of dataset and key."""
    bucket = zlib.crc32(f"{dataset}:{key}".encode()) % 10
    return "test" if bucket < HELD_OUT_BUCKETS else "train"


def _single(rid: str, lang: str, text: str) -> dict[str, object]:
    return {"id": rid, "lang": lang, "messages": [{"author": "user", "text": text}]}


def _davidson(data: Path) -> Iterator[Example]:
    with open(data / "en" / "davidson_labeled_data.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            rid = row[""]
            text = html.unescape(row["tweet"])
            label = 1 if row["class"] in ("0", "1") else 0
            yield Example("davidson", split_of("davidson", rid), _single(f"d{rid}", "en", text), label)


def _convabuse_label(row: dict[str, str], annotators: Sequence[str]) -> int:
    labelled = abusive = 0
    for ann in annotators:
        for value in ("1", "0", "-1", "-2", "-3"):
            if row.get(f"{ann}_is_abuse.{value}", "").strip() in ("1", "1.0"):
                labelled += 1
                abusive += value.startswith("-")
                break
    return 1 if abusive * 2 > labelled else 0


def _convabuse(data: Path) -> Iterator[Example]:
    for name, split in (("convabuse_train.csv", "train"), ("convabuse_valid.csv", "test")):
        with open(data / "en" / name, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            annotators = sorted(
                {k.split("_")[0] for k in reader.fieldnames or () if k.startswith("Annotator")}
            )
            for row in reader:
                turns = [
                    ("agent", row["prev_agent"]),
                    ("user", row["prev_user"]),
                    ("agent", row["agent"]),
                    ("user", row["user"]),
                ]
                messages: list[dict[str, object]] = []
                for author, text in turns:
                    if text.strip():
                        messages.append({"author": author, "text": text})
                if len(messages) > 1 and messages[-2]["author"] == "agent":
                    messages[-1]["reply_to"] = len(messages) - 2
                record = {"id": f"c{row['example_id']}", "lang": "en", "messages": messages}
                yield Example("convabuse", split, record, _convabuse_label(row, annotators))


def _hatecheck(data: Path, dataset: str, path: Path, lang: str, id_col: str) -> Iterator[Example]:
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            label = 1 if row["label_gold"] == "hateful" else 0
            yield Example(
                dataset,
                split_of(dataset, row["templ_id"]),
                _single(f"{dataset}:{row[id_col]}", lang, row["test_case"].strip()),
                label,
                row["functionality"],
            )


def _mlma(data: Path) -> Iterator[Example]:
    with open(data / "fr" / "mlma_fr.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            rid = row["HITId"]
            label = 0 if row["sentiment"].strip() == "normal" else 1
            yield Example("mlma_fr", split_of("mlma_fr", rid), _single(f"m{rid}", "fr", row["tweet"]), label)


def load_examples(data: Path) -> list[Example]:
    """Load every labelled set with its split (train/test)."""
    examples: list[Example] = []
    examples.extend(_davidson(data))
    examples.extend(_convabuse(data))
    examples.extend(_hatecheck(data, "hatecheck_en", data / "en" / "hatecheck_cases.csv", "en", "case_id"))
    examples.extend(
        _hatecheck(data, "hatecheck_fr", data / "fr" / "mhc_hatecheck_fr.csv", "fr", "mhc_case_id")
    )
    examples.extend(_mlma(data))
    return examples


def auroc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Return the area under the ROC curve (ties count half)."""
    pairs = sorted(zip(scores, labels, strict=True))
    n_pos = sum(labels)
    n_neg = len(labels) - n_pos
    if not n_pos or not n_neg:
        return float("nan")
    rank_sum = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mid_rank = (i + j + 1) / 2.0
        rank_sum += mid_rank * sum(lab for _, lab in pairs[i:j])
        i = j
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def prf(flags: Sequence[bool], labels: Sequence[int]) -> dict[str, float]:
    """Return precision, recall, F1 and accuracy of flags against labels."""
    tp = sum(1 for f, y in zip(flags, labels, strict=True) if f and y)
    fp = sum(1 for f, y in zip(flags, labels, strict=True) if f and not y)
    fn = sum(1 for f, y in zip(flags, labels, strict=True) if not f and y)
    correct = sum(1 for f, y in zip(flags, labels, strict=True) if bool(f) == bool(y))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": correct / len(labels) if labels else 0.0,
    }


def run_cli(examples: Sequence[Example]) -> list[dict[str, object]]:
    """Score examples through score_stream exactly as the CLI does."""
    infile = io.StringIO("".join(json.dumps(e.record, ensure_ascii=False) + "\n" for e in examples))
    outfile = io.StringIO()
    score_stream(infile, outfile)
    return [json.loads(line) for line in outfile.getvalue().splitlines()]


def vader_compounds(examples: Sequence[Example]) -> list[float]:
    """Return bare VADER compounds of each example's last message."""
    out = []
    for e in examples:
        messages = e.record["messages"]
        assert isinstance(messages, list)
        out.append(polarity(str(messages[-1]["text"]), str(e.record["lang"])))
    return out


def _r(x: float) -> float:
    return round(x, 4)


def evaluate(data: Path) -> dict[str, object]:
    """Score every held-out split; return all the figures."""
    examples = [e for e in load_examples(data) if e.split == "test"]
    by_set: dict[str, list[Example]] = defaultdict(list)
    for e in examples:
        by_set[e.dataset].append(e)
    threshold = default_model().threshold
    results: dict[str, object] = {"threshold": threshold, "vader_flag_at": VADER_FLAG_AT}
    sets: dict[str, object] = {}
    functionality: dict[str, object] = {}
    for name, rows in by_set.items():
        started = time.perf_counter()
        outputs = run_cli(rows)
        elapsed = time.perf_counter() - started
        assert [o["id"] for o in outputs] == [e.record["id"] for e in rows]
        scores = [float(str(o["score"])) for o in outputs]
        flags = [bool(o["flag"]) for o in outputs]
        labels = [e.label for e in rows]
        compounds = vader_compounds(rows)
        vader_scores = [-c for c in compounds]
        vader_flags = [c <= VADER_FLAG_AT for c in compounds]
        ours = {"auroc": auroc(scores, labels), **prf(flags, labels)}
        base = {"auroc": auroc(vader_scores, labels), **prf(vader_flags, labels)}
        sets[name] = {
            "n": len(rows),
            "positives": sum(labels),
            "ours": {k: _r(v) for k, v in ours.items()},
            "vader": {k: _r(v) for k, v in base.items()},
            "lines_per_s": round(len(rows) / elapsed),
        }
        if name.startswith("hatecheck"):
            groups: dict[str, list[int]] = defaultdict(list)
            for i, e in enumerate(rows):
                groups[e.functionality].append(i)
            table = {}
            for func, idx in sorted(groups.items()):
                gold = labels[idx[0]]
                table[func] = {
                    "n": len(idx),
                    "gold": "hateful" if gold else "non-hateful",
                    "ours_acc": _r(sum(flags[i] == bool(labels[i]) for i in idx) / len(idx)),
                    "vader_acc": _r(sum(vader_flags[i] == bool(labels[i]) for i in idx) / len(idx)),
                    "ours_flag_rate": _r(sum(flags[i] for i in idx) / len(idx)),
                    "vader_flag_rate": _r(sum(vader_flags[i] for i in idx) / len(idx)),
                }
            functionality[name] = table
    results["sets"] = sets
    results["hatecheck_functionality"] = functionality
    return results


def _print_report(results: dict[str, object]) -> None:
    sets = results["sets"]
    assert isinstance(sets, dict)
    print(f"threshold {results['threshold']}, VADER flag at compound <= {VADER_FLAG_AT}")
    print(
        f"{'set':14} {'n':>5} {'pos':>5} | {'AUROC':>6} {'P':>6} {'R':>6} {'F1':>6} | "
        f"{'vAUROC':>6} {'vP':>6} {'vR':>6} {'vF1':>6}"
    )
    for name, s in sets.items():
        o, v = s["ours"], s["vader"]
        print(
            f"{name:14} {s['n']:5d} {s['positives']:5d} | {o['auroc']:6.3f} {o['precision']:6.3f} "
            f"{o['recall']:6.3f} {o['f1']:6.3f} | {v['auroc']:6.3f} {v['precision']:6.3f} "
            f"{v['recall']:6.3f} {v['f1']:6.3f}"
        )
    functionality = results["hatecheck_functionality"]
    assert isinstance(functionality, dict)
    for name, table in functionality.items():
        print(f"\n{name}: accuracy per functionality (held-out templates)")
        print(
            f"{'functionality':22} {'gold':11} {'n':>4} {'ours':>6} {'vader':>6} {'flag%':>6} {'vflag%':>6}"
        )
        worse = []
        for func, row in table.items():
            mark = ""
            if row["gold"] == "non-hateful" and row["ours_flag_rate"] > row["vader_flag_rate"]:
                mark = "  <- flagged more than VADER"
                worse.append(func)
            print(
                f"{func:22} {row['gold']:11} {row['n']:4d} {row['ours_acc']:6.3f} "
                f"{row['vader_acc']:6.3f} {row['ours_flag_rate']:6.3f} {row['vader_flag_rate']:6.3f}{mark}"
            )
        print(f"non-hateful functionalities flagged more often than VADER alone: {worse or 'none'}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation and print the report and a final JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"data folder not found: {args.data}", file=sys.stderr)
        return 2
    results = evaluate(args.data)
    _print_report(results)
    print(json.dumps(results, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
