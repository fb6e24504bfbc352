"""A small synthetic hub folder: ``mix_stage1`` / ``mix_stage2`` train configs of examples written here."""

from __future__ import annotations

import random
from pathlib import Path

import biohub
from biohub.io import write_json, write_parquet, write_text
from biohub.templates.example import EXAMPLE_FEATURES

DRUGS = ["aspirin", "warfarin", "metformin", "cisplatin", "ibuprofen", "heparin", "tamoxifen", "lithium"]
DISEASES = ["asthma", "hepatitis", "anemia", "migraine", "psoriasis", "gout", "sepsis", "glaucoma"]
ZH_DRUGS = ["阿司匹林", "华法林", "二甲双胍", "顺铂", "布洛芬", "肝素"]
ZH_DISEASES = ["哮喘", "肝炎", "贫血", "偏头痛", "痛风", "青光眼"]


def _row(identifier: str, task: str, language: str, messages: list[tuple[str, str]]) -> dict:
    return {
        "id": identifier,
        "source_id": identifier,
        "dataset": "synthetic",
        "split": "train",
        "task": task,
        "language": language,
        "template_id": f"{task}.{language}.00",
        "messages": [{"role": role, "content": content} for role, content in messages],
        "gold": "{}",
        "meta": "{}",
    }


def synthetic_examples(seed: int) -> tuple[list[dict], list[dict]]:
    """(stage 1 rows, stage 2 rows): NER and classification; plus QA and multi-turn dialogue for stage 2."""
    rng = random.Random(seed)
    stage1 = []
    words = ["patients", "treated", "with", "showed", "reduced", "symptoms", "of", "daily"]
    for i in range(40):
        drug, disease = rng.choice(DRUGS), rng.choice(DISEASES)
        filler = " ".join(rng.choice(words) for _ in range(rng.randint(3, 30)))
        if i % 2:
            messages = [
                ("user", f"Find chemicals and diseases.\nText: {filler} {drug} for {disease}."),
                ("assistant", f"chemical: {drug}\ndisease: {disease}"),
            ]
            stage1.append(_row(f"s1-{i}", "ner", "en", messages))
        else:
            zh_drug, zh_disease = rng.choice(ZH_DRUGS), rng.choice(ZH_DISEASES)
            messages = [
                ("user", f"找出药物和疾病。\n文本：患者服用{zh_drug}治疗{zh_disease}。"),
                ("assistant", f"药物：{zh_drug}\n疾病：{zh_disease}"),
            ]
            stage1.append(_row(f"s1-{i}", "ner", "zh", messages))
    stage2 = list(stage1)
    for i in range(20):
        drug, disease = rng.choice(DRUGS), rng.choice(DISEASES)
        question = [("user", f"Is {drug} used for {disease}? Answer yes or no."), ("assistant", rng.choice(["yes", "no"]))]
        stage2.append(_row(f"s2-qa-{i}", "qa", "en", question))
        dialogue = [
            ("system", "你是一名医生。"),
            ("user", f"我有{rng.choice(ZH_DISEASES)}，怎么办？"),
            ("assistant", "请先去医院检查。"),
            ("user", "需要吃药吗？"),
            ("assistant", f"可以考虑{rng.choice(ZH_DRUGS)}，遵医嘱。"),
        ]
        stage2.append(_row(f"s2-dialogue-{i}", "dialogue", "zh", dialogue))
    return stage1, stage2


def write_hub(folder: Path, seed: int = 0) -> Path:
    """The folder as `biohub build` leaves it: data, a card with its configs and ``build_info.json`` (the completion
    record every consumer asks for)."""
    stage1, stage2 = synthetic_examples(seed)
    configs = []
    for name, rows in (("mix_stage1", stage1), ("mix_stage2", stage2)):
        write_parquet(folder / "data" / name / "train-00000-of-00001.parquet", rows, EXAMPLE_FEATURES)
        configs.append(f"- config_name: {name}\n  data_files:\n  - split: train\n    path: data/{name}/train-*.parquet")
    write_text(
        folder / "README.md",
        "---\nconfigs:\n" + "\n".join(configs) + "\n---\n\nSynthetic training examples for biohub's tests.\n",
    )
    counts = {"mix_stage1": {"train": len(stage1)}, "mix_stage2": {"train": len(stage2)}}
    write_json(folder / "build_info.json", {"configs": counts, "recipe_sha256": "0" * 64, "biohub_version": biohub.__version__})
    return folder
