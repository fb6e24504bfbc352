"""Generation, parsing, metrics and reports. Filled in by the evaluation issue."""
