"""``load_model`` where the model cards written by ``biohub train`` tell readers to import it from.

Every card's "Load it with" block says ``from biohub.training.models import load_model``; the loader itself lives in
:mod:`biohub.models`, the model layer below every stage. Code inside biohub imports it from there.
"""

from __future__ import annotations

from biohub.models import load_model

__all__ = ["load_model"]
