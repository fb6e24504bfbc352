"""Instruction templates (data files), rendering and answer parsing. Filled in by the templates issue."""
