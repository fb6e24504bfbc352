"""Self-instruct novelty filter: time per 1,000 candidates at pool sizes 1k, 10k and 25k, against brute force.

The pool and the candidates are instruction-like sentences (seeded): real instructions from the mirror's
instruction corpora when ``--mirror`` has them (HuaTuo-BenTsao questions, PromptCBLUE and Taiyi examples, both
languages), topped up with synthetic English ones (verb + biomedical object + qualifiers, a 2,000-term vocabulary),
plus 10% near-duplicates of pool items so that the exact ROUGE-L check has work to do. Baseline in the same run:
``rouge-score`` on every pair, timed on a small number of candidates and scaled. Target (issue 8): a 25k pool in
minutes, not hours.

    python benchmarks/selfinstruct_similarity.py [--mirror ../shared/corpora] [--candidates 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from biohub.selfinstruct.similarity import SimilarityIndex, rouge_l, tokens
from biohub.selfinstruct.tasks import language_of

ROOT = Path(__file__).resolve().parents[1]
VERBS = [
    "List", "Explain", "Summarize", "Extract", "Identify", "Describe", "Classify", "Compare", "Write", "Determine",
    "Calculate", "Name",
]
OBJECTS = [
    "the adverse effects of", "the mechanism of", "the dosing of", "the contraindications of",
    "the first-line therapy for", "the risk factors of", "the diagnostic criteria of", "the genes associated with",
]
QUALIFIERS = [
    "in elderly patients", "in pregnancy", "for a patient leaflet", "in one sentence", "with renal impairment",
    "in children", "as a bulleted list", "based on the abstract below",
]


def synthetic(rng: random.Random, terms: list[str]) -> str:
    return f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(terms)} {rng.choice(QUALIFIERS)}" + (
        f" and {rng.choice(terms)}" if rng.random() < 0.5 else ""
    )


def real_instructions(mirror: Path | None) -> list[str]:
    found: list[str] = []
    if mirror is None or not mirror.is_dir():
        return found
    for path in sorted(mirror.glob("huatuo_bentsao/**/*.json")) + sorted(mirror.glob("taiyi_examples/**/*.json*")):
        text = path.read_text(encoding="utf-8", errors="replace")
        rows = (
            [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
            if path.suffix == ".jsonl" or not text.lstrip().startswith("[")
            else json.loads(text)
        )
        for row in rows:
            if isinstance(row, dict) and isinstance(row.get("instruction"), str):
                found.append(row["instruction"].strip())
    return [t for t in dict.fromkeys(found) if t]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--sizes", default="1000,10000,25000")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    prefixes = ["anti", "hyper", "neuro", "cardio", "hepato", "nephro"]
    suffixes = ["mab", "pril", "statin", "itis", "oma", "pathy"]
    terms = [f"{rng.choice(prefixes)}{rng.choice(suffixes)}{i}" for i in range(2000)]
    real = real_instructions(args.mirror)
    sizes = [int(s) for s in args.sizes.split(",")]
    texts = real[: max(sizes) + args.candidates]
    while len(texts) < max(sizes) + args.candidates:
        texts.append(synthetic(rng, terms))
    rng.shuffle(texts)
    print(
        f"texts: {len(real):,} real instructions from {args.mirror} + {len(texts) - min(len(real), len(texts)):,} synthetic; "
        f"{args.candidates:,} candidates per size"
    )
    print(
        f"{'pool':>7} {'build s':>8} {'s / 1,000 candidates':>21} {'similar':>8} "
        f"{'brute force s / 1,000 (est.)':>29} {'speed-up':>9}"
    )
    for size in sizes:
        pool = [(t, language_of(t)) for t in texts[:size]]
        index = {"en": SimilarityIndex(0.7), "zh": SimilarityIndex(0.7)}
        started = time.perf_counter()
        pool_tokens = []
        for text, language in pool:
            words = tokens(text, language)
            index[language].add(words)
            pool_tokens.append((words, language))
        built = time.perf_counter() - started
        candidates = []
        for i in range(args.candidates):
            if i % 10 == 0:  # a near-duplicate of a pool item
                words, language = pool_tokens[rng.randrange(size)]
                candidates.append((words[:-1] + ["again"] if len(words) > 4 else words, language))
            else:
                text = texts[size + i]
                candidates.append((tokens(text, language_of(text)), language_of(text)))
        started = time.perf_counter()
        similar = sum(index[language].too_similar(words)[0] for words, language in candidates)
        per_thousand = (time.perf_counter() - started) / len(candidates) * 1000
        sample = candidates[:5]
        started = time.perf_counter()
        for words, language in sample:
            max((rouge_l(words, other) for other, lang in pool_tokens if lang == language), default=0.0)
        brute = (time.perf_counter() - started) / len(sample) * 1000
        print(f"{size:>7,} {built:>8.1f} {per_thousand:>21.2f} {similar:>8,} {brute:>29.0f} {brute / per_thousand:>8.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
