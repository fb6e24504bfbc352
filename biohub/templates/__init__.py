"""Instruction templates: task families as data, task instances, answer rendering and parsing, and the instruct step.

Everything biohub knows about a task family lives in its file ``data/families/<family>.yaml`` (templates per
language, answer kind and format hints, instruct rules, hub stage and card category, scorer, metrics, headline,
report group and generation budget), loaded and checked by :mod:`~biohub.templates.library`; label display names
live in ``data/labels/<dataset>.yaml``. The submodules:

* :mod:`~biohub.templates.registry`: answer kinds, scorers and the closed vocabularies a family file may name;
* :mod:`~biohub.templates.answers` / :mod:`~biohub.templates.escape`: rendering and parsing answers per format
  (:mod:`~biohub.templates.answers_ranking`: the ``ranking`` kind of answer selection;
  :mod:`~biohub.templates.answers_events` and :mod:`~biohub.templates.answers_tree`: the event and decision-tree
  kinds, their keywords in :mod:`~biohub.templates.answer_words`);
* :mod:`~biohub.templates.tasks`: the task instances of a unified record;
* :mod:`~biohub.templates.example` / :mod:`~biohub.templates.builder`: the chat example made from an instance;
* :mod:`~biohub.templates.instruct` / :mod:`~biohub.templates.length`: ``biohub instruct`` and its length policy;
* :mod:`~biohub.templates.check`: ``biohub templates check`` (every template filled, every answer parsed back);
* :mod:`~biohub.templates.choice_docs`: closed-answer examples as option lists (lm-eval export, log-likelihood eval).

Nothing is imported here, so importing one submodule does not load the others.
"""

__all__ = [
    "answer_words", "answers", "answers_events", "answers_ranking", "answers_tree", "builder", "check", "choice_docs", "escape",
    "example", "instruct", "length", "library", "registry", "tasks",
]
