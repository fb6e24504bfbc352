"""Supervised fine-tuning behind ``biohub train``: a recipe's stages run in order, each from the previous one's result.

``recipe`` (training recipes as validated YAML, ``--set`` overrides), ``data`` (hub configs -> tokenized, packed rows
-> per-rank batches), ``tokenize`` (chat template; loss on assistant tokens only), ``packing``, ``loss`` (logits only
where a target is predicted), ``methods`` (LoRA, QLoRA, full fine-tuning; model cards), ``loop`` (one stage on
accelerate), ``checkpoint`` (exact resume), ``memory``, ``plot`` (loss curves) and ``run`` (the runner, :func:`train`).
``models`` only keeps the import path the model cards show (``load_model`` lives in :mod:`biohub.models`).
Nothing is imported here: importing the package loads neither torch nor transformers.
"""

__all__ = [
    "checkpoint",
    "data",
    "loop",
    "loss",
    "memory",
    "methods",
    "models",
    "packing",
    "plot",
    "recipe",
    "run",
    "tokenize",
]
