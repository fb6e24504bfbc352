"""The lm-eval export scores what ``biohub score`` scores: ``lm_eval`` itself runs the exported tasks of every example
corpus (every task family in them), its logged generations go through ``biohub score``'s function, and every task's
metrics must be equal. Two models: a scripted one whose answers vary in layout the way real models' do (full-width
colons, a preamble line, a trailing explanation, no answer), and the tiny LLaMA through lm-eval's own HF backend.
The log-likelihood multiple-choice tasks beside them are run on the tiny LLaMA too (one per family and target
delimiter, the shortest), their ``acc`` / ``acc_norm`` checked against their option log-likelihoods, and those of
their first docs against log-likelihoods computed directly with transformers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from biohub.eval.lm_eval_hooks import aggregate, process_results, task_metrics
from biohub.hub.export import export
from tests.hub.test_export import make_hub

lm_eval = pytest.importorskip("lm_eval", reason="lm-eval is not importable (pip install biohub[export])", exc_type=ImportError)

ROOT = Path(__file__).resolve().parents[2]
EVERY_EXAMPLE_CORPUS = sorted(path.name for path in (ROOT / "examples" / "mirror").iterdir() if path.is_dir())


@pytest.fixture(scope="module")
def lm_eval_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    """(hub, export folder, export summary) over every example corpus."""
    root = tmp_path_factory.mktemp("lm-eval")
    hub = make_hub(root, EVERY_EXAMPLE_CORPUS)
    return hub, root / "out", export(hub, "lm-eval", root / "out")


@pytest.fixture(autouse=True)
def _private_datasets_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-datasets")


def scripted_output(doc: dict[str, Any]) -> str:
    """The reference answer laid out one of six ways, chosen by a hash of the doc id."""
    target = doc["target"]
    variant = int(hashlib.sha256(doc["id"].encode()).hexdigest(), 16) % 6
    return [
        target,
        target.replace(":", "：", 1),  # full-width colon, as Chinese-trained models write "Answer： A"
        "Let me read the question carefully.\n" + target,  # a preamble line
        target + ". The other options do not fit the findings.",  # an explanation after the answer
        "I am not sure.",  # no answer at all
        "",
    ][variant]


def run_lm_eval(model: Any, out: Path, tasks: list[str], **options: Any) -> dict[str, Any]:
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(out), include_defaults=False)
    return lm_eval.simple_evaluate(model=model, tasks=tasks, task_manager=manager, log_samples=True, bootstrap_iters=0, **options)


def biohub_scores(hub: Path, results: dict[str, Any], tmp_path: Path) -> dict[str, dict[str, Any]]:
    """``biohub score --suite all`` on lm-eval's logged generations: entry name -> results.json entry."""
    from biohub.eval.run import score_file
    from biohub.eval.suite import load_suite

    lines = [
        json.dumps({"id": sample["doc"]["id"], "output": sample["filtered_resps"][0]})
        for samples in results["samples"].values()
        for sample in samples
    ]
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    document = score_file(predictions, load_suite("all"), str(hub), tmp_path / "score")
    return {entry["name"]: entry for entry in document["entries"]}


def assert_same_scores(
    summary: dict[str, Any], results: dict[str, Any], scores: dict[str, dict[str, Any]], tasks: list[str]
) -> None:
    """Every lm-eval task's metrics equal biohub's row of the same dataset, split and family."""
    for name in tasks:
        task = summary["tasks"][name]
        dataset = task["config"].removesuffix("_instructions")
        base, language = f"{dataset}/{task['split']}", f"/{task['language']}" if "language" in task else ""
        entry = scores.get(base + language) or scores[f"{base}/{task['family']}{language}"]
        assert entry["tasks"] == [task["family"]] and entry["n"] == task["docs"] and entry["missing"] == 0, name
        reported = {key.removesuffix(",none"): value for key, value in results["results"][name].items() if key.endswith(",none")}
        metrics = [m for m in reported if not m.endswith("_stderr")]
        assert reported["headline"] == pytest.approx(entry["value"], abs=1e-12), name
        assert reported["parse_failure_rate"] == pytest.approx(entry["parse_failure_rate"], abs=1e-12), name
        for metric in set(metrics) - {"headline", "parse_failure_rate"}:
            assert reported[metric] == pytest.approx(entry["metrics"][metric], abs=1e-12), (name, metric)


# --------------------------------------------------------------------------------------------- lm_eval == biohub score
def test_every_task_family_of_the_example_corpora_is_exported(lm_eval_export) -> None:
    _, _, summary = lm_eval_export
    families = {task["family"] for task in summary["tasks"].values()}
    assert families >= {
        "ner", "re", "re_binary", "classification", "multilabel_classification", "pair_classification", "sts",
        "qa_multiple_choice", "qa_yesno", "qa_factoid", "qa_list", "qa_open_context", "dialogue", "instruction",
        # issue 21's families (summarization has no eval split among the example corpora)
        "nen", "dialogue_symptoms", "events", "coref", "entailment", "answer_selection", "decision_tree", "translation",
    }  # fmt: skip
    assert summary["skipped"] == {}


@pytest.mark.slow  # lm-eval's harness over every exported task (about 20 s)
def test_scripted_model_scores_equal_biohub_score_on_every_task(lm_eval_export, tmp_path: Path) -> None:
    from lm_eval.api.model import LM

    class ScriptedLM(LM):
        """Answers every request with a layout variant of the doc's reference answer."""

        def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
            return [scripted_output(request.doc) for request in requests]

        def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
            raise NotImplementedError("generation tasks only")

        def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
            raise NotImplementedError("generation tasks only")

    hub, out, summary = lm_eval_export
    tasks = sorted(summary["tasks"])
    results = run_lm_eval(ScriptedLM(), out, tasks)
    scores = biohub_scores(hub, results, tmp_path)
    assert_same_scores(summary, results, scores, tasks)
    headlines = [results["results"][name]["headline,none"] for name in tasks]
    assert 0 < min(headlines) or 0 < sum(headlines) < len(headlines)  # the variants give scores between 0 and 1
    failures = sum(results["results"][name]["parse_failure_rate,none"] * summary["tasks"][name]["docs"] for name in tasks)
    assert 0 < failures < summary["rows"]


@pytest.mark.slow
def test_tiny_model_through_lm_evals_hf_backend_scores_equal_biohub_score(
    lm_eval_export, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from lm_eval.models.huggingface import HFLM

    hub, out, summary = lm_eval_export
    tasks = ["biohub_cmexam", "biohub_gad", "biohub_medqa_usmle", "biohub_ncbi_disease", "biohub_pubmedqa"]
    model = HFLM(pretrained=str(tiny_model_dir), device="cpu", batch_size=8)
    results = run_lm_eval(model, out, tasks, apply_chat_template=True, gen_kwargs={"max_gen_toks": 8})
    sample = results["samples"]["biohub_medqa_usmle"][0]
    prompt = sample["arguments"][0][0] if isinstance(sample["arguments"][0], (list, tuple)) else sample["arguments"][0]
    assert sample["doc"]["prompt"] in prompt and prompt.endswith("<|im_start|>assistant\n")  # the chat template was applied
    assert_same_scores(summary, results, biohub_scores(hub, results, tmp_path), tasks)


# --------------------------------------------------------------------------------------------- log-likelihood tasks
def direct_logliks(model: Any, tokenizer: Any, doc: dict[str, Any], delimiter: str) -> list[float]:
    """Each option's summed log-likelihood, computed with transformers alone: the chat-templated system and user
    messages, the assistant turn opened by the answer keyword, then ``delimiter + option``."""
    import torch

    messages = [{"role": "system", "content": doc["system"]}] if doc["system"] else []
    messages.append({"role": "user", "content": doc["prompt"]})
    context = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + doc["keyword"]
    context_ids = tokenizer.encode(context, add_special_tokens=False)
    values = []
    for choice in doc["choices"]:
        ids = tokenizer.encode(context + delimiter + choice, add_special_tokens=False)
        assert ids[: len(context_ids)] == context_ids and len(ids) > len(context_ids)  # the option's tokens follow the context's
        keep = len(ids) - len(context_ids) + 1  # the logits at the last context token and at each option token
        with torch.no_grad():
            logprobs = torch.log_softmax(model(torch.tensor([ids]), logits_to_keep=keep).logits[0].float(), dim=-1)
        values.append(sum(logprobs[i, token].item() for i, token in enumerate(ids[len(context_ids) :])))
    return values


DIRECT_DOCS = 2  # docs per task recomputed with transformers alone (one full forward per option: slow)


def argmax(values: list[float]) -> int:
    return max(range(len(values)), key=values.__getitem__)


@pytest.mark.slow
def test_tiny_model_loglik_tasks_score_options_as_transformers_does(lm_eval_export, tiny_model_dir: Path) -> None:
    from lm_eval.models.huggingface import HFLM
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, out, summary = lm_eval_export
    loglik = summary["loglik"]["tasks"]
    assert {task["family"] for task in loglik.values()} == {
        "qa_multiple_choice", "qa_yesno", "re_binary", "classification", "pair_classification", "entailment"
    }  # fmt: skip
    assert {task["target_delimiter"] for task in loglik.values()} == {" ", ""}  # English and Chinese tasks

    def cost(name: str) -> int:  # lm-eval runs one forward pass per option over the whole prompt
        docs = [json.loads(line) for line in (out / loglik[name]["file"]).read_text(encoding="utf-8").splitlines()]
        return sum(len(doc["prompt"]) * len(doc["choices"]) for doc in docs)

    chosen: dict[tuple[str, str], str] = {}  # per family and delimiter, the task of the fewest prompt characters
    for name in sorted(loglik, key=lambda name: (cost(name), name)):
        chosen.setdefault((loglik[name]["family"], loglik[name]["target_delimiter"]), name)
    results = run_lm_eval(
        HFLM(pretrained=str(tiny_model_dir), device="cpu", batch_size=16), out, sorted(chosen.values()), apply_chat_template=True
    )
    model, tokenizer = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval(), AutoTokenizer.from_pretrained(tiny_model_dir)
    for name in chosen.values():
        task = loglik[name]
        samples = results["samples"][name]
        assert len(samples) == task["docs"]
        hits, norm_hits = 0, 0
        for index, sample in enumerate(samples):
            doc, logliks = sample["doc"], [resp[0][0] for resp in sample["resps"]]
            if index < DIRECT_DOCS:  # lm-eval's option log-likelihoods are those transformers computes directly
                direct = direct_logliks(model, tokenizer, doc, task["target_delimiter"])
                assert logliks == pytest.approx(direct, abs=1e-3), (name, doc["id"])
            hits += argmax(logliks) == doc["gold_index"]
            norm_hits += argmax([value / len(choice) for value, choice in zip(logliks, doc["choices"])]) == doc["gold_index"]
        assert results["results"][name]["acc,none"] == pytest.approx(hits / task["docs"], abs=1e-12), name
        assert results["results"][name]["acc_norm,none"] == pytest.approx(norm_hits / task["docs"], abs=1e-12), name


# --------------------------------------------------------------------------------------------- the hooks on one doc
def _medqa_doc(lm_eval_export) -> dict[str, Any]:
    _, out, summary = lm_eval_export
    return json.loads((out / summary["tasks"]["biohub_medqa_usmle"]["file"]).read_text(encoding="utf-8").splitlines()[0])


@pytest.mark.parametrize(
    ("layout", "correct"),
    [
        ("Answer： {gold}", True),  # full-width colon
        ("Let me think about the findings first.\nAnswer: {gold}", True),  # a preamble line
        ("{gold}. The infarct territory points to this artery.", True),  # the letter, then an explanation
        ("Answer: {gold}. Because of the ST elevation.", True),
        ("Answer: {other}", False),
        ("I cannot tell.", False),
    ],
)
def test_hooks_parse_answers_in_the_layouts_models_write(lm_eval_export, layout: str, correct: bool) -> None:
    doc = _medqa_doc(lm_eval_export)
    gold = json.loads(doc["gold"])["value"][0]
    output = layout.format(gold=gold, other="A" if gold != "A" else "B")
    metrics = task_metrics([doc])
    assert metrics == ["headline", "accuracy", "parse_failure_rate"]
    items = process_results(doc, [output], metrics)
    assert aggregate([items["accuracy"]]) == aggregate([items["headline"]]) == float(correct)
    assert aggregate([items["parse_failure_rate"]]) == float(output == "I cannot tell.")


def test_hooks_refuse_mixed_items_and_unknown_metrics(lm_eval_export) -> None:
    doc = _medqa_doc(lm_eval_export)
    items = process_results(doc, ["Answer: A"], ["accuracy", "headline"])
    with pytest.raises(ValueError, match="several metrics"):
        aggregate([items["accuracy"], items["headline"]])
    with pytest.raises(KeyError, match="no metric 'f1'"):
        aggregate([{**items["accuracy"], "metric": "f1"}])
    with pytest.raises(ValueError, match="expected one generated string"):
        process_results(doc, [], ["accuracy"])
