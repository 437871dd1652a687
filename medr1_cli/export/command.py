"""`medr1 export`: locate → load in float32 → merge / consolidate → save in the target dtype, sharded →
reload and compare logits → model card → rename into place → optionally publish."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from medr1_cli.config import Medr1Config
from medr1_cli.errors import ConfigError, DataError
from medr1_cli.export import verify
from medr1_cli.export.card import find_results, model_card
from medr1_cli.export.hub import push
from medr1_cli.export.source import ADAPTER_WEIGHTS, Source, locate
from medr1_cli.export.verify import compare, logits
from medr1_cli.export.weights import load_source_model, model_class
from medr1_cli.fsutil import atomic_directory, atomic_write_text, check_writable_folder
from medr1_cli.layout import EXPORT_DIR, MODEL_CARD, TRAINING_CONFIG_NAME, lineage_file
from medr1_cli.lineage import copy_lineage, read_lineage
from medr1_cli.models.loading import load_processing_class, torch_dtype
from medr1_cli.models.vision import complete_processor_files


class VerificationFailed(DataError):
    title = "export verification failed"


def output_folder(config: Medr1Config, source: Source) -> Path:
    return Path(config.export.output_dir).expanduser() if config.export.output_dir else source.run / EXPORT_DIR


def run_export(config: Medr1Config, target: str | None = None, *, base_model: str | None = None, force: bool = False,
               dry_run: bool = False, console: Console | None = None) -> dict[str, Any]:
    console = console or Console(highlight=False)
    settings = config.export
    if dry_run and not settings.push_to_hub:
        raise ConfigError("--dry-run lists what --push-to-hub would upload; give --push-to-hub REPO too")
    source = locate(target, settings.checkpoint, config, base_model)
    output = output_folder(config, source)
    kind = _kind(source, settings.adapter_only)
    _check_output(output, source, force)
    console.print(f"exporting the {escape(source.label)}" + (f" on {escape(source.base_model)}" if source.base_model else ""))
    if source.run_config and source.run_config.model.lora.load_in_4bit and kind == "merged":
        console.print("Q-LoRA run: the adapter is merged into the unquantised base loaded in float32, not the 4-bit one")

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    trained = source.run_config or config  # the run's own model and template settings, when medr1 trained it
    model_section = trained.model
    model = load_source_model(source, revision=model_section.revision, trust_remote_code=model_section.trust_remote_code)
    tokenizer = load_processing_class(model_section, _tokenizer_folder(source))  # a VLM's processor
    probes = verify.probe_inputs(tokenizer, trained.eval.template) if settings.verify else []
    reference = verify.logits(model, probes) if settings.verify else []
    if kind == "merged":
        model = model.merge_and_unload()

    results = find_results(source, _results_candidates(config, source))
    own = lineage_file(str(source.path))
    lineage = read_lineage(Path(own), "the run's lineage") if own else None
    checked = None
    with atomic_directory(output, replace=output.exists()) as folder:
        if kind == "adapter":
            for name in ("adapter_config.json", *ADAPTER_WEIGHTS):
                if (source.path / name).is_file():
                    shutil.copy2(source.path / name, folder / name)
        else:
            model.to(torch_dtype(settings.dtype)).save_pretrained(folder, max_shard_size=settings.max_shard_size)
        del model
        tokenizer.save_pretrained(folder)
        complete_processor_files(folder)
        if source.run_config:
            atomic_write_text(folder / TRAINING_CONFIG_NAME, source.run_config.to_yaml())
        copy_lineage(source.path, folder)  # the exported model keeps the record of what it trained on
        if settings.verify:
            checked = _verify(folder, source if kind == "adapter" else None, model_section, probes, reference,
                              settings.dtype if kind != "adapter" else "float32", console)
        atomic_write_text(folder / MODEL_CARD, model_card(
            source, config, kind=kind, verification=checked.as_dict() if checked else None, results=results,
            name=output.name if output.name != EXPORT_DIR else f"{source.run.parent.name}-{source.run.name}",
            lineage=lineage))
        if checked and not checked.passed:
            raise VerificationFailed(
                f"the export differs from the trained model: max |logit difference| {checked.max_abs_diff:.3g} > "
                f"tolerance {checked.tolerance:.3g} ({settings.dtype}); nothing was written to {output}",
                hint="export in float32 (--dtype float32) to tell rounding from a broken merge, or report a bug",
            )
    console.print(f"exported to {escape(str(output))}"
                  + (f" (model card with the results in {escape(str(results[1]))})" if results else ""))
    if settings.push_to_hub:
        push(output, settings.push_to_hub, revision=settings.revision, private=settings.private, dry_run=dry_run,
             console=console)
    return {"output": str(output), "source": source, "kind": kind,
            "verification": checked.as_dict() if checked else None, "results": str(results[1]) if results else None}


def _kind(source: Source, adapter_only: bool) -> str:
    if adapter_only and source.kind != "lora":
        raise ConfigError(f"export.adapter_only: the {source.label} is not a LoRA adapter",
                          hint="drop --adapter-only to export its full weights")
    return ("adapter" if adapter_only else "merged") if source.kind == "lora" else source.kind


def _check_output(output: Path, source: Source, force: bool) -> None:
    target, exported = output.resolve(), source.path.resolve()
    if target in (exported, source.run.resolve()) or target in exported.parents:
        raise ConfigError(f"export.output_dir {output} is or contains the folder being exported; choose another with -o")
    check_writable_folder(output, "export.output_dir")
    if output.is_dir() and any(output.iterdir()) and not force:
        raise ConfigError(f"{output} is not empty; refusing to overwrite it",
                          hint="pass --force to replace it (the old folder stays until the new one is complete), "
                          "or choose another folder with -o")


def _tokenizer_folder(source: Source) -> str:
    """The tokenizer saved with the weights, else the base model's."""
    has_tokenizer = any((source.path / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json"))
    return str(source.path) if has_tokenizer or not source.base_model else source.base_model


def _results_candidates(config: Medr1Config, source: Source) -> list[Path]:
    folders = [Path(config.eval.output_dir), source.run / "eval", source.run.parent / "eval"]
    if source.run_config:
        folders.insert(0, Path(source.run_config.eval.output_dir))
    return folders


def _verify(folder: Path, adapter_of: Source | None, model_section, probes: list, reference: list, dtype: str,
            console: Console):
    """Reload the export as a user would and compare logits. An adapter is put on the base model the
    export used, not on whatever its adapter_config.json names (that path may be gone)."""
    options = {"revision": model_section.revision, "trust_remote_code": model_section.trust_remote_code,
               "dtype": torch_dtype(dtype)}
    if adapter_of is not None:
        from peft import PeftModel

        base = model_class(adapter_of.base_model).from_pretrained(adapter_of.base_model, **options)
        exported = PeftModel.from_pretrained(base, str(folder))
    else:
        exported = model_class(folder).from_pretrained(str(folder), **{**options, "revision": None})
    result = compare(reference, logits(exported, probes), dtype)
    console.print(f"verification: max |logit difference| {result.max_abs_diff:.3g} over {result.probes} probe prompts "
                  f"(tolerance {result.tolerance:.3g} for {dtype}; largest |logit| {result.scale:.3g}); same next "
                  f"token on {result.same_next_token} of {result.probes} — "
                  + ("[green]passed[/]" if result.passed else "[red]FAILED[/]"))
    return result
