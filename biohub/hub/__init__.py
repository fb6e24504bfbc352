"""Hub dataset building, decontamination, export and publishing. Filled in by the hub issue."""
