"""Reward functions: values computed by hand, the config checks, and a real TRL GRPO step."""

from __future__ import annotations

import math
import pickle

import pytest

from medr1_cli.errors import ConfigError, DataError
from medr1_cli.resolution import resolve_config
from medr1_cli.rewards import REGISTRY, build_rewards, columns_needed, completion_text

OPTIONS = {"A": "Iron", "B": "Vitamin B12", "C": "Folate", "D": "Vitamin C"}
GOOD = "<think>\nlow MCV\n</think>\n<answer>A</answer>"
WRONG = "<think>\nmaybe B12\n</think>\n<answer>B</answer>"


def call(name: str, completions, *, solution="A", completion_ids=None, prompts=None, **options):
    reward = REGISTRY[name](**options)
    n = len(completions)
    return reward(
        prompts=prompts or ["p"] * n,
        completions=completions,
        completion_ids=completion_ids,
        solution=[solution] * n if isinstance(solution, str) or solution is None else solution,
        options=[OPTIONS] * n,
    )


def test_completions_may_be_plain_or_conversational():
    assert completion_text("abc") == "abc"
    assert completion_text([{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]) == "ab"
    vlm = [{"role": "assistant", "content": [{"type": "text", "text": "x"}, {"type": "image"}]}]
    assert completion_text(vlm) == "x"
    conversational = [[{"role": "assistant", "content": GOOD}], [{"role": "assistant", "content": WRONG}]]
    assert call("accuracy", conversational) == [1.0, 0.0]


def test_accuracy_uses_the_shared_extractor():
    completions = [GOOD, WRONG, "The answer is **A**.", "no idea", "<think>never closed", "<answer>Iron</answer>"]
    assert call("accuracy", completions) == [1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    # With require_think, an answer without a finished reasoning block is not accepted.
    assert call("accuracy", ["<answer>A</answer>", GOOD], require_think=True) == [0.0, 1.0]


def test_accuracy_does_not_apply_without_a_solution():
    assert call("accuracy", [GOOD, GOOD], solution=["A", None]) == [1.0, None]


def test_accuracy_logs_truncated_and_unparseable_fractions():
    logged = {}
    reward = REGISTRY["accuracy"]()
    reward(
        prompts=["p"] * 4, completions=[GOOD, "<think>cut", "nothing", WRONG], completion_ids=None,
        solution=["A"] * 4, options=[OPTIONS] * 4, log_metric=lambda name, value: logged.__setitem__(name, value),
    )
    assert logged == {"answers/unclosed_think_frac": 0.25, "answers/unparseable_frac": 0.25}


def test_missing_columns_are_named():
    with pytest.raises(DataError) as caught:
        REGISTRY["accuracy"]()(prompts=["p"], completions=[GOOD], completion_ids=None, solution=["A"])
    assert "needs the dataset column(s) ['options']" in caught.value.message
    assert "['solution']" in caught.value.message


def test_format_strict_lenient_and_prefilled():
    completions = [
        GOOD,
        "  <think>a</think>\n\n<answer>B</answer>\n",
        "<think>a</think><answer>B</answer> and more text",
        "preamble <think>a</think><answer>B</answer>",
        "<answer>B</answer>",
        "<think>a</think><think>b</think><answer>B</answer>",
        "low MCV\n</think>\n<answer>A</answer>",
    ]
    assert call("format", completions) == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert call("format_lenient", completions) == [1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0]
    # The chat template pre-filled <think>: the completion starts inside the block.
    assert call("format", completions, think_prefilled=True) == [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    # No-think template (Med-R1's variant): only the answer tag.
    assert call("format", ["<answer>C</answer>", GOOD], think=False) == [1.0, 0.0]



def test_format_follows_the_templates_answer_forms():
    # plain template: "The answer is X." (also "the correct answer is"), one option letter
    plain = ["Low MCV, so iron.\nThe answer is A.", "The correct answer is: (B)\n", "The answer is A. Iron, because",
             "the answer is iron.", "The answer is Bleeding", "<answer>A</answer>", "A. Iron"]
    assert call("format", plain, think=False, answer="phrase") == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert call("format_lenient", plain, think=False, answer="phrase") == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    # boxed template
    boxed = ["so \\boxed{C}", "\\boxed{ C }\n", "\\boxed{C} because", "\\boxed{Folate}", "C"]
    assert call("format", boxed, think=False, answer="boxed") == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert call("format_lenient", boxed, think=False, answer="boxed") == [1.0, 1.0, 1.0, 0.0, 0.0]
    # with a think block, the answer comes after it (pre-filled: the completion starts inside it)
    thought = ["<think>low MCV</think> The answer is A.", "The answer is A. <think>x</think>", "x</think>The answer is A."]
    assert call("format", thought, answer="phrase") == [1.0, 0.0, 0.0]
    assert call("format_lenient", thought, answer="phrase") == [1.0, 0.0, 0.0]
    assert call("format", thought, answer="phrase", think_prefilled=True) == [0.0, 0.0, 1.0]
    # the default stays the answer tag, and every form is one the evaluation's extractor reads
    assert call("format", ["<answer>A</answer>", "The answer is A."], think=False) == [1.0, 0.0]
    assert call("accuracy", [plain[0], plain[1], boxed[0]]) == [1.0, 0.0, 0.0]
    from medr1_cli.data.prompts import TEMPLATES
    from medr1_cli.rewards import TEMPLATE_ANSWER_FORMS

    assert set(TEMPLATE_ANSWER_FORMS) <= set(TEMPLATES)
    with pytest.raises(ValueError, match="answer must be one of tag, boxed, phrase"):
        REGISTRY["format"](answer="letter")
    problems = build_rewards.__globals__["check_reward_options"]({"format_lenient": {"answer": "letter"}})
    assert len(problems) == 1 and "format_lenient.answer" in problems[0]


def test_tag_count():
    assert call("tag_count", [GOOD, "<think>x</think>", "<answer>A</answer><answer>B</answer>", ""]) == [
        1.0, 0.5, 0.0, 0.0,
    ]
    assert call("tag_count", ["x</think><answer>A</answer>"], think_prefilled=True) == [1.0]


def test_reasoning_steps():
    text = "Step 1: anemia.\nStep 2: low MCV.\n1. iron\n- ferritin\nFirst, check. Finally, treat."
    assert call("reasoning_steps", [text, "Step 1: x", "none"]) == [1.0, pytest.approx(1 / 3), 0.0]
    assert call("reasoning_steps", ["Step 1: x"], min_steps=1) == [1.0]


def test_cosine_by_hand():
    ids = [[0] * 0, [0] * 50, [0] * 100, [0] * 150]
    right = call("cosine", [GOOD] * 4, completion_ids=ids, max_len=100)
    assert right == pytest.approx([1.0, 0.75, 0.5, 0.5])
    wrong = call("cosine", [WRONG] * 4, completion_ids=ids, max_len=100)
    assert wrong == pytest.approx([-1.0, -0.75, -0.5, -0.5])
    quarter = call("cosine", [GOOD], completion_ids=[[0] * 25], max_len=100)[0]
    assert quarter == pytest.approx(0.5 + 0.25 * (1 + math.cos(math.pi / 4)))


def test_repetition_by_hand():
    looping = "the iron the iron the iron the iron"  # trigrams: 6, unique: 2
    assert call("repetition", [looping, "a b c d e", "a b"]) == pytest.approx([-(1 - 2 / 6), 0.0, 0.0])
    assert call("repetition", [looping], ngram_size=2, max_penalty=-0.5) == pytest.approx([-0.5 * (1 - 2 / 7)])


def test_length_reward_within_each_prompt_group():
    completions = [GOOD, GOOD, WRONG, WRONG, GOOD, GOOD]
    ids = [[0] * n for n in (10, 30, 20, 10, 5, 5)]
    prompts = ["p1", "p1", "p1", "p1", "p2", "p2"]
    rewards = call("length", completions, completion_ids=ids, prompts=prompts)
    # group p1: min 10, max 30 -> lambda = 0.5, -0.5, 0.0, 0.5; wrong answers keep min(0, lambda)
    assert rewards == pytest.approx([0.5, -0.5, 0.0, 0.0, 0.0, 0.0])


def test_overlong_soft_punishment_by_hand():
    ids = [[0] * n for n in (50, 80, 90, 100, 120)]
    assert call("overlong", [GOOD] * 5, completion_ids=ids, max_len=100, buffer_len=20) == pytest.approx(
        [0.0, 0.0, -0.5, -1.0, -1.0]
    )
    assert REGISTRY["overlong"](max_len=100).buffer_len == 20


def test_length_aware_rewards_need_token_ids():
    with pytest.raises(TypeError, match="needs `completion_ids`"):
        call("overlong", [GOOD], max_len=10)


def test_build_rewards_in_config_order_with_defaults():
    rewards, weights = build_rewards(
        {"accuracy": 2.0, "overlong": 0.5, "cosine": 1.0}, {"cosine": {"max_len": 64}}, max_completion_length=256
    )
    assert [r.__name__ for r in rewards] == ["accuracy", "overlong", "cosine"]
    assert weights == [2.0, 0.5, 1.0]
    assert (rewards[1].max_len, rewards[1].buffer_len, rewards[2].max_len) == (256, 51, 64)
    assert columns_needed(["format", "cosine"]) == {"solution", "options"}
    again = pickle.loads(pickle.dumps(rewards[2]))  # TRL's async rollout workers pickle reward functions
    assert again.__name__ == "cosine" and again.max_len == 64


def test_build_rewards_reports_every_problem():
    with pytest.raises(ConfigError) as caught:
        build_rewards({"accuracy": 1.0, "acuracy": 1.0}, {"cosine": {"max_ln": 1}, "overlong": {"buffer_len": "x"}})
    message = caught.value.message
    assert "'cosine.max_ln': unknown option (did you mean 'max_len'?)" in message
    assert "'overlong.buffer_len' = 'x': Input should be a valid integer" in message
    assert "'cosine' has options in train.reward_options but no weight" in message
    assert "unknown reward(s) ['acuracy']" in message


def test_config_checks_reward_names_and_options():
    with pytest.raises(ConfigError) as caught:
        resolve_config(overrides=[
            "train.rewards.acuracy=1",
            "train.reward_options.overlong.buffer_len=500",
            "train.reward_options.overlong.max_len=100",
        ])
    message = caught.value.message
    assert "train.rewards.acuracy = 'acuracy'" in message and "(did you mean 'accuracy'?)" in message
    assert "buffer_len must be between 1 and max_len (100), got 500" in message
    config = resolve_config(overrides=["train.rewards.cosine=0.5", "train.reward_options.cosine.max_len=64"])
    assert config.train.reward_options == {"cosine": {"max_len": 64}}


@pytest.mark.slow
def test_every_reward_through_a_real_grpo_step(tiny_model, tmp_path):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    rows = [
        {
            "prompt": [
                {"role": "system", "content": "Think in <think></think>, answer in <answer></answer>."},
                {"role": "user", "content": f"Question {i}: which deficiency?\nA. Iron\nB. Vitamin B12\nC. Folate\nD. Vitamin C"},
            ],
            "solution": "ABCD"[i % 4],
            "options": OPTIONS,
        }
        for i in range(4)
    ]
    weights = {name: 1.0 for name in REGISTRY}
    rewards, reward_weights = build_rewards(weights, max_completion_length=12)
    args = GRPOConfig(
        output_dir=str(tmp_path),
        use_cpu=True, bf16=False,
        per_device_train_batch_size=4, num_generations=2, max_completion_length=12,
        max_steps=1, logging_steps=1, report_to="none", save_strategy="no",
        reward_weights=reward_weights, seed=0,
    )
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_model),
        reward_funcs=rewards,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=AutoTokenizer.from_pretrained(tiny_model),
    )
    trainer.train()
    logs = {key: value for entry in trainer.state.log_history for key, value in entry.items()}
    for name in REGISTRY:
        assert f"rewards/{name}/mean" in logs, sorted(logs)
    assert "answers/unparseable_frac" in logs
    # A random model writes no answer tags: every accuracy-type signal is 0, never a fabricated 1.
    assert logs["rewards/accuracy/mean"] == 0.0
    assert logs["rewards/format/mean"] == 0.0


def test_a_reward_of_your_own_by_import_path_pickles_and_keeps_its_name():
    import pickle

    from medr1_cli.rewards import build_rewards, columns_needed

    name = "tests.learnable_rewards:even_tokens"
    rewards, weights = build_rewards({name: 2.0, "format": 1.0})
    own = rewards[0]
    assert (own.__name__, weights) == (name, [2.0, 1.0])  # TRL logs rewards/<name>/…, the rollout log too
    again = pickle.loads(pickle.dumps(own))  # TRL's asynchronous rollout workers pickle rewards
    assert again(prompts=["p"] * 2, completions=["a", "b"], completion_ids=[[2, 4, 5, 7], [1]]) == [0.5, 0.0]
    assert columns_needed([name, "format"]) == set()


def test_the_format_rewards_check_the_answer_form_the_template_asks_for():
    from medr1_cli.resolution import resolve_config
    from medr1_cli.train.grpo import reward_functions

    def forms(template, *overrides):
        config = resolve_config("tiny", [f"data.template={template}", "train.rewards={accuracy: 1, format: 1}",
                                         *overrides])
        rewards, _ = reward_functions(config, think_prefilled=False)
        return next(r.answer for r in rewards if r.name == "format")

    assert (forms("plain"), forms("boxed"), forms("r1"), forms("no-think")) == ("phrase", "boxed", "tag", "tag")
    assert forms("plain", "train.reward_options={format: {answer: tag}}") == "tag"  # set explicitly: kept
