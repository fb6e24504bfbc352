"""A stand-in for vLLM's offline interface over transformers, for the CPU tests (``tests/fake_vllm/README.md``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, TypedDict

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from vllm.lora.request import LoRARequest

__all__ = ["LLM", "CompletionOutput", "Logprob", "RequestOutput", "SamplingParams", "TokensPrompt"]


@dataclass
class SamplingParams:
    """The sampling parameters biohub sets (vLLM's names and defaults)."""

    temperature: float = 1.0
    max_tokens: int | None = 16
    prompt_logprobs: int | None = None
    detokenize: bool = True
    stop_token_ids: list[int] | None = None
    repetition_penalty: float = 1.0


class TokensPrompt(TypedDict):
    """A prompt given as token ids (vLLM's ``TokensPrompt``)."""

    prompt_token_ids: list[int]


@dataclass
class Logprob:
    """A token's log-probability and its rank among the vocabulary (vLLM's ``Logprob``)."""

    logprob: float
    rank: int | None = None
    decoded_token: str | None = None


@dataclass
class CompletionOutput:
    """One completion (vLLM's ``CompletionOutput``)."""

    index: int
    text: str
    token_ids: list[int]


@dataclass
class RequestOutput:
    """One request's output (vLLM's ``RequestOutput``): ``prompt_logprobs`` is None, or per prompt position None (the
    first) or a dict token id -> Logprob holding the prompt's own token and the ``prompt_logprobs`` most likely ones."""

    prompt_token_ids: list[int]
    prompt_logprobs: list[dict[int, Logprob] | None] | None
    outputs: list[CompletionOutput] = field(default_factory=list)


class LLM:
    """Greedy generation and prompt log-probabilities with transformers, one prompt at a time, in float32."""

    def __init__(
        self, model: str, tokenizer: str | None = None, tensor_parallel_size: int = 1, gpu_memory_utilization: float = 0.9,
        trust_remote_code: bool = False, seed: int = 0, max_model_len: int | None = None, enable_lora: bool = False,
        max_lora_rank: int = 16, enable_prefix_caching: bool | None = None,
    ) -> None:  # fmt: skip
        if trust_remote_code:
            raise ValueError("the stand-in never runs remote code")
        if enable_lora and max_lora_rank not in (8, 16, 32, 64, 128, 256, 320, 512):  # as vLLM's LoRAConfig refuses it
            raise ValueError(f"max_lora_rank ({max_lora_rank}) must be one of (8, 16, 32, 64, 128, 256, 320, 512)")
        if os.environ.get("CUDA_VISIBLE_DEVICES") == os.environ.get("FAKE_VLLM_FAIL_ON", "-"):
            raise RuntimeError(f"engine start failed on GPU(s) {os.environ['CUDA_VISIBLE_DEVICES']} (FAKE_VLLM_FAIL_ON)")
        self.path, self.enable_lora, self.max_lora_rank = model, enable_lora, max_lora_rank
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer or model)
        self.model = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32).eval()
        self.adapters: dict[int, Any] = {}
        log = os.environ.get("FAKE_VLLM_LOG")
        if log:
            line = {
                "pid": os.getpid(), "devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "model": model,
                "tensor_parallel_size": tensor_parallel_size, "enable_lora": enable_lora, "max_lora_rank": max_lora_rank,
                "enable_prefix_caching": enable_prefix_caching,
            }  # fmt: skip
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(line) + "\n")

    def _model(self, lora: LoRARequest | None) -> Any:
        """The base model, or the base with ``lora``'s adapter as separate layers (as vLLM serves it: not merged)."""
        if lora is None:
            return self.model
        if not self.enable_lora:
            raise ValueError("LoRA is not enabled (enable_lora=False)")
        if lora.lora_int_id not in self.adapters:
            from peft import LoraConfig, PeftModel

            config = LoraConfig.from_pretrained(lora.lora_path)
            if config.r > self.max_lora_rank:
                raise ValueError(f"LoRA rank {config.r} is greater than max_lora_rank {self.max_lora_rank}")
            base = AutoModelForCausalLM.from_pretrained(self.path, dtype=torch.float32)
            self.adapters[lora.lora_int_id] = PeftModel.from_pretrained(base, lora.lora_path).eval()
        return self.adapters[lora.lora_int_id]

    def _complete(self, model: Any, ids: list[int], params: SamplingParams) -> CompletionOutput:
        """Greedy new tokens after ``ids``, up to ``params.max_tokens``, the end-of-sequence token or a stop token
        (kept in the token ids, left out of the text); the model's own generation config does not apply (vLLM uses
        the ``SamplingParams`` given)."""
        if params.temperature != 0.0:
            raise ValueError("the stand-in decodes greedily only (temperature 0)")
        with torch.inference_mode():
            out = model.generate(
                torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long), do_sample=False,
                max_new_tokens=params.max_tokens, pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
                eos_token_id=sorted({self.tokenizer.eos_token_id, *(params.stop_token_ids or [])}),
                repetition_penalty=params.repetition_penalty, no_repeat_ngram_size=0,  # only what the params say, as vLLM
            )  # fmt: skip
        new = [int(token) for token in out[0, len(ids) :]]
        text = self.tokenizer.decode(new, skip_special_tokens=True) if params.detokenize else ""
        return CompletionOutput(0, text, new)

    def _prompt_logprobs(self, model: Any, ids: list[int], top: int) -> list[dict[int, Logprob] | None]:
        """Per position the prompt token's log-probability (with its rank) and the ``top`` most likely tokens'."""
        with torch.inference_mode():
            logprobs = torch.log_softmax(model(torch.tensor([ids])).logits[0, :-1].float(), dim=-1)
        tokens = torch.tensor(ids[1:])
        own = logprobs.gather(1, tokens[:, None])[:, 0]
        ranks = (logprobs > own[:, None]).sum(dim=1) + 1
        best = torch.topk(logprobs, top, dim=1) if top > 0 else None
        found: list[dict[int, Logprob] | None] = [None]
        for position, token in enumerate(ids[1:]):
            entry = {}
            if best is not None:
                pairs = zip(best.indices[position].tolist(), best.values[position].tolist())
                entry = {int(t): Logprob(float(v), rank + 1) for rank, (t, v) in enumerate(pairs)}
            entry.setdefault(token, Logprob(float(own[position]), int(ranks[position])))
            found.append(entry)
        return found

    def generate(
        self, prompts: list[TokensPrompt], sampling_params: SamplingParams | list[SamplingParams] | None = None,
        use_tqdm: bool = True, lora_request: LoRARequest | None = None,
    ) -> list[RequestOutput]:  # fmt: skip
        """Complete each token prompt (and give its prompt log-probabilities when asked)."""
        model = self._model(lora_request)
        params = sampling_params if isinstance(sampling_params, list) else [sampling_params or SamplingParams()] * len(prompts)
        outputs = []
        for prompt, setting in zip(prompts, params, strict=True):
            ids = list(prompt["prompt_token_ids"])
            found = None if setting.prompt_logprobs is None else self._prompt_logprobs(model, ids, setting.prompt_logprobs)
            outputs.append(RequestOutput(ids, found, [self._complete(model, ids, setting)]))
        return outputs

    def chat(
        self, messages: list[list[dict[str, str]]], sampling_params: SamplingParams | list[SamplingParams] | None = None,
        use_tqdm: bool = True, lora_request: LoRARequest | None = None, chat_template: str | None = None,
        add_generation_prompt: bool = True,
    ) -> list[RequestOutput]:  # fmt: skip
        """Render each conversation with ``chat_template`` (no special tokens added after), then complete it."""
        prompts: list[TokensPrompt] = []
        for conversation in messages:
            text = self.tokenizer.apply_chat_template(
                conversation, chat_template=chat_template, add_generation_prompt=add_generation_prompt, tokenize=False
            )
            prompts.append(TokensPrompt(prompt_token_ids=self.tokenizer.encode(text, add_special_tokens=False)))
        return self.generate(prompts, sampling_params, use_tqdm, lora_request)
