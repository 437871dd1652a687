"""The config schema shared by every command.

A config is one YAML file with the sections `model`, `data`, `train`, `eval` and `export`; each
command reads the sections it needs, so `prepare-data`, `train` and `evaluate` run with the same
`-c FILE` agree on the model and the data. Each field's `description` is its documentation
(`medr1 config show --explain`, docs/config-reference.md); section validators check what one field
cannot check alone. The reference recipe's values come from recipe.py; how a file, `--set` and flags
are layered over them, and how every problem is reported at once, is resolution.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, model_validator
from pydantic_core import PydanticCustomError

from medr1_cli import recipe
from medr1_cli.benchmarks import BENCHMARKS, TEXT_BENCHMARKS
from medr1_cli.data.formats import FORMAT_ALIASES, FORMATS
from medr1_cli.data.prompts import TEMPLATES
from medr1_cli.errors import ConfigError
from medr1_cli.fsutil import atomic_write_text
from medr1_cli.layout import RESOLVED_CONFIG_NAME
from medr1_cli.models.names import BUILTIN_MODELS, BUILTIN_PREFIX
from medr1_cli.rewards import REGISTRY as REWARDS
from medr1_cli.rewards import check_custom_name, check_reward_options, is_custom
from medr1_cli.suggest import did_you_mean
from medr1_cli.vqa.omnimedvqa import GROUPINGS, group_name
from medr1_cli.yamlio import dump_yaml


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, validate_assignment=True)


# The error type of `_invalid`: resolution reports such an error under the key the validator names.
INVALID_ERROR_TYPE = "medr1_invalid"


def _invalid(key: str, value: Any, message: str) -> PydanticCustomError:
    """An error about `key` of the section being validated, reported under that key's own path."""
    return PydanticCustomError(INVALID_ERROR_TYPE, "{message}", {"key": key, "value": value, "message": message})


def _one_of(kind: str, allowed: Sequence[str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {kind}{did_you_mean(value, allowed)}; allowed: {', '.join(allowed)}")
        return value

    return check


def _builtin_model_is_known(value: str) -> str:
    if value.startswith(BUILTIN_PREFIX):
        _one_of("built-in model", BUILTIN_MODELS)(value)
    return value


def _int_as_text(value: Any) -> Any:
    """YAML reads `medmcqa_cop: 1` as a number; the setting's values are the texts "0" and "1"."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _positive_size(value: str) -> str:
    if float(re.match(r"[\d.]+", value).group()) <= 0:
        raise ValueError("a shard size must be above zero, e.g. 5GB or 500MB")
    return value


def _some_reward(rewards: dict[str, float]) -> dict[str, float]:
    if not any(weight != 0 for weight in rewards.values()):
        raise ValueError("GRPO needs at least one reward with a non-zero weight, e.g. {accuracy: 1.0, format: 1.0}")
    return rewards


def _reward_options_are_valid(options: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    problems = check_reward_options(options)
    if problems:
        raise ValueError("; ".join(problems))
    return options


def _reward_name(value: str) -> str:
    """A reward of the registry, or one of the user's own as `module:function`. Only its shape is
    checked here: every command reads a run's config, but only training imports the function."""
    if is_custom(value):
        try:
            check_custom_name(value)
        except ConfigError as err:
            raise ValueError(err.message) from None
        return value
    return _one_of("reward", REWARDS)(value)


TemplateName = Annotated[str, AfterValidator(_one_of("template", TEMPLATES))]
RewardName = Annotated[str, AfterValidator(_reward_name)]
BenchmarkName = Annotated[str, AfterValidator(_one_of("benchmark", list(BENCHMARKS)))]


# --------------------------------------------------------------------------------------- model
class LoraSettings(_Section):
    enabled: bool = Field(False, description="Train LoRA adapters (peft) instead of all weights.")
    r: int = Field(16, ge=1, description="LoRA rank.")
    alpha: int = Field(32, ge=1, description="LoRA scaling numerator (lora_alpha).")
    dropout: float = Field(0.05, ge=0.0, lt=1.0, description="Dropout on the LoRA branch.")
    target_modules: list[str] = Field(
        default_factory=lambda: ["all-linear"],
        description="Module names to adapt; ['all-linear'] adapts every linear layer but the output head.",
    )
    load_in_4bit: bool = Field(
        False, description="Q-LoRA: load the frozen base weights in 4-bit NF4 (bitsandbytes; CUDA GPUs only)."
    )


class ModelSection(_Section):
    name_or_path: Annotated[str, AfterValidator(_builtin_model_is_known)] = Field(
        "builtin:smollm2-135m-instruct",
        description="A local model folder, a Hub id (needs network), or a built-in model: "
        "'builtin:smollm2-135m-instruct' (the CPU demo model, from the `demo` extra) or "
        "'builtin:tiny' (a 0.5 MB randomly initialised Qwen2 for smoke tests) or 'builtin:tiny-vl' (a 0.8 MB "
        "randomly initialised Qwen2-VL for the Med-R1 smoke tests).",
    )
    revision: str | None = Field(None, description="Hub revision (branch, tag or commit) when loading by Hub id.")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto", description="Weight dtype when loading: 'auto' keeps the checkpoint's own."
    )
    attn_implementation: Literal["eager", "sdpa", "flash_attention_2"] | None = Field(
        None, description="Attention kernel; None lets transformers choose. flash_attention_2 needs a CUDA GPU."
    )
    chat_template: str | None = Field(
        None,
        description="Path to a Jinja chat template replacing the tokenizer's own, e.g. one that does "
        "not pre-fill '<think>' (a pre-filled tag keeps a strict format reward at 0).",
    )
    trust_remote_code: bool = Field(False, description="Allow model code from the model folder / Hub repo.")
    min_pixels: int | None = Field(
        None, ge=1, description="Vision-language models: images smaller than this many pixels are scaled up; "
        "None keeps the processor's own setting.",
    )
    max_pixels: int | None = Field(
        None, ge=1, description="Vision-language models: images larger than this many pixels are scaled down "
        "(fewer image tokens; Med-R1 trained on 384×384 images); None keeps the processor's own setting.",
    )
    lora: LoraSettings = Field(default_factory=LoraSettings, description="Parameter-efficient training.")


# ---------------------------------------------------------------------------------------- data
MixAmount = Union[StrictInt, Annotated[float, Field(gt=0.0, le=1.0)], Literal["all"]]


class VqaSettings(_Section):
    split_by: Literal["modality", "question-type"] = Field(
        "modality", description="Med-R1's groups: the eight imaging modalities or the five question types."
    )
    train_on: str | None = Field(
        None, description="The group whose training split is the training set (CT, MRI, X-Ray, Ultrasound, "
        "Dermoscopy, Fundus Photography, OCT, Microscopy; or a question type such as Modality Recognition); "
        "None = the first (CT, or Modality Recognition).",
    )
    test_share: float = Field(0.2, gt=0.0, lt=1.0, description="Share of every group held out as its test set.")
    image_root: str | None = Field(
        None, description="Folder the images' relative paths start from; None = the folder of the JSON file."
    )
    image_size: int | None = Field(
        None, ge=28,
        description="Resize every image to this square size (the reference used 384) and store the copies in "
        "the prepared folder; None keeps the originals where they are.",
    )

    @model_validator(mode="after")
    def _train_on_is_a_group(self) -> VqaSettings:  # checked before any data is read

        if self.train_on is not None and group_name(self.split_by, self.train_on) is None:
            allowed = GROUPINGS[self.split_by]
            raise _invalid("train_on", self.train_on, f"not a {self.split_by}{did_you_mean(self.train_on, allowed)}; "
                           f"allowed: {', '.join(allowed)}")
        return self


class DataSection(_Section):
    dataset: str = Field(
        recipe.DEFAULT_MIX,
        description="Which training mix to build: a name in `data.mixes` — usmle, mix, xpert (the "
        "reference mixes), demo (built-in questions, no download) or your own.",
    )
    kind: Literal["text", "vqa"] | None = Field(
        None,
        description="What the mix holds: text (multiple-choice questions) or vqa (Med-R1's medical VQA: questions with "
        "images, split per modality or question type, see data.vqa; a vqa mix has one source). None: vqa for the "
        f"reference's VQA mix ({', '.join(recipe.VQA_MIXES)}), text for every other.",
    )
    sources: dict[str, str] = Field(
        default_factory=lambda: dict(recipe.SOURCES),
        description="Where each source's questions come from: a file, a folder (the file for the source's "
        "split is picked), builtin:NAME, or a Hub id `owner/name[:config]` (needs network). Entries you "
        "set are added to the built-in ones; null removes one.",
    )
    splits: dict[str, str] = Field(
        default_factory=lambda: dict(recipe.SPLITS),
        description="Which split of a folder or Hub source to read (MedXpertQA has only `test`).",
    )
    formats: dict[str, str] = Field(
        default_factory=dict,
        description="Force a source's native format instead of detecting it, e.g. {medqa: medqa-hf}.",
    )
    mixes: dict[str, dict[str, MixAmount]] = Field(
        default_factory=lambda: {name: dict(mix) for name, mix in recipe.MIXES.items()},
        description="Training mixes: name -> {source: amount}; an amount is a number of questions, a "
        "fraction in (0, 1] of the source, or 'all'. Sampled seeded and without replacement.",
    )
    holdout: dict[str, str] = Field(
        default_factory=lambda: dict(recipe.HOLDOUT),
        description="Sources that are also evaluation sets: the training part is sampled stratified by this "
        "metadata key and the rest is recorded in the manifest as held out, so evaluation can exclude "
        "the training items (MedXpertQA has no train split).",
    )
    seed: int = Field(42, description="Seed for sampling, splitting and GPQA option shuffling.")
    template: TemplateName = Field("r1", description="Prompt template (the same templates are used for evaluation).")
    system_prompt: str | None = Field(None, description="Replace the template's system prompt.")
    curriculum: Literal["none", "easy-to-hard", "interleave"] = Field(
        "none",
        description="Order of training items by difficulty. Needs train.grpo.shuffle_dataset: false, or TRL "
        "reshuffles them.",
    )
    curriculum_batch_size: int = Field(
        16, ge=2, description="With interleave: every run of this many items holds easy and hard ones."
    )
    grading_file: str | None = Field(
        None, description="A grading file (`medr1 grade`, or JSONL of your own {id, pass_rate}): measured difficulty "
        "(1 − pass rate) replaces metadata-based difficulty where it has the item; with pass_rate_band it also "
        "filters the candidates.",
    )
    pass_rate_band: tuple[float, float] | None = Field(
        None,
        description="Keep only candidates whose graded pass rate lies in [low, high] (both included), e.g. "
        "[0.1, 0.9] drops items the grading model always or never solves, from which GRPO learns nothing. "
        "Candidates the grading file does not have are kept. Needs data.grading_file.",
    )
    on_overlap: Literal["drop", "error", "warn"] = Field(
        "drop",
        description="A training candidate that overlaps an evaluation set in eval.data: drop it (the next "
        "candidate takes its place), stop with an error, or keep it with a warning.",
    )
    overlap_ngram: int = Field(13, ge=5, description="Word n-gram length for the overlap check.")
    overlap_min_share: float = Field(
        0.5, gt=0.0, le=1.0,
        description="A training question overlaps when at least this share of its n-grams occur in evaluation "
        "questions (one shared stock phrase is not a copy).",
    )
    on_bad_item: Literal["error", "skip"] = Field(
        "error", description="Defective data rows (a missing field, an answer that is not an option, options that "
        "cannot be read, …): stop and list every one with its file and line, or skip them and count them by reason."
    )
    max_prompt_tokens: int | None = Field(
        1024, ge=1,
        description="Prompts longer than this (with the chat template of model.name_or_path) are dropped "
        "and counted, since TRL >= 0.28 no longer truncates prompts; null disables the check.",
    )
    mmlu_pro_categories: list[str] = Field(
        default_factory=lambda: ["health", "biology"], description="MMLU-Pro categories that count as medical."
    )
    gpqa_domains: list[str] = Field(
        default_factory=lambda: ["Biology"], description="GPQA high-level domains that count as medical."
    )
    medmcqa_cop: Annotated[Literal["auto", "0", "1"], BeforeValidator(_int_as_text)] = Field(
        "auto",
        description="Whether MedMCQA's `cop` counts from 0 (Hub) or 1 (raw release); auto detects it "
        "from the file and stops when the file cannot tell.",
    )
    vqa: VqaSettings = Field(
        default_factory=VqaSettings,
        description="Medical VQA (data.kind vqa: a source in the Med-R1 / OmniMedVQA format): how the "
        "questions are grouped, split and which group trains.",
    )
    output_dir: str = Field("data/prepared", description="Prepared datasets go to <output_dir>/<dataset>/.")

    @property
    def is_vqa(self) -> bool:
        """Whether the mix is Med-R1 VQA: data.kind, or when unset the mix — so `--dataset omnimedvqa` alone builds
        Med-R1's splits, and a written config (kind stays null) follows its dataset when that changes."""
        return self.kind == "vqa" if self.kind else self.dataset in recipe.VQA_MIXES

    @property
    def vqa_source(self) -> str:
        """The one source of a vqa mix."""
        return next(iter(self.mixes[self.dataset]))

    @model_validator(mode="after")
    def _mix_is_known_and_complete(self) -> DataSection:
        if self.dataset not in self.mixes:
            raise _invalid(
                "dataset", self.dataset,
                f"not a mix in data.mixes{did_you_mean(self.dataset, self.mixes)}; allowed: {', '.join(self.mixes)}",
            )
        unknown = [name for name in self.mixes[self.dataset] if name not in self.sources]
        if unknown:
            raise _invalid(
                "mixes", self.mixes[self.dataset],
                f"mix '{self.dataset}' uses source(s) {unknown} that data.sources does not define"
                + "".join(did_you_mean(u, self.sources) for u in unknown),
            )
        if self.is_vqa and len(self.mixes[self.dataset]) != 1:
            raise _invalid("mixes", self.mixes[self.dataset], f"mix '{self.dataset}' is vqa (data.kind), which has one "
                           f"source (its groups are split from it); it has {len(self.mixes[self.dataset])}: "
                           f"{', '.join(self.mixes[self.dataset])}")
        return self

    @model_validator(mode="after")
    def _band_is_a_range_of_pass_rates(self) -> DataSection:
        if self.pass_rate_band is None:
            return self
        low, high = self.pass_rate_band
        if not 0.0 <= low <= high <= 1.0:
            raise _invalid("pass_rate_band", list(self.pass_rate_band),
                           "must be [low, high] with 0 ≤ low ≤ high ≤ 1, e.g. [0.1, 0.9]")
        if not self.grading_file:
            raise _invalid("pass_rate_band", list(self.pass_rate_band),
                           "filters by graded pass rates: set data.grading_file too (write one with `medr1 grade`)")
        return self

    @model_validator(mode="after")
    def _formats_name_sources_and_layouts(self) -> DataSection:
        for source, layout in self.formats.items():
            if source not in self.sources:
                raise _invalid("formats", self.formats, f"'{source}' is not a source in data.sources"
                               f"{did_you_mean(source, self.sources)}; sources: {', '.join(self.sources)}")
            if layout not in FORMATS and layout not in FORMAT_ALIASES:
                raise _invalid("formats", self.formats, f"unknown format '{layout}' for source '{source}'"
                               f"{did_you_mean(layout, FORMATS)}; known: {', '.join(FORMATS)}")
        return self


# --------------------------------------------------------------------------------------- train
class TrainSection(_Section):
    output_dir: str = Field("runs/medr1", description="Run folder: checkpoints, logs, completions, resolved config.")
    topology: Literal["single", "multi", "colocate", "server"] = Field(
        "single",
        description="single: in-process (CPU or one GPU); multi: several processes under accelerate (torchrun on "
        "CPU), generation by transformers; colocate: every GPU trains and runs vLLM; server: the last "
        "`vllm_server_gpus` GPUs run `trl vllm-serve`, the others train.",
    )
    strategy: Literal["zero3", "zero3-offload", "zero2", "ddp"] = Field(
        "zero3", description="Distributed strategy for multi-GPU topologies (accelerate + DeepSpeed preset)."
    )
    gpus: int | None = Field(
        None, ge=0,
        description="GPUs per machine; None = detect. Set it to plan (or --dry-run) a GPU run on another machine.",
    )
    num_processes: int | None = Field(
        None, ge=1, description="Training processes per machine; None = GPUs (minus the vLLM GPUs in server mode)."
    )
    vllm_server_gpus: int = Field(1, ge=1, description="GPUs given to `trl vllm-serve` in server topology.")
    vllm_server_host: str = Field(
        "127.0.0.1", description="Where the training processes reach the vLLM server (its node's address in Slurm)."
    )
    vllm_server_port: int = Field(8000, ge=1, le=65535, description="Port of the vLLM server.")
    vllm_server_timeout: float = Field(
        600.0, gt=0, description="Seconds to wait for the vLLM server's health endpoint before giving up."
    )
    num_machines: int = Field(1, ge=1, description="Machines in a multi-node run.")
    machine_rank: int = Field(0, ge=0, description="This machine's rank in a multi-node run.")
    main_process_ip: str | None = Field(None, description="Address of rank 0 in a multi-node run.")
    main_process_port: int = Field(29500, ge=1, le=65535, description="Rendezvous port of rank 0.")
    rewards: Annotated[dict[RewardName, float], AfterValidator(_some_reward)] = Field(
        default_factory=lambda: dict(recipe.REWARDS),
        description=f"Reward functions and their weights (the reference uses accuracy + format); "
        f"available: {', '.join(REWARDS)}, or one of your own by import path, `package.module:function` "
        "(TRL's signature f(prompts, completions, completion_ids, **columns) -> one float or None per completion).",
    )
    reward_options: Annotated[dict[str, dict[str, Any]], AfterValidator(_reward_options_are_valid)] = Field(
        default_factory=dict,
        description="Options of each reward, e.g. {cosine: {max_len: 4096}, format: {think_prefilled: true}}; "
        "see the rewards table in docs/rewards.md.",
    )
    resume: str = Field(
        "auto", description="'auto' continues from the newest checkpoint in output_dir, 'never', or a checkpoint path."
    )
    resume_with_changed_data: bool = Field(
        False,
        description="Continue a run whose prepared data changed since it started (another seed, mix or source "
        "files). Refused by default: the model would train on two datasets. When true, the run's lineage "
        "(training_manifest.json) keeps the training ids of both, and evaluation leaves out both.",
    )
    grpo: dict[str, Any] = Field(
        default_factory=dict,
        description="Options passed verbatim to TRL's GRPOConfig (learning_rate, num_generations, ...). Their "
        "names are checked by `medr1 config validate` and `config show` too (a misspelt key gets a did-you-mean, a "
        "key TRL removed its replacement); TRL itself validates the values when training starts.",
    )

    @model_validator(mode="after")
    def _reward_options_have_weights(self) -> TrainSection:
        unweighted = [name for name in self.reward_options if name not in self.rewards]
        if unweighted:
            raise _invalid(
                "reward_options", self.reward_options,
                f"options for {unweighted}, which train.rewards does not use; give them a weight or remove them",
            )
        return self


# ---------------------------------------------------------------------------------------- eval
class EvalSection(_Section):
    benchmarks: list[BenchmarkName] = Field(
        default_factory=lambda: list(TEXT_BENCHMARKS),
        description=f"Benchmarks to run: by default the six, {', '.join(TEXT_BENCHMARKS)}; also 'demo' (the built-in "
        "questions) and the Med-R1 test splits 'vqa-<group>' (`medr1 benchmarks` lists them).",
    )
    engine: Literal["native", "lm-eval"] = Field("native", description="Generation and scoring engine.")
    backend: Literal["auto", "vllm", "hf"] = Field(
        "auto", description="Generation backend: vllm (GPU), hf (transformers generate; works on CPU), auto."
    )
    data: dict[BenchmarkName, str] = Field(
        default_factory=dict,
        description="Benchmark name -> file, folder, builtin:NAME or Hub id of its data. prepare-data checks "
        "training items against every set named here.",
    )
    protocol: Literal["medr1", "huatuo"] = Field(
        "medr1",
        description="How items are asked and counted. medr1: eval.template and the settings below. huatuo: the "
        "reference evaluator's (HuatuoGPT-o1's, behind the published tables) — template huatuo (no system message, "
        "its user wording), every row scored as the bundle counts it (no dedup), and as defaults its sampling: "
        "temperature 0.5, top_p 0.9, 2,000 new tokens, here 3 seeded samples reported as mean ± sd (the reference "
        "drew one unseeded sample). Results record the protocol; compare and report refuse to mix protocols.",
    )
    template: TemplateName = Field("r1", description="Prompt template; keep it equal to the training template.")
    system_prompt: str | None = Field(None, description="Replace the template's system prompt.")
    temperature: float = Field(0.0, ge=0.0, description="Sampling temperature; 0 = greedy.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling threshold.")
    max_new_tokens: int = Field(8192, ge=1, description="Generation budget per answer (the reference trained with 8192).")
    n_samples: int = Field(1, ge=1, description="Samples per question (mean@n and majority@n when > 1).")
    seed: int = Field(42, description="Sampling seed.")
    batch_size: int = Field(
        8, ge=1, description="Prompts per generation batch (hf backend). vLLM batches continuously and gets chunks "
        "of up to 512 prompts (shared out among data-parallel replicas); each chunk is stored as it finishes.",
    )
    data_parallel_size: int = Field(
        1, ge=1,
        description="Model replicas generating side by side, each in its own process on its own GPUs (native "
        "engine: workers share out the batches; lm-eval engine: its vllm model's data_parallel_size, needs ray).",
    )
    tensor_parallel_size: int | None = Field(
        None, ge=1,
        description="GPUs per replica for the vllm backend; default: the largest count up to GPUs / "
        "data_parallel_size that divides the model's attention heads, key/value heads and MLP width (vLLM's rule).",
    )
    gpus: int | None = Field(
        None, ge=0,
        description="GPUs the evaluation lays out; None = this machine's. Set it to see a GPU machine's layout "
        "with `medr1 evaluate --dry-run`.",
    )
    limit: int | None = Field(None, ge=1, description="Evaluate only the first N items of each benchmark.")
    exclude_manifest: str | None = Field(
        None,
        description="A prepare-data manifest (or a model's training_manifest.json) whose training ids are left "
        "out of evaluation, whatever model is evaluated. Default: the evaluated model's own lineage (the manifest "
        "its run trained on, kept by its checkpoints and exports), else, for a model medr1 did not train, the "
        "manifest of the config's prepared mix when it exists.",
    )
    pubmedqa_protocol: Literal["pqa-l", "test"] = Field(
        "pqa-l",
        description="PubMedQA items: all 1000 expert-labelled PQA-L questions (as the reference's table) or the "
        "official 500-question test (needs test_ground_truth.json beside ori_pqal.json).",
    )
    dedup: list[BenchmarkName] = Field(
        default_factory=lambda: ["gpqa_med"],
        description="Benchmarks whose repeated questions (same text and options, in any order) are scored once. "
        "Default: GPQA only — GPQA has 78 Biology questions, and the HuatuoGPT-o1 bundle repeats each five times "
        "with shuffled options. Every other benchmark is scored row by row, as its owners count (MMLU-Pro Medical: "
        "1,535 rows); the number of distinct questions is reported either way.",
    )
    baseline: Annotated[str, AfterValidator(_builtin_model_is_known)] | None = Field(
        None,
        description="Also evaluate a baseline on the same items with the same settings and compare the model "
        "with it, paired (B − A, bootstrap 95 % interval, McNemar p, a verdict at α = 0.05): 'base' = the model "
        "the evaluated run started from (read from its run folder), or any model folder, Hub id or builtin name. "
        "Its results go to <eval.output_dir>/../baseline-<model>/, so later evaluations reuse its completions.",
    )
    output_dir: str = Field("results/medr1", description="Where completions and results go.")

    @model_validator(mode="before")
    @classmethod
    def _protocol_settings(cls, data: Any) -> Any:
        """A protocol fixes how items are asked and counted, and gives its sampling settings as defaults."""
        if not isinstance(data, dict) or data.get("protocol") not in recipe.PROTOCOLS:
            return data
        fixed, defaults = recipe.PROTOCOLS[data["protocol"]]
        # A value still at medr1's default counts as unset: a run's written-out config lists every key.
        mine = {k: v for k, v in data.items() if k not in defaults or v != cls.model_fields[k].default}
        return {**defaults, **mine, **fixed}


# -------------------------------------------------------------------------------------- export
class ExportSection(_Section):
    checkpoint: str | None = Field(
        None,
        description="What to export: a checkpoint folder, or a checkpoint's name in the run folder (checkpoint-500). "
        "None = the run's final save, else its newest checkpoint.",
    )
    output_dir: str | None = Field(None, description="Where the standalone model goes; None = <run>/export.")
    dtype: Literal["bfloat16", "float16", "float32"] = Field("bfloat16", description="dtype of the saved weights.")
    max_shard_size: Annotated[str, AfterValidator(_positive_size)] = Field(
        "5GB", pattern=r"^\d+(\.\d+)?\s*(B|KB|MB|GB|KiB|MiB|GiB)$",
        description="Largest safetensors shard, e.g. 5GB or 500MB.",
    )
    adapter_only: bool = Field(
        False, description="Keep a LoRA run's adapter (plus tokenizer and model card) instead of merging it."
    )
    verify: bool = Field(
        True,
        description="Reload the export and compare its logits on probe prompts with the source's; fail beyond the "
        "dtype's tolerance.",
    )
    push_to_hub: str | None = Field(None, description="Hub repo id to upload to (needs network and a token).")
    revision: str | None = Field(None, description="Hub branch to upload to (created when missing); None = main.")
    private: bool = Field(True, description="Create the Hub repo as private.")


class Medr1Config(_Section):
    model: ModelSection = Field(default_factory=ModelSection)
    data: DataSection = Field(default_factory=DataSection)
    train: TrainSection = Field(default_factory=TrainSection)
    eval: EvalSection = Field(default_factory=EvalSection)
    export: ExportSection = Field(default_factory=ExportSection)

    def to_yaml(self) -> str:
        return dump_yaml(self.model_dump(mode="json"))

    def write_beside(self, output_dir: str | Path) -> Path:
        """Record the resolved config next to a command's outputs, so every run can be reproduced."""
        return atomic_write_text(Path(output_dir) / RESOLVED_CONFIG_NAME, self.to_yaml())
