"""biohub: bilingual (English + Chinese) biomedical instruction tuning, from original corpora to reports."""

__version__ = "0.1.0"
