"""The dataset card's front matter, written through huggingface_hub's DatasetCard/DatasetCardData."""

from __future__ import annotations

import yaml
from huggingface_hub import DatasetCard

from biohub.hub.card import card_text

METADATA = {
    "configs": [
        {"config_name": "mix_stage1", "data_files": [{"split": "train", "path": "data/mix_stage1/train-*.parquet"}]},
        {"config_name": "mix_stage2", "data_files": [{"split": "train", "path": "data/mix_stage2/train-*.parquet"}],
         "default": True},
        {"config_name": "cmeee_instructions", "data_files": [{"split": "dev", "path": "data/cmeee_instructions/dev-*.parquet"}]},
    ],
    "license": "other",
    "license_name": "mixed",
    "license_link": "LICENSE.md",
    "language": ["en", "zh"],
    "task_categories": [],
    "size_categories": ["1K<n<10K"],
    "pretty_name": "biohub 中文: demo",
    "tags": ["biomedical", "bionlp", "instruction-tuning", "biohub"],
}
BODY = "# biohub · demo\n\n| a | b |\n| --- | --- |\n| `x` | 中文 |\n"


def test_the_card_text_is_byte_identical_to_the_plain_yaml_card() -> None:
    expected = f"---\n{yaml.safe_dump(METADATA, sort_keys=False, allow_unicode=True)}---\n\n{BODY}"
    assert card_text(METADATA, BODY) == expected


def test_the_card_reads_back_as_a_dataset_card() -> None:
    card = DatasetCard(card_text(METADATA, BODY))
    assert card.data.configs == METADATA["configs"] and card.data.pretty_name == "biohub 中文: demo"
    assert card.text == f"\n{BODY}" and card.data.to_dict() == METADATA
