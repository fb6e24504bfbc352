"""Two-stage supervised fine-tuning. Filled in by the training issue."""
