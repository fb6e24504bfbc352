"""The ``messages`` export trains assistant-only in TRL: its ``chat_template.jinja`` renders what the default model's own
template renders, and the tokens it marks — through transformers' ``return_assistant_tokens_mask`` and through TRL's
own ``SFTTrainer`` dataset preparation and collator — are exactly the tokens biohub's trainer supervises."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from biohub.hub.chat_template import DEFAULT_MODEL_CHAT_TEMPLATE_SHA256, TRAINING_CHAT_TEMPLATE
from biohub.hub.export import export
from biohub.training.tokenize import IGNORE_INDEX, tokenize_conversation
from tests.hub.test_export import _message_lines

HANDMADE = [
    [
        {"role": "user", "content": "Name the disease: cystic fibrosis is inherited."},
        {"role": "assistant", "content": "disease: cystic fibrosis"},
    ],
    [
        {"role": "system", "content": "你是一名医生。"},
        {"role": "user", "content": "咳嗽两周了。"},
        {"role": "assistant", "content": "有发烧吗？"},
        {"role": "user", "content": "没有。"},
        {"role": "assistant", "content": "建议拍胸片。\n注意休息。"},
    ],
    [{"role": "user", "content": " leading space and trailing newline\n"}, {"role": "assistant", "content": " Answer: A\n"}],
]


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from biohub.models import load_tokenizer

    return load_tokenizer("default")


@pytest.fixture(scope="module")
def messages_export(hub: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trl") / "out"
    export(hub, "messages", out)
    return out


@pytest.fixture(scope="module")
def conversations(messages_export: Path) -> list[list[dict[str, str]]]:
    """Every exported training conversation (system prompts, dialogues, a multi-turn row) and the handmade ones."""
    exported = [line["messages"] for path in sorted(messages_export.glob("*/train.jsonl")) for line in _message_lines(path)]
    assert any(m[0]["role"] == "system" for m in exported) and any(len(m) > 3 for m in exported)
    return exported + HANDMADE


def test_the_default_model_template_is_the_one_the_training_template_follows(tokenizer: Any) -> None:
    assert hashlib.sha256(tokenizer.chat_template.encode("utf-8")).hexdigest() == DEFAULT_MODEL_CHAT_TEMPLATE_SHA256
    assert "{% generation %}" not in tokenizer.chat_template and "{% generation %}" in TRAINING_CHAT_TEMPLATE


def test_training_template_renders_what_the_model_template_renders(tokenizer: Any, conversations: list) -> None:
    for messages in conversations:
        for prompt in (False, True):
            upto = messages[:-1] if prompt else messages
            own = tokenizer.apply_chat_template(upto, tokenize=False, add_generation_prompt=prompt)
            shipped = tokenizer.apply_chat_template(
                upto, tokenize=False, add_generation_prompt=prompt, chat_template=TRAINING_CHAT_TEMPLATE
            )
            assert shipped == own


def test_assistant_tokens_mask_equals_biohubs_labels(tokenizer: Any, conversations: list) -> None:
    for messages in conversations:
        ours = tokenize_conversation(tokenizer, messages)
        marked = tokenizer.apply_chat_template(
            messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True, chat_template=TRAINING_CHAT_TEMPLATE
        )
        assert list(marked["input_ids"]) == ours.input_ids
        assert [bool(m) for m in marked["assistant_masks"]] == [label != IGNORE_INDEX for label in ours.labels], messages
        assert ours.supervised > 0


def test_exported_template_is_a_file_trl_reads(messages_export: Path) -> None:
    assert (messages_export / "chat_template.jinja").read_text(encoding="utf-8") == TRAINING_CHAT_TEMPLATE


def _sft_trainer(model_dir: Path, data: Any, out: Path, template: Path | None) -> Any:
    from trl import SFTConfig, SFTTrainer

    config = SFTConfig(
        output_dir=str(out),
        assistant_only_loss=True,
        chat_template_path=None if template is None else str(template),
        max_length=None,
        report_to=[],
        use_cpu=True,
    )
    return SFTTrainer(model=str(model_dir), args=config, train_dataset=data)


def test_trl_sft_trainer_supervises_biohubs_tokens(
    messages_export: Path, tiny_model_dir: Path, tokenizer: Any, tmp_path: Path
) -> None:
    pytest.importorskip("trl", reason="TRL is not installed (pip install biohub[bench])", exc_type=ImportError)
    from datasets import load_dataset

    data = load_dataset(
        "json", data_files=str(messages_export / "mix_stage2/train.jsonl"), split="train", cache_dir=str(tmp_path / "hf")
    )
    trainer = _sft_trainer(tiny_model_dir, data, tmp_path / "run", messages_export / "chat_template.jinja")
    prepared = [trainer.train_dataset[i] for i in range(len(trainer.train_dataset))]
    batch = trainer.data_collator(prepared)
    assert len(prepared) == len(data) > 1
    for i, row in enumerate(data):
        ours = tokenize_conversation(tokenizer, row["messages"])
        assert prepared[i]["input_ids"] == ours.input_ids
        assert batch["labels"][i][: len(ours.labels)].tolist() == ours.labels, row["messages"]


def test_trl_refuses_assistant_only_loss_with_the_models_own_template(
    messages_export: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Why the template is shipped: without it TRL cannot train assistant-only on the default model."""
    pytest.importorskip("trl", reason="TRL is not installed (pip install biohub[bench])", exc_type=ImportError)
    from datasets import load_dataset

    data = load_dataset(
        "json", data_files=str(messages_export / "mix_stage2/train.jsonl"), split="train", cache_dir=str(tmp_path / "hf")
    )
    with pytest.raises(ValueError, match="not training-compatible"):
        _sft_trainer(tiny_model_dir, data, tmp_path / "run", None)
