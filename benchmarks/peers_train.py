"""Training against the peers (``benchmarks/peers.py``): biohub's loop, TRL's ``SFTTrainer`` and a plain
transformers ``Trainer`` with padding, on the same model, LoRA, examples, row length and tokens per optimizer step.

- **biohub**: ``biohub.training.run.train`` with packing (best-fit decreasing into ``max_length`` rows, block-diagonal
  attention, restarting position ids) and assistant-only labels.
- **TRL**: ``SFTTrainer`` with ``packing=True, packing_strategy="bfd"`` (best-fit decreasing, which turns on TRL's
  padding-free collator: each micro-batch one flattened sequence with restarting position ids, from which
  transformers builds the per-example causal mask) and ``assistant_only_loss=True`` through the chat template that
  ``biohub export --format messages`` ships (``biohub.hub.chat_template.TRAINING_CHAT_TEMPLATE``).
- **HF Trainer (padded)**: ``transformers.Trainer`` over the examples tokenized with the same template (labels from
  the assistant-token mask), ``DataCollatorForSeq2Seq`` padding each micro-batch to its longest example; as many
  examples per micro-batch as fill one packed row on average.

- **TRL (bf16)**: the same ``SFTTrainer`` in TRL's default precision: ``SFTConfig`` sets ``bf16=True`` unless told
  otherwise, which on a CPU with bf16 instructions (this one has AVX512-BF16) runs the forward under accelerate's bf16
  autocast: not the same computation (step losses differ by ~0.3%), shown for what a user gets by default.

All of them: the model saved once from the default GGUF as a float32 folder, float32 compute (but TRL (bf16)), LoRA
with biohub's recipe values (r, alpha, dropout, target modules), AdamW at a constant learning rate (no warm-up),
gradient clipping at 1.0, no weight decay, no gradient checkpointing, ``steps`` optimizer steps of ``rows`` packed rows
x ``accumulation`` micro-batches (``benchmarks/peers.py``: 3 steps of 1 row x 2). Throughput counts steps 2..N (step 1
carries one-time costs in every tool): useful (non-pad) tokens/s and supervised tokens/s, with the child's peak RSS.

Checks (once, not timed): TRL's prepared examples (split back out of its packed rows) are exactly biohub's tokenized
examples, ids and supervised positions both; and the two losses agree at step 1 of a one-step run on the longest
prefix of the sample that fits in one optimizer step (:func:`one_step_rows`), so that step 1 holds the same examples
in both tools. (In the timed runs the two tools may deal different examples to step 1: both pack best-fit decreasing
and shuffle rows with a seed-0 ``torch.randperm``, but they break ties between equal free spaces differently.)
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IGNORE = -100


@dataclass(frozen=True)
class TrainSetup:
    """Everything the three children need (JSON-able: it crosses into spawned processes)."""

    model_dir: str
    hub: str  # a hub folder whose config ``config`` holds the examples (biohub)
    config: str
    messages: str  # the same examples as chat JSONL (TRL, HF Trainer)
    template: str  # the training chat template file
    max_length: int
    rows: int  # packed rows per micro-batch (biohub, TRL)
    accumulation: int
    steps: int
    targets: list[str]  # LoRA target modules
    padded_batch: int  # examples per micro-batch of the padded Trainer
    learning_rate: float = 1e-3
    lora_r: int = 16  # the LoRA of recipes/two_stage_demo.yaml
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    seed: int = 0


def save_default_model(folder: Path) -> Path:
    """The default model (GGUF, dequantized) saved once as a float32 transformers folder every tool loads."""
    from biohub.models import load_model

    model, tokenizer = load_model("default", device="cpu")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def save_default_model_child(folder: str) -> dict[str, Any]:
    """:func:`save_default_model` in a child process (the parent never holds the model)."""
    save_default_model(Path(folder))
    return {"folder": folder}


def write_sample(rows: list[dict[str, Any]], folder: Path, name: str) -> tuple[Path, Path]:
    """``rows`` as a one-config hub (biohub) and as chat JSONL (the peers); returns (hub folder, JSONL path)."""
    from biohub.io import write_json, write_parquet, write_text
    from biohub.templates.example import EXAMPLE_FEATURES

    hub = folder / f"{name}_hub"
    write_parquet(hub / "data" / name / "train-00000-of-00001.parquet", rows, EXAMPLE_FEATURES)
    write_text(
        hub / "README.md",
        f"---\nconfigs:\n- config_name: {name}\n  data_files:\n  - split: train\n    path: data/{name}/train-*.parquet\n---\n",
    )
    # the completion record `biohub build` writes last (biohub train refuses a hub folder without one)
    write_json(hub / "build_info.json", {"configs": {name: {"train": len(rows)}}, "recipe_sha256": "0" * 64})
    messages = folder / f"{name}.jsonl"
    write_text(messages, "".join(json.dumps({"messages": row["messages"]}, ensure_ascii=False) + "\n" for row in rows))
    return hub, messages


def sample_rows(hub: str, config: str, count: int, seed: int) -> list[dict[str, Any]]:
    """A seeded sample of ``count`` training examples of ``config`` (in the config's order)."""
    from biohub.io import read_hub_split

    rows = read_hub_split(hub, config, "train")
    picked = sorted(random.Random(seed).sample(range(len(rows)), min(count, len(rows))))
    return [rows[i] for i in picked]


def one_step_rows(rows: list[dict[str, Any]], tokenizer: Any, setup: TrainSetup) -> list[dict[str, Any]]:
    """The longest prefix of ``rows`` that best-fit decreasing packs into the rows of one optimizer step: trained for
    one step, every tool's step 1 then holds exactly these examples, whatever its own row order and tie-breaking."""
    from biohub.training.packing import best_fit_decreasing
    from biohub.training.tokenize import tokenize_conversation

    capacity = setup.rows * setup.accumulation
    lengths: list[int] = []
    for row in rows:
        lengths.append(len(tokenize_conversation(tokenizer, row["messages"]).input_ids))
        if len(best_fit_decreasing(lengths, setup.max_length)) > capacity:
            return rows[: len(lengths) - 1]
    return rows


def _digest(ids: list[int], supervised: list[bool]) -> str:
    return hashlib.sha256(json.dumps([ids, supervised]).encode()).hexdigest()


def biohub_digests(messages_path: str, tokenizer: Any) -> Counter[str]:
    """biohub's tokenized examples (ids and supervised positions), as a multiset of digests."""
    from biohub.training.tokenize import tokenize_conversation

    found: Counter[str] = Counter()
    for line in Path(messages_path).read_text(encoding="utf-8").splitlines():
        example = tokenize_conversation(tokenizer, json.loads(line)["messages"])
        found[_digest(example.input_ids, [label != IGNORE for label in example.labels])] += 1
    return found


def _steady(times: list[float], tokens: list[int], supervised: list[int]) -> dict[str, Any]:
    """Throughput over steps 2..N from the end time of every step and the tokens of every step."""
    seconds = times[-1] - times[0] if len(times) > 1 else None  # a one-step run (the loss check) has no timed step
    return {
        "steps": len(times),
        "seconds": None if seconds is None else round(seconds, 2),
        "tokens_per_s": None if seconds is None else round(sum(tokens[1:]) / seconds, 1),
        "supervised_per_s": None if seconds is None else round(sum(supervised[1:]) / seconds, 1),
        "tokens": sum(tokens),
        "supervised": sum(supervised),
    }


def biohub_child(setup: dict[str, Any]) -> dict[str, Any]:
    """biohub's trainer (packing, assistant-only labels) for ``steps`` optimizer steps."""
    import tempfile

    from biohub.io import read_jsonl_rows
    from biohub.training.recipe import load_train_recipe
    from biohub.training.run import train

    s = TrainSetup(**setup)
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        recipe = {
            "name": "peers", "model": s.model_dir, "method": "lora", "max_length": s.max_length, "packing": True,
            "batch_size": s.rows, "gradient_accumulation": s.accumulation, "learning_rate": s.learning_rate,
            "scheduler": "constant", "warmup_ratio": 0.0, "gradient_checkpointing": False, "return_freed_memory": False,
            "lora": {"r": s.lora_r, "alpha": s.lora_alpha, "dropout": s.lora_dropout, "target_modules": s.targets},
            "logging_every": 1, "checkpoint": {"every": 0, "keep": 1}, "seed": s.seed, "max_steps": s.steps,
            "stages": [{"name": "only", "data": [s.config], "epochs": 1}],
        }  # fmt: skip
        path = Path(tmp) / "recipe.yaml"
        path.write_text(json.dumps(recipe), encoding="utf-8")
        train(load_train_recipe(path), s.hub, Path(tmp) / "run", show_progress=False,
              on_step=lambda info: times.append(time.perf_counter()))  # fmt: skip
        rows = [row for row in read_jsonl_rows(Path(tmp) / "run" / "metrics.jsonl") if row.get("kind", "train") == "train"]
    tokens = [row["window_tokens"] for row in rows]
    supervised = [row["window_supervised_tokens"] for row in rows]
    return _steady(times, tokens, supervised) | {"loss_step1": rows[0]["loss"], "losses": [row["loss"] for row in rows]}


def _lora(s: TrainSetup) -> Any:
    from peft import LoraConfig

    return LoraConfig(r=s.lora_r, lora_alpha=s.lora_alpha, lora_dropout=s.lora_dropout, target_modules=s.targets,
                      task_type="CAUSAL_LM")  # fmt: skip


def _common_args(s: TrainSetup, out: str) -> dict[str, Any]:
    """TrainingArguments shared by TRL and the padded Trainer: biohub's optimiser settings, CPU, no saving."""
    return {
        "output_dir": out, "max_steps": s.steps, "gradient_accumulation_steps": s.accumulation,
        "learning_rate": s.learning_rate, "lr_scheduler_type": "constant", "warmup_steps": 0, "weight_decay": 0.0,
        "max_grad_norm": 1.0, "optim": "adamw_torch", "logging_steps": 1, "save_strategy": "no", "report_to": [],
        "use_cpu": True, "seed": s.seed, "data_seed": s.seed, "dataloader_num_workers": 0, "gradient_checkpointing": False,
        "disable_tqdm": True, "bf16": False,  # float32 as biohub (TRL's SFTConfig defaults to bf16 autocast)
    }  # fmt: skip


def _timed(trainer_class: Any) -> Any:
    """``trainer_class`` counting, per optimizer step, the positions computed, the real (non-pad) tokens and the
    supervised tokens of its micro-batches in ``compute_loss``."""

    class Timed(trainer_class):  # type: ignore[misc, valid-type]
        step_positions: Counter[int] = Counter()
        step_tokens: Counter[int] = Counter()
        step_supervised: Counter[int] = Counter()

        def compute_loss(self, model: Any, inputs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            step = self.state.global_step  # 0-based index of the step this micro-batch belongs to
            mask = inputs.get("attention_mask")
            self.step_positions[step] += int(inputs["input_ids"].numel())
            self.step_tokens[step] += int(inputs["input_ids"].numel() if mask is None else mask.sum())
            self.step_supervised[step] += int((inputs["labels"] != IGNORE).sum())
            return super().compute_loss(model, inputs, *args, **kwargs)

    return Timed


def _run_trainer(trainer: Any) -> dict[str, Any]:
    from transformers import TrainerCallback

    times: list[float] = []

    class StepClock(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            times.append(time.perf_counter())

    trainer.add_callback(StepClock())
    trainer.train()
    steps = len(times)
    tokens = [trainer.step_tokens[i] for i in range(steps)]
    supervised = [trainer.step_supervised[i] for i in range(steps)]
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    return _steady(times, tokens, supervised) | {"loss_step1": losses[0], "losses": losses}


def trl_child(setup: dict[str, Any], digests: bool = False, bf16: bool = False) -> dict[str, Any]:
    """TRL ``SFTTrainer``: bfd packing (padding-free), assistant-only loss, in float32 as biohub, or with ``bf16`` in
    TRL's own default precision (``SFTConfig(bf16=True)``: accelerate's bf16 autocast, on a CPU too); with
    ``digests``, also its prepared examples as digests (split back out of the packed rows by their ``seq_lengths``)."""
    import tempfile

    import torch
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    s = TrainSetup(**setup)
    with tempfile.TemporaryDirectory() as tmp:
        data = load_dataset("json", data_files=s.messages, split="train", cache_dir=f"{tmp}/hf")
        config = SFTConfig(
            **(_common_args(s, f"{tmp}/run") | {"bf16": bf16}), per_device_train_batch_size=s.rows, max_length=s.max_length,
            packing=True, packing_strategy="bfd", padding_free=True, assistant_only_loss=True, chat_template_path=s.template,
            dataset_num_proc=None,
        )  # fmt: skip
        model = AutoModelForCausalLM.from_pretrained(s.model_dir, dtype=torch.float32)
        trainer = _timed(SFTTrainer)(model=model, args=config, train_dataset=data, peft_config=_lora(s))
        found: Counter[str] = Counter()
        if digests:
            for row in trainer.train_dataset:
                start = 0
                for length in row["seq_lengths"]:
                    ids, labels = row["input_ids"][start : start + length], row["labels"][start : start + length]
                    found[_digest(ids, [label != IGNORE for label in labels])] += 1
                    start += length
        result = _run_trainer(trainer) | {"packed_rows": len(trainer.train_dataset)}
    return result | ({"digests": dict(found)} if digests else {})


def padded_child(setup: dict[str, Any]) -> dict[str, Any]:
    """A plain transformers ``Trainer`` with padding (no packing): the examples tokenized with the training template,
    labels where the assistant-token mask is set, ``DataCollatorForSeq2Seq`` padding."""
    import tempfile

    import torch
    from datasets import Dataset
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq, Trainer, TrainingArguments

    s = TrainSetup(**setup)
    tokenizer = AutoTokenizer.from_pretrained(s.model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    template = Path(s.template).read_text(encoding="utf-8")
    examples = []
    for line in Path(s.messages).read_text(encoding="utf-8").splitlines():
        encoded = tokenizer.apply_chat_template(
            json.loads(line)["messages"], chat_template=template, tokenize=True, return_dict=True,
            return_assistant_tokens_mask=True,
        )  # fmt: skip
        ids = list(encoded["input_ids"])
        labels = [token if keep else IGNORE for token, keep in zip(ids, encoded["assistant_masks"], strict=True)]
        examples.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
    with tempfile.TemporaryDirectory() as tmp:
        arguments = TrainingArguments(**_common_args(s, f"{tmp}/run"), per_device_train_batch_size=s.padded_batch,
                                      remove_unused_columns=False)  # fmt: skip
        model = get_peft_model(AutoModelForCausalLM.from_pretrained(s.model_dir, dtype=torch.float32), _lora(s))
        collator = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=IGNORE)
        trainer = _timed(Trainer)(model=model, args=arguments, train_dataset=Dataset.from_list(examples),
                                  data_collator=collator)  # fmt: skip
        result = _run_trainer(trainer)
    real, positions = sum(trainer.step_tokens.values()), sum(trainer.step_positions.values())
    return result | {"padding_fraction": round(1 - real / positions, 4)}
