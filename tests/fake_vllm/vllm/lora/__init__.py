"""The stand-in's LoRA requests (``tests/fake_vllm/README.md``)."""
