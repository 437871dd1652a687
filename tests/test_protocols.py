"""Evaluation protocols (issue #18): the reference evaluator's prompt and counting as a named protocol,
"truncated" meaning the token limit was hit, and the reference scorer's figure beside medr1's own."""

from __future__ import annotations

import json

import pytest

from medr1_cli.errors import DataError
from medr1_cli.evaluate.reference_scoring import reference_figures, reference_verdict
from medr1_cli.resolution import resolve_config

CARDIAC = {"A": "Tetralogy of Fallot", "B": "Pulmonary atresia", "C": "Transposition of the great arteries",
           "D": "Ventricular septal defect"}


# ---------------------------------------------------------------------------------- the protocol
def test_protocol_huatuo_fixes_the_prompt_and_counting_and_defaults_the_sampling(tmp_path):
    from medr1_cli.config import EvalSection

    e = EvalSection(protocol="huatuo", template="r1", dedup=["gpqa_med"])
    assert (e.template, e.system_prompt, e.dedup) == ("huatuo", None, [])
    assert (e.temperature, e.top_p, e.max_new_tokens, e.n_samples) == (0.5, 0.9, 2000, 3)
    mine = resolve_config("tiny", ["eval.protocol=huatuo", "eval.temperature=0.6", "eval.template=r1"]).eval
    assert (mine.temperature, mine.template) == (0.6, "huatuo")  # sampling may change; the prompt may not
    assert resolve_config("tiny").eval.protocol == "medr1"


def test_the_huatuo_template_has_no_system_message_and_the_reference_wording():
    from medr1_cli.data.prompts import build_prompt
    from medr1_cli.data.record import QARecord

    record = QARecord(id="q1", question="A cyanotic newborn has a single S2.", options=CARDIAC, answer="B",
                      source="medqa")
    messages = build_prompt(record, "huatuo")
    assert [m["role"] for m in messages] == ["user"]
    assert messages[0]["content"] == ("Please answer the following multiple-choice question:\n"
                                      "A cyanotic newborn has a single S2.\nA. Tetralogy of Fallot\nB. Pulmonary "
                                      "atresia\nC. Transposition of the great arteries\nD. Ventricular septal defect")
    assert build_prompt(record, "r1")[0]["role"] == "system"


# -------------------------------------------------------------- truncated, format failure, styles
def test_truncated_means_the_token_limit_was_hit_and_format_failures_are_counted_apart(tmp_path, monkeypatch):
    from medr1_cli.evaluate import run
    from medr1_cli.evaluate.generate import Generation

    replies = [  # (completion, hit the limit) — under template r1, which asks for <think>
        ("## Thinking\nductal flow\n## Final Response\nThe answer is A.", False),  # HuatuoGPT-o1 style: answered
        ("<think>still weighing A against", True),  # ran out of tokens: truncated
        ("The answer is A.", False),  # ended without ever thinking: a format failure, not truncated
    ]

    kinds: dict[str, int] = {}  # item id -> which reply it gets, in turn

    def backend(requests):
        out = []
        for r in requests:
            text, hit = replies[kinds.setdefault(r.item_id, len(kinds) % 3)]
            out.append(Generation(text, 5, hit))
        return out

    monkeypatch.setattr(run, "make_backend", lambda config, path: ("hf", backend))
    results = run.run_evaluation(resolve_config("tiny", [f"eval.output_dir={tmp_path}", "eval.benchmarks=[demo]",
                                                         "eval.template=r1"]))
    bench = results["benchmarks"]["demo"]
    by_kind: dict[int, list[dict]] = {0: [], 1: [], 2: []}
    for item in bench["items"]:
        by_kind[kinds[item["id"]]].append(item)
    assert all(by_kind.values())
    assert all(i["truncated"] and not i["format_failure"] for i in by_kind[1])
    assert all(i["format_failure"] and not i["truncated"] for i in by_kind[2])
    assert all(not i["truncated"] and not i["format_failure"] and i["boundary"] == "final_heading"
               for i in by_kind[0])
    assert bench["truncated_rate"] == pytest.approx(len(by_kind[1]) / bench["n"])
    assert bench["answer_styles"]["final_heading"] == len(by_kind[0])


# ----------------------------------------------------------------------- the reference scorer
@pytest.mark.parametrize("reply, first, last, source", [
    ("## Thinking\nMaybe the answer is A.\n## Final Response\n\nThe answer is B, not D.", "B", "B", "answer_is"),
    ("## Thinking\nMaybe the answer is A.\n## Final Response\nThe answer is B.", "A", "B", "answer_is"),  # no blank line: no cut
    ("So the answer is Amiodarone-induced", "A", "A", "answer_is"),  # the reference reads the capital, whatever follows
    ("the answer is E", "E", "E", "answer_is"),  # a letter past the options: counted wrong, as the reference counts it
    ("The answer is A... on reflection the answer is C", "A", "C", "answer_is"),
    ("the Answer is: **B**", "B", "B", "lone_letter"),  # the reference's phrase is lowercase, letter right after
    ("I would pick B over D here", "B", "D", "lone_letter"),
    ("between B/C", "B", "B", "lone_letter"),  # the "/" after B is used up: C stands alone no more
    ("(B) or D_x", "B", "B", "lone_letter"),  # an underscore is a word character
    # "first" is the option whose first mention comes latest (the reference's quirk), "last" whose last mention does
    ("pulmonary atresia fits; tetralogy of fallot does not, nor pulmonary atresia", "A", "B", "option_text"),
    ("a shunt lesion of the great arteries", "C", "C", "closest"),  # always some option
    ("The answer is a defect of outflow; A 45-year-old would differ. Choose (D).", "D", "D", "lone_letter"),
])
def test_the_reference_rule_reads_first_and_last_matches(reply, first, last, source):
    verdict = reference_verdict(reply, CARDIAC)
    assert (verdict.first, verdict.last, verdict.source) == (first, last, source)


def test_the_reference_closest_option_breaks_ties_towards_the_latest_option():
    assert reference_verdict("xyz", {"A": "abc", "B": "abd"}).last == "B"  # both 0.0: the reference keeps the later
    assert reference_verdict("an abd here", {"A": "abc", "B": "abd x", "C": "q"}).last == "B"


def test_the_reference_figure_takes_the_better_of_first_and_last_and_drops_empty_replies():
    verdicts = [(reference_verdict("The answer is A... on reflection the answer is C", CARDIAC), "C"),
                (reference_verdict("The answer is B. Later: the answer is D.", CARDIAC), "B"),
                (reference_verdict("B", CARDIAC), "B"),
                (reference_verdict("   ", CARDIAC), "A")]
    figures = reference_figures(verdicts)
    assert (figures["n"], figures["dropped_empty"]) == (3, 1)
    assert figures["first_match_accuracy"] == pytest.approx(2 / 3)
    assert figures["last_match_accuracy"] == pytest.approx(2 / 3)
    assert figures["accuracy"] == pytest.approx(2 / 3)
    assert figures["answers_by"] == {"answer_is": 2, "lone_letter": 1, "option_text": 0, "closest": 0}


# --------------------------------------------------------------------------- mixing protocols
def test_compare_and_report_refuse_results_of_different_protocols(tmp_path):
    from medr1_cli.evaluate.compare import compare
    from medr1_cli.evaluate.report import build_report

    def results(protocol: str, folder: str):
        config = resolve_config("tiny", [f"eval.protocol={protocol}"]).model_dump(mode="json")
        data = {"model": folder, "config": config, "settings_fingerprint": "x",
                "benchmarks": {"medqa": {"title": "MedQA", "n": 1, "accuracy": 1.0, "wilson_95": [0.2, 1.0],
                                         "items": [{"id": "q1", "correct": True}]}}}
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "results.json").write_text(json.dumps(data))
        return data

    a, b = results("medr1", "a"), results("huatuo", "b")
    with pytest.raises(DataError, match="protocol medr1 and B under huatuo"):
        compare(a, b)
    with pytest.raises(DataError, match="eval.protocol"):
        build_report([tmp_path / "a", tmp_path / "b"])


# ------------------------------------------------------------------------------ the recipes
@pytest.mark.parametrize("recipe", ["eval-huatuogpt-o1-7b", "eval-qwq-32b"])
def test_the_baseline_recipes_dry_run_with_the_reference_counts(recipe, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from medr1_cli.cli import app
    from medr1_cli.data.synthetic import write_bundle, write_medxpertqa

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "medxpertqa").mkdir(parents=True)
    write_bundle(tmp_path / "data" / "eval_data.json")
    write_medxpertqa(tmp_path / "data" / "medxpertqa" / "test.jsonl", 40)
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    result = CliRunner().invoke(app, ["evaluate", "-c", recipe, "-m", str(model), "--dry-run"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output  # on a machine without GPUs too
    output = " ".join(result.output.split())
    assert "protocol huatuo: template huatuo" in output and "no GPU here" in output
    for benchmark, rows in (("medmcqa", 4183), ("medqa", 1273), ("pubmedqa", 1000), ("mmlu_pro_med", 1535),
                            ("gpqa_med", 390)):
        assert f"│ {benchmark}" in result.output and f" {rows} " in result.output


def test_protocol_defaults_apply_to_a_written_out_config(tmp_path):
    """A run folder's medr1_config.yaml lists every key at its value; medr1's defaults there count as unset."""
    written = tmp_path / "medr1_config.yaml"
    written.write_text(resolve_config("demo-cpu").to_yaml())
    e = resolve_config(str(written), ["eval.protocol=huatuo"]).eval
    assert (e.temperature, e.top_p, e.n_samples) == (0.5, 0.9, 3)
    assert e.max_new_tokens == 32  # the demo's own budget is not medr1's default: kept


def test_a_template_that_prefills_think_makes_cut_off_reasoning_unfinished(tmp_path, monkeypatch):
    from medr1_cli.evaluate import run
    from medr1_cli.evaluate.generate import Generation

    template = tmp_path / "qwq.jinja"
    template.write_text("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                        "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}")
    monkeypatch.setattr(run, "make_backend", lambda config, path: (
        "hf", lambda requests: [Generation("Okay, the answer is B? Wait, no, let me reconsider option C", 12, True)
                                for _ in requests]))
    results = run.run_evaluation(resolve_config("tiny", [f"eval.output_dir={tmp_path / 'eval'}", "eval.benchmarks=[demo]",
                                                         "eval.template=no-think", f"model.chat_template={template}"]))
    assert results["require_think"] is True
    bench = results["benchmarks"]["demo"]
    assert bench["accuracy"] == 0 and all(i["truncated"] and i["predictions"] == [None] for i in bench["items"])


def test_report_takes_results_from_before_protocols_as_medr1s(tmp_path):
    from medr1_cli.evaluate.report import _setting

    old = {"config": {"eval": {"template": "r1"}}}
    assert _setting(old, "eval", "protocol") == "medr1" == _setting({"config": {"eval": {"protocol": "medr1"}}},
                                                                     "eval", "protocol")
