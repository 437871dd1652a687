"""The exported model's card (`README.md` with Hugging Face metadata): what it was trained from, on
what, how, how it scored, and how closely the export reproduces the trained model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medr1_cli import __version__
from medr1_cli.config import Medr1Config
from medr1_cli.data.prompts import TEMPLATES
from medr1_cli.export.source import Source
from medr1_cli.layout import LINEAGE_NAME, RESULTS_JSON
from medr1_cli.lineage import Lineage
from medr1_cli.models.names import HUB_IDS
from medr1_cli.yamlio import dump_yaml

# The GRPO settings a reader needs to judge a run, in the order a paper's table lists them.
_HYPERPARAMETERS = ("learning_rate", "lr_scheduler_type", "num_train_epochs", "max_steps", "per_device_train_batch_size",
                    "gradient_accumulation_steps", "num_generations", "max_completion_length", "temperature", "beta",
                    "loss_type", "seed")


def hub_base_model(name: str | None) -> str | None:
    """The base model as a Hub id, when it is one (a local folder is no use to the Hub's metadata)."""
    if not name:
        return None
    if name in HUB_IDS:
        return HUB_IDS[name]
    looks_like_hub_id = name.count("/") == 1 and not name.startswith((".", "/", "~")) and not Path(name).exists()
    return name if looks_like_hub_id else None


def find_results(source: Source, candidates: list[Path]) -> tuple[dict[str, Any], Path] | None:
    """The newest `medr1 evaluate` results of exactly these weights: matched by the model fingerprint
    the evaluation recorded, not by the path it was given (a relative path, or a run folder retrained
    since, would otherwise match scores of other weights; an earlier checkpoint's card gets its own)."""
    from medr1_cli.evaluate.generate import model_fingerprint

    fingerprint = model_fingerprint(str(source.path))
    found = []
    for folder in dict.fromkeys(candidates):
        file = folder / RESULTS_JSON
        if not file.is_file():
            continue
        try:
            results = json.loads(file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(results, dict) and results.get("model_fingerprint") == fingerprint:
            found.append((file.stat().st_mtime, results, file))
    if not found:
        return None
    _, results, file = max(found, key=lambda row: row[0])
    return results, file


def model_card(source: Source, settings: Medr1Config, *, kind: str, verification: dict | None,
               results: tuple[dict[str, Any], Path] | None, name: str, lineage: Lineage | None) -> str:
    """`lineage`: the training manifest the exported weights trained on (None: medr1 has no record of it)."""
    run = source.run_config
    base = source.base_name  # the run config's model.name_or_path
    metadata: dict[str, Any] = {}
    if hub_id := hub_base_model(base):
        metadata["base_model"] = hub_id
    metadata["library_name"] = "peft" if kind == "adapter" else "transformers"
    metadata["pipeline_tag"] = "text-generation"
    metadata["tags"] = ["medr1", "grpo", "trl", "medical", "reasoning", *(["lora"] if source.kind == "lora" else [])]
    what = {"adapter": "a LoRA adapter", "merged": "a LoRA adapter merged into its base model",
            "full": "full weights", "zero": "full weights consolidated from a DeepSpeed ZeRO checkpoint"}[kind]
    step = f" at step {source.step}" if source.step is not None else ""
    lines = [
        "---", dump_yaml(metadata).rstrip(), "---", "",
        f"# {name}", "",
        f"Trained with R1-Zero-style reinforcement learning (GRPO) for medical multiple-choice reasoning by "
        f"[medr1](https://github.com/medr1/medr1) {__version__}, from **{base or 'an unrecorded base model'}**. "
        f"This folder holds {what}{step}, saved in {settings.export.dtype if kind != 'adapter' else 'the adapter dtype'}.",
        "",
    ]
    if run:
        template = TEMPLATES[run.data.template]
        system = run.data.system_prompt or template.system
        lines += ["## Prompt format", ""]
        if system:
            lines += [f"Template `{template.name}` — the system prompt the model was trained (and should be asked) "
                      "with:", "", "```text", system, "```", ""]
        else:
            lines += [f"Template `{template.name}` — no system message.", ""]
        lines += [f"The user message is {f'the line “{template.user_prefix}”, ' if template.user_prefix else ''}the "
                  f"question, {'' if template.user_prefix else 'a blank line, '}then one option per line as `A. text`.",
                  ""]
        lines += _data_section(run, lineage)
        lines += _training_section(run)
    lines += ["## Evaluation", ""]
    if results:
        from medr1_cli.evaluate.run import markdown_table

        data, file = results
        lines += [f"From `medr1 evaluate` ({file}; engine {data.get('engine', 'native')}, "
                  f"template `{data.get('config', {}).get('eval', {}).get('template', '?')}`):", "",
                  markdown_table([data]).rstrip(), ""]
    else:
        lines += ["No `medr1 evaluate` results were found for this run; run `medr1 evaluate -m <this folder>`.", ""]
    if verification:
        lines += ["## Export verification", "",
                  f"Reloaded from disk and compared with the trained model on {verification['probes']} probe prompts: "
                  f"max |logit difference| {verification['max_abs_logit_diff']:.3g} (largest |logit| "
                  f"{verification['max_abs_logit']:.3g}, tolerance {verification['tolerance']:.3g} for "
                  f"{verification['dtype']}); same next token on {verification['same_next_token']} of "
                  f"{verification['probes']}.", ""]
    return "\n".join(lines)


def _data_section(run: Medr1Config, lineage: Lineage | None) -> list[str]:
    if lineage is None:
        return ["## Training data", "", f"Mix `{run.data.dataset}`; the run kept no record of the exact items it trained "
                f"on (no {LINEAGE_NAME}: it was trained before medr1 recorded a run's data lineage).", ""]
    manifest = lineage.manifest
    earlier = manifest.get("lineage", {}).get("earlier", [])
    lines = ["## Training data", "",
             f"Mix `{manifest['dataset']}`: {manifest['rows']} questions, seed {manifest['seed']}, "
             f"curriculum `{manifest.get('curriculum', 'none')}`, {len(manifest['held_out_ids'])} held out. "
             f"The manifest it trained on is `{LINEAGE_NAME}` in this folder (sha256 `{lineage.sha256[:12]}`, "
             f"{len(lineage.training_ids)} training ids); `medr1 evaluate` leaves those items out."
             + (f" The run was continued on changed data ({len(earlier)} earlier manifest(s) in the same file)."
                if earlier else ""), "",
             "| source | data | benchmark | layout | rows | input sha256 |", "|---|---|---|---|---:|---|"]
    for name, source in manifest["sources"].items():
        digests = ", ".join(f"`{i['sha256'][:12]}`" for i in source.get("inputs", []))
        lines.append(f"| {name} | {source['spec']} | {source.get('benchmark') or '—'} | {source['format']} | "
                     f"{source['rows']} | {digests} |")
    decontam = manifest.get("decontamination", {})
    if decontam:
        lines += ["", f"Decontamination against {decontam.get('evaluation_items', 0)} evaluation questions "
                  f"(exact and {decontam.get('ngram')}-gram overlap, mode `{decontam.get('mode')}`): "
                  f"{decontam.get('dropped', 0)} training questions dropped."]
    return [*lines, ""]


def _training_section(run: Medr1Config) -> list[str]:
    grpo = run.train.grpo
    lines = ["## Training configuration", "", "| setting | value |", "|---|---|"]
    lines += [f"| {key} | {grpo[key]} |" for key in _HYPERPARAMETERS if key in grpo]
    if run.model.lora.enabled or run.model.lora.load_in_4bit:
        lora = run.model.lora
        lines.append(f"| LoRA | r {lora.r}, alpha {lora.alpha}, dropout {lora.dropout}"
                     f"{', 4-bit base (Q-LoRA)' if lora.load_in_4bit else ''} |")
    lines.append("| rewards (weight) | " + ", ".join(f"{name} ({weight:g})" for name, weight in run.train.rewards.items())
                 + " |")
    return [*lines, "", "The full resolved configuration is in `medr1_training_config.yaml`.", ""]
