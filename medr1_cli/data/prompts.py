"""Prompt templates, shared by training and evaluation so a model is asked the same way in both.

Each template is a system prompt saying how to answer; the user message is the question followed by
its options one per line as `A. text`. The answer formats match what the extractor reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from medr1_cli.data.record import QARecord


@dataclass(frozen=True)
class Template:
    name: str
    system: str | None  # None: no system message, the model's chat template decides
    thinks: bool  # the model is asked to reason in <think> first (rewards/evaluation use require_think)
    user_prefix: str = ""  # a line before the question


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template(
            "r1",
            "You are a medical expert answering a multiple-choice question. First reason step by step "
            "inside <think> </think> tags. Then give only the letter of the correct option inside "
            "<answer> </answer> tags, for example <answer>C</answer>.",
            thinks=True,
        ),
        Template(
            "no-think",
            "You are a medical expert answering a multiple-choice question. Give only the letter of the "
            "correct option inside <answer> </answer> tags, for example <answer>C</answer>, and nothing else.",
            thinks=False,
        ),
        Template(
            "boxed",
            "You are a medical expert answering a multiple-choice question. Reason step by step, then put "
            "only the letter of the correct option in \\boxed{}, for example \\boxed{C}.",
            thinks=False,
        ),
        Template(
            "plain",
            "You are a medical expert answering a multiple-choice question. Reason step by step, then end "
            "with the sentence 'The answer is X.', where X is the letter of the correct option.",
            thinks=False,
        ),
        Template(
            # The reference evaluator's prompt (HuatuoGPT-o1's, behind the published tables): no system
            # message, one instruction line, the question, then its options one per line.
            "huatuo", None, thinks=False, user_prefix="Please answer the following multiple-choice question:",
        ),
    )
}


def user_message(record: QARecord, template: str | None = None) -> str:
    options = "\n".join(f"{letter}. {text}" for letter, text in record.options.items())
    prefix = TEMPLATES[template].user_prefix if template else ""
    if prefix:
        return f"{prefix}\n{record.question}\n{options}"
    return f"{record.question}\n\n{options}"


def build_prompt(record: QARecord, template: str, system_prompt: str | None = None) -> list[dict[str, str]]:
    """The conversational prompt (TRL's `prompt` column): a system message (unless the template has none and
    none is given) and the user message."""
    system = system_prompt or TEMPLATES[template].system
    user = {"role": "user", "content": user_message(record, template)}
    return [{"role": "system", "content": system}, user] if system else [user]
