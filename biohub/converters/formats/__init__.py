"""Format readers, one module per source format, each registering its :class:`~biohub.converters.base.Reader`
subclass with ``@register``. Nothing is imported here: :mod:`biohub.converters.registry` imports every module of
this package on first look-up, so a new format is one new module."""

__all__ = [
    "alpaca",
    "bioasq",
    "bioc",
    "biosses_docx",
    "brat",
    "cblue",
    "cblue_norm_events",
    "chemprot_tsv",
    "cmb_clin",
    "cmdd",
    "conll",
    "csv_table",
    "ddi_xml",
    "diakg",
    "dialogue_json",
    "hoc",
    "marked_re",
    "mcqa_jsonl",
    "mention_jsonl",
    "promptcblue",
    "pubmedqa",
    "pubtator",
    "squad",
    "taiyi_jsonl",
    "text2dt",
]
