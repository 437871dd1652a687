"""The reference recipe every config starts from: open-medical-r1's training mixes and sources, the
HuatuoGPT-o1 evaluation protocol, Med-R1's VQA mix and GRPO's reference rewards. The schema
(config.py) takes its defaults from here, so a reader looking for "what does the reference do"
reads one page; a recipe in configs/ changes any of it."""

from __future__ import annotations

from typing import Any

# Where each source's questions come from by default (Hub ids need network; builtin: ships with medr1).
SOURCES = {
    "medqa": "GBaker/MedQA-USMLE-4-options",
    "medxpertqa": "TsinghuaC3I/MedXpertQA:Text",
    "demo-medqa": "builtin:medqa",
    "demo-medxpertqa": "builtin:medxpertqa",
    "omnimedvqa": "builtin:omnimedvqa",
}
# The split read from a folder or Hub source: MedXpertQA has only `test`.
SPLITS = {"medqa": "train", "medxpertqa": "test"}
# open-medical-r1's three training sets ("dataset1..3"), the built-in demo mix and Med-R1's VQA mix
# (one modality's or question type's training split; see data.vqa).
MIXES: dict[str, dict[str, Any]] = {
    "usmle": {"medqa": 1090},
    "mix": {"medqa": 600, "medxpertqa": 490},
    "xpert": {"medxpertqa": 490},
    "demo": {"demo-medqa": 48, "demo-medxpertqa": 16},
    "omnimedvqa": {"omnimedvqa": "all"},
}
DEFAULT_MIX = "mix"
# Mixes of medical VQA (Med-R1): data.kind defaults to vqa for them, to text for every other mix.
VQA_MIXES = ("omnimedvqa",)
# Sources that are also evaluation sets: their training part is drawn stratified by this metadata key.
HOLDOUT = {"medxpertqa": "question_type", "demo-medxpertqa": "question_type", "demo-medqa": "step"}
# The reference's rewards and their weights.
REWARDS = {"accuracy": 1.0, "format": 1.0}
# Evaluation protocols other than medr1's own: protocol -> (settings it fixes, settings it defaults).
# huatuo: HuatuoGPT-o1's evaluation (its prompt, no system prompt, every row scored, sampled 3 times).
PROTOCOLS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "huatuo": ({"template": "huatuo", "system_prompt": None, "dedup": []},
               {"temperature": 0.5, "top_p": 0.9, "max_new_tokens": 2000, "n_samples": 3}),
}
