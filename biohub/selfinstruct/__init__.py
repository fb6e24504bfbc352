"""``biohub selfinstruct``: grow a seed file of biomedical instruction tasks with a generator model (Self-Instruct).

* :mod:`~biohub.selfinstruct.tasks`: tasks, the request prompt, parsing generations, filters and categories
  (prompts, filter settings and category rules are data in ``data/*.yaml``; shipped seeds in ``data/seeds.jsonl``);
* :mod:`~biohub.selfinstruct.similarity`: the ROUGE-L novelty filter;
* :mod:`~biohub.selfinstruct.generators`: a local transformers model or an OpenAI-compatible endpoint;
* :mod:`~biohub.selfinstruct.pipeline`: the resumable generate -> parse -> filter -> categorise loop and its outputs
  (``instructions.json``, ledger, catalog entry and build recipe, card).

Nothing is imported here, so importing one submodule does not load the others.
"""

__all__ = ["generators", "pipeline", "similarity", "tasks"]
