"""Does the exported folder compute what the trained model computed? Logits on a few probe prompts,
source (float32, adapter unmerged) against the export reloaded from disk in its own dtype."""

from __future__ import annotations

from dataclasses import dataclass

from medr1_cli.data.prompts import build_prompt
from medr1_cli.data.record import Metadata, QARecord

# Short, varied questions through the run's own template and chat template: the positions cover a
# system prompt, a question, options and the generation prompt.
PROBES = (
    QARecord("probe-1", "probe", "Which vitamin deficiency causes scurvy?",
             {"A": "Vitamin A", "B": "Vitamin B12", "C": "Vitamin C", "D": "Vitamin D"}, "C", Metadata()),
    QARecord("probe-2", "probe", "A 60-year-old man has crushing chest pain and ST elevation in II, III and aVF. "
             "Which artery is most likely occluded?",
             {"A": "Left anterior descending", "B": "Right coronary", "C": "Left circumflex", "D": "Left main"},
             "B", Metadata()),
    QARecord("probe-3", "probe", "Which electrolyte disturbance produces peaked T waves?",
             {"A": "Hypokalaemia", "B": "Hyperkalaemia", "C": "Hypocalcaemia", "D": "Hypernatraemia"}, "B", Metadata()),
)

# Largest max |logit difference| accepted, relative to the largest |logit| (at least 1): merging in
# float32 only reorders additions; 16-bit storage rounds every weight (bfloat16 keeps 8 bits of mantissa).
TOLERANCE = {"float32": 1e-4, "float16": 1e-2, "bfloat16": 5e-2}


@dataclass(frozen=True)
class Verification:
    max_abs_diff: float
    scale: float  # the largest |logit| of the source
    tolerance: float  # absolute: TOLERANCE[dtype] * max(1, scale)
    dtype: str
    same_next_token: int  # probe prompts whose most likely next token is the same
    probes: int

    @property
    def passed(self) -> bool:
        return self.max_abs_diff <= self.tolerance

    def as_dict(self) -> dict:
        return {"max_abs_logit_diff": self.max_abs_diff, "max_abs_logit": self.scale, "tolerance": self.tolerance,
                "dtype": self.dtype, "same_next_token": self.same_next_token, "probes": self.probes,
                "passed": self.passed}


def probe_inputs(tokenizer, template: str) -> list:
    return [
        tokenizer.apply_chat_template(build_prompt(record, template), add_generation_prompt=True, tokenize=True,
                                      return_tensors="pt", return_dict=True)["input_ids"]
        for record in PROBES
    ]


def logits(model, inputs: list) -> list:
    import torch

    device = next(model.parameters()).device
    with torch.no_grad():
        return [model(input_ids=ids.to(device)).logits[0].float().cpu() for ids in inputs]


def compare(reference: list, exported: list, dtype: str) -> Verification:
    diff = max(float((a - b).abs().max()) for a, b in zip(reference, exported, strict=True))
    scale = max(float(a.abs().max()) for a in reference)
    same = sum(int(a[-1].argmax() == b[-1].argmax()) for a, b in zip(reference, exported, strict=True))
    return Verification(diff, scale, TOLERANCE[dtype] * max(1.0, scale), dtype, same, len(reference))
