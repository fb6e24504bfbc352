"""Hub dataset repositories: recipe -> mixed, decontaminated repository folder + card -> exports -> push.

* :mod:`~biohub.hub.recipe`: build recipes (YAML data: datasets, splits, caps, stages, mixing, decontamination);
* :mod:`~biohub.hub.build` / :mod:`~biohub.hub.prepare`: ``biohub build`` (each dataset converted and instructed,
  then decontaminated, mixed and written as Hub configs) with :mod:`~biohub.hub.decontam`,
  :mod:`~biohub.hub.mix`, :mod:`~biohub.hub.shards` and the card of :mod:`~biohub.hub.card`;
* :mod:`~biohub.hub.export` / :mod:`~biohub.hub.lm_eval_export`: ``biohub export`` (alpaca, sharegpt, messages
  with the training chat template of :mod:`~biohub.hub.chat_template`, lm-eval tasks);
* :mod:`~biohub.hub.push`: ``biohub push`` (one commit, or none when nothing changed).

Nothing is imported here, so importing one submodule does not load the others.
"""

__all__ = [
    "build",
    "card",
    "chat_template",
    "decontam",
    "export",
    "lm_eval_export",
    "mix",
    "prepare",
    "push",
    "recipe",
    "shards",
]
