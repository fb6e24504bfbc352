"""``biohub eval --backend vllm``: vLLM's offline engine (``pip install biohub[vllm]``, a CUDA GPU) for both
protocols, with the same requests, token budgets, raw-output file and resume as the ``hf`` backend.

- the model: a folder or Hub id as vLLM reads it; ``default`` and ``.gguf`` files through biohub's plain fp32 copy
  (:func:`biohub.models.plain_model_source`), so vLLM sees a normal model folder;
- ``generate``: the conversation through ``LLM.chat`` with biohub's chat template (the tokenizer's own, or the ChatML
  fallback of :func:`biohub.models.ensure_chat_template`), as the ``hf`` backend renders it; greedy (temperature 0),
  each request's own ``max_tokens``, ended where the ``hf`` backend ends an answer (``stop_token_ids``: the model's
  and tokenizer's end-of-sequence tokens and ChatML's end of turn, :func:`biohub.eval.generate.eos_ids`), with the
  ``repetition_penalty`` of the model's generation config, which transformers' ``generate`` applies to greedy
  decoding too (vLLM applies only what ``SamplingParams`` says);
  ``trust_remote_code`` off;
- ``loglik``: every ``context + option`` token sequence (tokenized by :mod:`biohub.eval.loglik`, as for ``hf``) sent
  through ``LLM.generate`` as a ``TokensPrompt`` with ``prompt_logprobs`` (one new token, not decoded), as lm-eval's
  vLLM backend scores log-likelihoods; each position's value is the log-probability of the prompt's own token there
  (:func:`prompt_token_logprobs`). The scoring engine runs without prefix caching: vLLM does not cache prompt
  log-probabilities, and with the cache on, early vLLM V1 releases refused such requests (vLLM issue 13409, until
  PR 13949) and later ones were reported to return values that depend on request order (vLLM issue 42019);
- ``--tensor-parallel-size T`` splits the model over T GPUs (vLLM's ``tensor_parallel_size``);
  ``--data-parallel-size D`` runs D engine replicas, each on its own T GPUs of the visible ones
  (``CUDA_VISIBLE_DEVICES`` set per replica), each answering every D-th pending request;
- ``--adapter``: generation runs it through vLLM's LoRA support (``enable_lora``, a ``LoRARequest``;
  ``max_lora_rank`` the adapter's rank from ``adapter_config.json``, rounded up to a value vLLM accepts:
  :func:`lora_rank_limit`), not merged; scoring runs the adapter merged into a plain copy of the base
  (:func:`biohub.models.merged_model_source`, made once per model and adapter), since LoRA with prompt
  log-probabilities has been refused or wrong in vLLM V1 (vLLM issues 16576, 16668, 29955, 51594).

Every engine runs in a process of its own (spawned: CUDA cannot be forked), so its GPU memory is free again when the
job ends: ``--protocol both`` runs a generation engine, then a scoring one. Every replica appends its answers to
``raw_outputs.jsonl`` itself (under a file lock) after each chunk of :data:`CHUNK` requests, so a killed run loses
at most a chunk per replica, and the next run's settings and weights checks see every answer kept.

Not run on the development machine (no GPU, no vLLM wheel for its CPU): the CPU tests drive this module through a
stand-in ``vllm`` package with vLLM's interface over transformers (``tests/fake_vllm``); the ``gpu``-marked tests
compare the real engine's answers and log-likelihoods with the ``hf`` backend's where both are available.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from biohub.eval.generate import Request, eos_ids, read_done
from biohub.eval.score import EvalError
from biohub.io import append_jsonl, read_jsonl_rows

__all__ = [
    "CHUNK", "LORA_RANKS", "VllmOptions", "generate_vllm", "lora_rank_limit", "prompt_logprobs_vllm",
    "prompt_token_logprobs", "require_vllm", "visible_gpus",
]  # fmt: skip

CHUNK = 256  # requests per engine call (and per append to the output file)
MISSING = "--backend vllm needs vLLM (pip install 'biohub[vllm]') and a CUDA GPU"
LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)  # the max_lora_rank values every vLLM >= 0.8 accepts


@dataclass(frozen=True, slots=True)
class VllmOptions:
    """How vLLM runs: GPUs per replica (tensor parallel), replicas (data parallel), and the engine's memory share and
    context length (None: the model's)."""

    tensor_parallel_size: int = 1
    data_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None


@dataclass(frozen=True, slots=True)
class _Job:
    """What one replica does: ``kind`` ``generate`` (``items``: requests) or ``score`` (``items``: (index, token ids)
    pairs), appending its rows to ``out``."""

    kind: str
    model: str
    adapter: str | None
    items: Sequence[Any]
    out: str
    options: VllmOptions
    chat_template: str
    show_progress: bool
    stop_ids: tuple[int, ...] = ()
    repetition_penalty: float = 1.0


def lora_rank_limit(adapter: str) -> int:
    """vLLM's ``max_lora_rank`` for the adapter: the smallest of :data:`LORA_RANKS` (the values vLLM accepts) at
    least its rank (``r`` of ``adapter_config.json``; 16 when the file does not say)."""
    config = Path(adapter) / "adapter_config.json"
    rank = int(json.loads(config.read_text(encoding="utf-8")).get("r", 16)) if config.is_file() else 16
    for limit in LORA_RANKS:
        if rank <= limit:
            return limit
    raise EvalError(f"{adapter}: LoRA rank {rank} is above vLLM's largest max_lora_rank ({LORA_RANKS[-1]})")


def prompt_token_logprobs(token_ids: Sequence[int], found: Sequence[Any]) -> list[float | None]:
    """The log-probability of each prompt token given the ones before it, from vLLM's ``RequestOutput.prompt_logprobs``
    (per position None or a dict token id -> ``Logprob``, whose ``.logprob`` is the value; older vLLM: a float):
    None at the first position, where nothing precedes it."""
    if len(found) != len(token_ids):
        raise EvalError(f"--backend vllm returned {len(found)} prompt log-probabilities for {len(token_ids)} tokens")
    values: list[float | None] = []
    for token, entry in zip(token_ids, found):
        value = None if entry is None else entry.get(token)
        values.append(None if value is None else float(getattr(value, "logprob", value)))
    return values


def _replica(job: _Job) -> None:
    """One engine replica doing ``job`` chunk by chunk."""
    from vllm import LLM, SamplingParams, TokensPrompt
    from vllm.lora.request import LoRARequest

    options = job.options
    engine_options: dict[str, Any] = {
        "model": job.model, "tokenizer": job.model, "tensor_parallel_size": options.tensor_parallel_size,
        "gpu_memory_utilization": options.gpu_memory_utilization, "trust_remote_code": False, "seed": 0,
    }  # fmt: skip
    if options.max_model_len is not None:
        engine_options["max_model_len"] = options.max_model_len
    if job.adapter is not None:
        engine_options |= {"enable_lora": True, "max_lora_rank": lora_rank_limit(job.adapter)}
    if job.kind == "score":  # prompt log-probabilities and the prefix cache: module doc
        engine_options["enable_prefix_caching"] = False
    llm = LLM(**engine_options)
    lora = LoRARequest("adapter", 1, job.adapter) if job.adapter is not None else None
    for start in range(0, len(job.items), CHUNK):
        chunk = list(job.items[start : start + CHUNK])
        rows = []
        if job.kind == "generate":
            params = [
                SamplingParams(
                    temperature=0.0, max_tokens=request.max_new_tokens, stop_token_ids=list(job.stop_ids),
                    repetition_penalty=job.repetition_penalty,
                )  # fmt: skip
                for request in chunk
            ]
            answers = llm.chat(
                [request.messages for request in chunk], sampling_params=params, use_tqdm=job.show_progress,
                lora_request=lora, chat_template=job.chat_template, add_generation_prompt=True,
            )  # fmt: skip
            for request, answer in zip(chunk, answers):
                completion = answer.outputs[0]
                ids = list(completion.token_ids)
                count = len(ids) - (1 if ids and ids[-1] in job.stop_ids else 0)  # the end token is not counted, as on hf
                rows.append({"id": request.id, "output": completion.text, "new_tokens": count})
        else:
            prompts = [TokensPrompt(prompt_token_ids=list(ids)) for _, ids in chunk]
            scoring = SamplingParams(temperature=0.0, max_tokens=1, prompt_logprobs=1, detokenize=False)
            outputs = llm.generate(prompts, sampling_params=scoring, use_tqdm=job.show_progress, lora_request=lora)
            for (index, ids), output in zip(chunk, outputs):
                rows.append({"index": index, "logprobs": prompt_token_logprobs(ids, output.prompt_logprobs)})
        _append_locked(Path(job.out), rows)


def _start_on(worker: Any, devices: str) -> None:
    """Start ``worker`` with ``CUDA_VISIBLE_DEVICES=devices`` in the environment it is spawned with (so that no import
    in it can see another GPU first); this process's own value is put back."""
    previous = os.environ.get("CUDA_VISIBLE_DEVICES")
    os.environ["CUDA_VISIBLE_DEVICES"] = devices
    try:
        worker.start()
    finally:
        if previous is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = previous


def visible_gpus(options: VllmOptions) -> list[str]:
    """The visible GPUs (``CUDA_VISIBLE_DEVICES``, else all), refused when fewer than the replicas need."""
    import torch

    gpus = torch.cuda.device_count()
    wanted = options.tensor_parallel_size * options.data_parallel_size
    if gpus < wanted:
        raise EvalError(f"--backend vllm: {wanted} GPUs asked (tensor x data parallel), {gpus} visible")
    return os.environ.get("CUDA_VISIBLE_DEVICES", ",".join(str(i) for i in range(gpus))).split(",")


def _run_replicas(job: _Job) -> None:
    """``job`` over ``options.data_parallel_size`` replicas (D), each in its own process with its share of the items
    (every D-th), all appending to ``job.out`` (under a lock: :func:`_append_locked`), so whatever any replica wrote
    is there, also after a kill. A failed replica fails the job once all have ended; if this process is stopped
    (Ctrl-C, an error), the replicas still running are terminated, not left holding their GPUs."""
    visible = visible_gpus(job.options)
    size, replicas = job.options.tensor_parallel_size, job.options.data_parallel_size
    context = multiprocessing.get_context("spawn")  # CUDA cannot be forked
    workers = []
    try:
        for replica in range(min(replicas, len(job.items))):  # (no engine for a replica without items)
            share = list(job.items[replica::replicas])
            part = replace(job, items=share, show_progress=job.show_progress and replicas == 1)
            devices = ",".join(visible[replica * size : (replica + 1) * size])
            worker = context.Process(target=_replica, args=(part,))
            _start_on(worker, devices)
            workers.append(worker)
        for worker in workers:
            worker.join()
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join()
    failed = [worker.exitcode for worker in workers if worker.exitcode != 0]
    if failed:
        kept = f"; the answers so far are kept in {job.out}: the same command generates only the rest"
        raise EvalError(
            f"--backend vllm: {len(failed)} replica(s) failed (exit codes {failed}; the replica's error is printed "
            f"above){kept if job.kind == 'generate' else ''}"
        )


def _append_locked(path: Path, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` to ``path`` holding an exclusive lock on it (``flock``), so that replicas appending to one file
    never interleave their lines."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            append_jsonl(path, rows)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def require_vllm() -> None:
    """Refuse to start without vLLM (:class:`EvalError`)."""
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        raise EvalError(MISSING)


def generate_vllm(
    model_spec: str, adapter: str | None, requests: Sequence[Request], out: Path, options: VllmOptions, *,
    show_progress: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Answer every request not yet in ``out`` with vLLM (module doc); counts and timing as the ``hf`` backend's."""
    require_vllm()
    from biohub.models import ensure_chat_template, load_tokenizer, plain_model_source

    visible_gpus(options)
    done = read_done(out)
    todo = [request for request in requests if request.id not in done]
    model = plain_model_source(model_spec)
    tokenizer = ensure_chat_template(load_tokenizer(model))
    config = _generation_config(model)
    stop = tuple(eos_ids(config, tokenizer))  # where the hf backend ends an answer
    penalty = float(getattr(config, "repetition_penalty", None) or 1.0)  # which the hf backend's generate applies
    started = time.perf_counter()
    if todo:
        found = tokenizer.chat_template
        template = str(found.get("default", next(iter(found.values()))) if isinstance(found, dict) else found)
        job = _Job("generate", model, adapter, todo, str(out), options, template, show_progress, stop, penalty)
        _run_replicas(job)
    new_tokens = sum(int(row.get("new_tokens") or 0) for key, row in read_done(out).items() if key not in done)
    return {"generated": len(todo), "reused": len(requests) - len(todo), "new_tokens": new_tokens,
            "seconds": time.perf_counter() - started}  # fmt: skip


def _generation_config(model: str) -> Any:
    """The model's generation config as transformers reads it for ``generate``: ``generation_config.json``, else the
    one made from ``config.json`` (its end-of-sequence tokens); None where neither can be read."""
    from transformers import AutoConfig, GenerationConfig

    try:
        return GenerationConfig.from_pretrained(model)
    except OSError:
        pass
    try:
        return GenerationConfig.from_model_config(AutoConfig.from_pretrained(model, trust_remote_code=False))
    except (OSError, ValueError):
        return None


def prompt_logprobs_vllm(
    model_spec: str, adapter: str | None, prompts: Sequence[Sequence[int]], options: VllmOptions, *,
    show_progress: bool = True,
) -> list[list[float | None]]:  # fmt: skip
    """Each prompt token's log-probability given the tokens before it (None at the first), for every prompt of
    token ids, from vLLM's prompt log-probabilities (module doc); the rows pass through a temporary file. An
    ``adapter`` is scored merged into the base weights (:func:`biohub.models.merged_model_source`), not through
    vLLM's LoRA: LoRA with prompt log-probabilities has been refused or wrong in vLLM V1 (vLLM issues 16576, 16668,
    29955, 51594)."""
    require_vllm()
    from biohub.models import merged_model_source, plain_model_source

    visible_gpus(options)
    model = merged_model_source(model_spec, adapter) if adapter is not None else plain_model_source(model_spec)
    with tempfile.TemporaryDirectory(prefix="biohub-vllm-") as folder:
        out = Path(folder) / "prompt_logprobs.jsonl"
        job = _Job("score", model, None, [(i, list(ids)) for i, ids in enumerate(prompts)], str(out), options, "",
                   show_progress)  # fmt: skip
        _run_replicas(job)
        found = {int(row["index"]): row["logprobs"] for row in read_jsonl_rows(out)}
    if len(found) != len(prompts):
        raise EvalError(f"--backend vllm scored {len(found)} of {len(prompts)} prompts")
    return [found[i] for i in range(len(prompts))]
