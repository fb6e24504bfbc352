"""A LoRA adapter request (vLLM's ``LoRARequest``): a name, a positive integer id and the adapter's folder."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoRARequest:
    """Which adapter a request runs with."""

    lora_name: str
    lora_int_id: int
    lora_path: str = ""
