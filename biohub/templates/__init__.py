"""Instruction templates (data files), task instances, rendering and parsing of answers, and the instruct step."""
