"""Evaluation: suites of report rows, batched greedy generation, lenient and strict parsing, metrics, results and reports.

* :mod:`~biohub.eval.suite`: suites (``suites/*.yaml``; ``all`` = every eval split of a hub folder) and headlines;
* :mod:`~biohub.eval.generate`: batched greedy generation, resumable from its JSONL file;
* :mod:`~biohub.eval.score` / :mod:`~biohub.eval.metrics`: outputs parsed by each example's own parser, scored by
  the scorer its task family names (:mod:`~biohub.eval.metrics_mt`: translation; :mod:`~biohub.eval.metrics_ranking`:
  answer selection; :mod:`~biohub.eval.metrics_events`: event extraction; :mod:`~biohub.eval.metrics_tree`: Text2DT
  decision trees; :mod:`~biohub.eval.variants`: the named NER/RE metric variants, one registry);
* :mod:`~biohub.eval.resample`: bootstrap intervals of each row's headline and of the averages;
* :mod:`~biohub.eval.paired`: paired comparisons of two runs row by row (Δ interval, McNemar or bootstrap p, Holm);
* :mod:`~biohub.eval.sampling`: the ``--limit`` sample, stratified by gold label where examples carry one;
* :mod:`~biohub.eval.loglik` / :mod:`~biohub.eval.calibration`: the log-likelihood protocol of closed-answer rows
  (``biohub eval --protocol loglik|both``, lm-eval's ``acc`` / ``acc_norm``) and its calibration figures;
* :mod:`~biohub.eval.run`: ``biohub eval`` and ``biohub score`` (``results.json``, ``generations.jsonl``,
  ``samples.jsonl``);
* :mod:`~biohub.eval.report`: ``biohub report`` (Markdown, HTML and a bar chart over runs);
* :mod:`~biohub.eval.lm_eval_hooks`: the task class of a ``biohub export --format lm-eval`` folder.

Nothing is imported here, so ``biohub --help`` does not load the evaluation stack.
"""

__all__ = [
    "calibration", "generate", "lm_eval_hooks", "loglik", "metrics", "metrics_events", "metrics_mt", "metrics_ranking",
    "metrics_tree", "paired", "report", "resample", "run", "sampling", "score", "suite", "variants",
]
