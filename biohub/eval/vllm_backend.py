"""``biohub eval --backend vllm``: greedy generation with vLLM's offline engine (``pip install biohub[vllm]``, a CUDA
GPU), the same requests, token budgets, raw-output file and resume as the ``hf`` backend.

- the model: a folder or Hub id as vLLM reads it; ``default`` and ``.gguf`` files through biohub's plain fp32 copy
  (:func:`biohub.models.plain_model_source`), so vLLM sees a normal model folder;
- the prompt: the conversation through ``LLM.chat`` with biohub's chat template (the tokenizer's own, or the ChatML
  fallback of :func:`biohub.models.ensure_chat_template`), as the ``hf`` backend renders it;
- greedy (temperature 0), each request's own ``max_tokens``; ``trust_remote_code`` off;
- ``--tensor-parallel-size T`` splits the model over T GPUs (vLLM's ``tensor_parallel_size``);
  ``--data-parallel-size D`` runs D engine replicas, each in its own process on its own T GPUs of the visible ones
  (``CUDA_VISIBLE_DEVICES`` set per replica), each answering every D-th pending request;
- ``--adapter``: a LoRA adapter through vLLM's LoRA support (``enable_lora``, a ``LoRARequest``; ``max_lora_rank``
  read from the adapter's ``adapter_config.json``), not merged.

Answers are appended to ``raw_outputs.jsonl`` after each chunk of :data:`CHUNK` requests, so a killed run loses at most
a chunk per replica. Not run on the development machine (no GPU, no vLLM wheel for its CPU); the ``gpu``-marked test
compares its answers with the ``hf`` backend's where both are available.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biohub.eval.generate import Request, read_done
from biohub.eval.score import EvalError
from biohub.io import append_jsonl

__all__ = ["CHUNK", "VllmOptions", "generate_vllm"]

CHUNK = 256  # requests per llm.chat call (and per append to raw_outputs.jsonl)


@dataclass(frozen=True, slots=True)
class VllmOptions:
    """How vLLM runs: GPUs per replica (tensor parallel), replicas (data parallel), and the engine's memory share and
    context length (None: the model's)."""

    tensor_parallel_size: int = 1
    data_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None


def _lora_rank(adapter: str) -> int:
    """The adapter's rank (``r`` of ``adapter_config.json``; 16 when the file does not say)."""
    config = Path(adapter) / "adapter_config.json"
    if config.is_file():
        return int(json.loads(config.read_text(encoding="utf-8")).get("r", 16))
    return 16


def _replica(model: str, adapter: str | None, requests: Sequence[Request], out: str, options: VllmOptions,
             chat_template: str, show_progress: bool) -> None:  # fmt: skip
    """One engine replica answering ``requests`` into ``out`` (chunk by chunk)."""
    from vllm import LLM, SamplingParams
    from vllm.lora.request import LoRARequest

    engine_options: dict[str, Any] = {
        "model": model, "tokenizer": model, "tensor_parallel_size": options.tensor_parallel_size,
        "gpu_memory_utilization": options.gpu_memory_utilization, "trust_remote_code": False, "seed": 0,
    }  # fmt: skip
    if options.max_model_len is not None:
        engine_options["max_model_len"] = options.max_model_len
    if adapter is not None:
        engine_options |= {"enable_lora": True, "max_lora_rank": _lora_rank(adapter)}
    llm = LLM(**engine_options)
    lora = LoRARequest("adapter", 1, adapter) if adapter is not None else None
    for start in range(0, len(requests), CHUNK):
        chunk = list(requests[start : start + CHUNK])
        params = [SamplingParams(temperature=0.0, max_tokens=request.max_new_tokens) for request in chunk]
        answers = llm.chat(
            [request.messages for request in chunk], sampling_params=params, use_tqdm=show_progress, lora_request=lora,
            chat_template=chat_template, add_generation_prompt=True,
        )  # fmt: skip
        rows = []
        for request, answer in zip(chunk, answers):
            completion = answer.outputs[0]
            rows.append({"id": request.id, "output": completion.text, "new_tokens": len(completion.token_ids)})
        append_jsonl(Path(out), rows)


def _replica_process(devices: str, *arguments: Any) -> None:
    """A data-parallel replica in its own process, on ``devices`` (a ``CUDA_VISIBLE_DEVICES`` value)."""
    os.environ["CUDA_VISIBLE_DEVICES"] = devices
    _replica(*arguments)


def generate_vllm(
    model_spec: str, adapter: str | None, requests: Sequence[Request], out: Path, options: VllmOptions, *,
    show_progress: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Answer every request not yet in ``out`` with vLLM (module doc); counts and timing as the ``hf`` backend's."""
    import time

    try:
        import vllm  # noqa: F401
    except ImportError:
        raise EvalError("--backend vllm needs vLLM (pip install 'biohub[vllm]') and a CUDA GPU") from None
    import torch

    from biohub.models import ensure_chat_template, load_tokenizer, plain_model_source

    gpus = torch.cuda.device_count()
    wanted = options.tensor_parallel_size * options.data_parallel_size
    if gpus < wanted:
        raise EvalError(f"--backend vllm: {wanted} GPUs asked (tensor x data parallel), {gpus} visible")
    done = read_done(out)
    todo = [request for request in requests if request.id not in done]
    model = plain_model_source(model_spec)
    chat_template = str(ensure_chat_template(load_tokenizer(model)).chat_template)
    started = time.perf_counter()
    if todo and options.data_parallel_size == 1:
        _replica(model, adapter, todo, str(out), options, chat_template, show_progress)
    elif todo:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", ",".join(str(i) for i in range(gpus))).split(",")
        context = multiprocessing.get_context("spawn")  # CUDA cannot be forked
        workers = []
        for replica in range(options.data_parallel_size):
            size = options.tensor_parallel_size
            devices = ",".join(visible[replica * size : (replica + 1) * size])
            shard = out.with_name(f"{out.stem}.replica{replica}.jsonl")
            arguments = (model, adapter, todo[replica :: options.data_parallel_size], str(shard), options, chat_template, False)
            worker = context.Process(target=_replica_process, args=(devices, *arguments))
            worker.start()
            workers.append((worker, shard))
        failed = []
        for worker, shard in workers:
            worker.join()
            if shard.is_file():  # whatever a replica answered is kept, even when another failed
                append_jsonl(out, list(read_done(shard).values()))
                shard.unlink()
            if worker.exitcode != 0:
                failed.append(worker.exitcode)
        if failed:
            raise EvalError(f"--backend vllm: {len(failed)} replica(s) failed (exit codes {failed}); answers kept in {out}")
    new_tokens = sum(int(row.get("new_tokens") or 0) for key, row in read_done(out).items() if key not in done)
    return {"generated": len(todo), "reused": len(requests) - len(todo), "new_tokens": new_tokens,
            "seconds": time.perf_counter() - started}  # fmt: skip
