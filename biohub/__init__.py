"""biohub: bilingual (English + Chinese) biomedical instruction tuning, from original corpora to reports.

The stages, one subpackage each, in pipeline order: ``converters`` (original formats -> unified records),
``templates`` (records -> EN/ZH instruction examples), ``hub`` (recipes -> a Hugging Face dataset repository folder,
exports, push), then ``training`` and ``eval`` side by side, and ``selfinstruct`` (new instructions from a model).
Below every stage sit the shared modules ``errors``, ``schema``, ``io``, ``typed``, ``models``, ``chat_client`` and
``text``; ``cli`` is the ``biohub`` command over all of them. Nothing is imported here, so ``import biohub`` stays instant.
"""

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "chat_client",
    "cli",
    "converters",
    "errors",
    "eval",
    "hub",
    "io",
    "models",
    "schema",
    "selfinstruct",
    "templates",
    "text",
    "training",
    "typed",
]
