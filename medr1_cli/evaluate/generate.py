"""Generation backends and the resumable store of completions.

Every completion is appended to `completions.jsonl` as soon as its chunk is generated, keyed by
(model fingerprint, benchmark, item id, sample index, generation settings, prompt digest). A rerun
generates only the keys that are missing, so a killed evaluation loses at most the chunk in flight, and
changing the model (its weights, tokenizer or chat template), a setting or the prompt's text never
reuses a stale completion.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from medr1_cli.benchmarks import find_benchmark
from medr1_cli.config import Medr1Config
from medr1_cli.data.prompts import build_prompt
from medr1_cli.data.record import QARecord
from medr1_cli.errors import ConfigError, MissingExtraError
from medr1_cli.evaluate.gpus import gpus_per_worker, machine_gpus
from medr1_cli.fsutil import append_jsonl
from medr1_cli.layout import completion_shard, completion_shards
from medr1_cli.models import cached_hub_config
from medr1_cli.models.loading import chat_template_text, load_processing_class, torch_dtype
from medr1_cli.models.reference import ShardedSizes, inspect_model, is_vision_model, model_file

# Requests handed to vLLM at once: it batches continuously within a chunk, so small chunks (eval.batch_size)
# would leave it idle at every chunk's tail; the store still appends chunk by chunk.
VLLM_CHUNK = 512
# The LoRA ranks vLLM 0.30 serves (vllm/config/lora.py MaxLoRARanks): the engine is sized for the next one up.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


@dataclass(frozen=True)
class Request:
    key: str
    benchmark: str
    item_id: str
    sample: int
    messages: list[dict[str, str]]
    images: tuple[str, ...] = ()  # image files of a VQA question, shown before the question text


@dataclass(frozen=True)
class Generation:
    text: str
    tokens: int
    hit_limit: bool  # stopped by max_new_tokens, not by the model


# The files of a model folder, besides its weights, that change what the model is given or how it generates:
# its configs, its tokenizer, its chat template (transformers reads chat_template.jinja, else the template
# inside tokenizer_config.json; a processor's chat_template.json) and its generation defaults. Read whole,
# as they are small; an edited chat template must not be answered from completions made with the old one.
MODEL_TEXT_FILES = frozenset({
    "config.json", "adapter_config.json", "generation_config.json", "tokenizer_config.json", "tokenizer.json",
    "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt", "tokenizer.model",
    "chat_template.jinja", "chat_template.json", "preprocessor_config.json", "processor_config.json",
})


def model_fingerprint(path: str, revision: str | None = None) -> str:
    """The model's identity: where it is, the contents of its configs, tokenizer and chat template
    (MODEL_TEXT_FILES), and the name, size and modification time of each weight file — checkpoints of
    one run share configs and file sizes. A Hub id is identified by the commit its revision resolves to."""
    folder = Path(path)
    if not folder.is_dir():
        return hashlib.sha256(f"{path}@{hub_commit(path, revision)}".encode()).hexdigest()[:16]
    digest = hashlib.sha256(str(folder.resolve()).encode())
    for file in sorted(folder.iterdir()):
        if file.name in MODEL_TEXT_FILES and file.is_file():
            digest.update(f"{file.name}:".encode())  # a file's bytes and its name: moving text between files counts
            digest.update(file.read_bytes())
        elif file.suffix in (".safetensors", ".bin"):
            info = file.stat()
            digest.update(f"{file.name}:{info.st_size}:{info.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def hub_commit(repo: str, revision: str | None) -> str:
    """The commit `revision` (default: main) of a Hub model resolves to: read from the local Hugging
    Face cache, else fetched with the model's config.json (which the load that follows needs anyway)."""
    from huggingface_hub import hf_hub_download

    try:
        cached = cached_hub_config(repo, revision) or hf_hub_download(repo, "config.json", revision=revision)
    except Exception as err:  # huggingface_hub raises many types for offline, missing, gated and bad ids
        raise ConfigError(f"model.name_or_path: cannot resolve the Hub model {repo} (revision {revision or 'main'}): "
                          f"{type(err).__name__}: {err}",
                          hint="give a local model folder, or run where the Hub is reachable") from None
    return Path(cached).parent.name  # <cache>/models--owner--name/snapshots/<commit>/config.json


def settings_fingerprint(config: Medr1Config, backend: str) -> str:
    """Everything besides the model and the item that changes a completion: prompt settings, sampling, the
    chat template's text (not its path), weights' dtype, image size range, engine and backend. The prompt
    itself, as rendered, is keyed per request (`prompt_digest`): a template's name says nothing of its text."""
    e, m = config.eval, config.model
    template = chat_template_text(m)
    settings = [e.template, e.system_prompt, e.temperature, e.top_p, e.max_new_tokens, e.seed,
                hashlib.sha256(template.encode()).hexdigest() if template is not None else None,
                m.dtype, m.min_pixels, m.max_pixels, e.engine, backend]
    return hashlib.sha256(json.dumps(settings).encode()).hexdigest()[:12]


class CompletionStore:
    """Append-only JSONL of completions, read back by key.

    Data-parallel workers each append to a shard beside it (`completions-dp<k>.jsonl`); the shards are
    read with the store, so a killed parallel run resumes too, and `fold_shards` moves them into it.
    """

    def __init__(self, path: Path):
        self.path = path
        self.done: dict[str, dict] = {}
        for file in (path, *self.shards()):
            self.done.update(_read_rows(file))

    def shard_path(self, index: int) -> Path:
        return completion_shard(self.path, index)

    def shards(self) -> list[Path]:
        return completion_shards(self.path)

    def superseded(self, missing: Iterable[Request]) -> int:
        """How many of the `missing` requests the store answered before under another key: made by another
        model (or its tokenizer or chat template), from another prompt or with other settings, or keyed by
        an older medr1. Those rows stay in the store; they are not reused."""
        stored = {(row.get("benchmark"), row.get("id"), row.get("sample")) for row in self.done.values()}
        return sum((r.benchmark, r.item_id, r.sample) in stored for r in missing)

    def add(self, rows: Iterable[dict]) -> None:
        rows = list(rows)
        append_jsonl(self.path, rows)
        self.done.update({row["key"]: row for row in rows})

    def fold_shards(self) -> None:
        """Append the shards' rows to the store, then remove the shards (a row written twice is read once)."""
        for shard in self.shards():
            self.add(_read_rows(shard).values())
            shard.unlink()


def _read_rows(path: Path) -> dict[str, dict]:
    rows = {}
    if path.is_file():
        # "\n" only: completions are written unescaped and may hold U+2028, which splitlines() breaks at
        for line in path.read_text(encoding="utf-8").split("\n"):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # an empty line, or a row a killed run cut short (append_jsonl drops those)
            if isinstance(row, dict) and "key" in row:
                rows[row["key"]] = row
    return rows


def sample_requests(pools: Mapping[str, Sequence[QARecord]], config: Medr1Config, model_id: str, settings_id: str,
                    samples: int) -> dict[str, list[Request]]:
    """`samples` requests for every item of each named pool, in the config's eval template. A key names the
    model, the pool, the item, the sample, the settings and the prompt's own text, so a store answers only
    what would be generated the same way."""
    e = config.eval
    requests = {}
    for name, records in pools.items():
        requests[name] = []
        for r in records:
            messages = build_prompt(r, e.template, e.system_prompt)
            prompt_id = prompt_digest(messages)
            requests[name] += [Request(f"{model_id}|{name}|{r.id}|{sample}|{settings_id}|{prompt_id}", name, r.id,
                                       sample, messages, r.images) for sample in range(samples)]
    return requests


def prompt_digest(messages: list[dict[str, str]]) -> str:
    """The messages the model is given, hashed: an edited template or system prompt changes it under the
    same template name, and an item whose text changed is asked anew."""
    return hashlib.sha256(json.dumps(messages, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:12]


def superseded_note(store: CompletionStore, missing: Mapping[str, Sequence[Request]]) -> str | None:
    """A sentence for a rerun that regenerates what the store already holds in another form: without it,
    a user who reran to continue sees everything generated again and cannot tell why."""
    count = store.superseded(r for requests in missing.values() for r in requests)
    if not count:
        return None
    return (f"{count} completions stored for these items no longer match (another model, tokenizer or chat template, "
            "another prompt or other generation settings, or keys written by an older medr1): they are generated "
            f"again, and the old ones stay in {store.path}")


def chunks_of(requests: list[Request], size: int) -> list[list[Request]]:
    """Batches of `size`, longest prompts first (as lm-eval orders its requests): a batch's prompts are left
    padded to its longest, and prefill is most of the time on short answers, so similar lengths pad little;
    a batch too large for memory also fails at once, not at the end. The sort is stable, so the samples
    of one question stay together and the batches are the same on every run and in every worker."""
    ordered = sorted(requests, key=lambda r: (len(r.images), prompt_chars(r)), reverse=True)
    return [ordered[start : start + size] for start in range(0, len(ordered), size)]


def prompt_chars(request: Request) -> int:
    """The prompt's length in characters: orders prompts as their token counts would, without a tokenizer."""
    return sum(len(str(message.get("content", ""))) for message in request.messages)


def chunk_size(config: Medr1Config, backend: str, pending: int = 0, workers: int = 1) -> int:
    """Requests generated (and stored) together: eval.batch_size for hf; for vLLM large chunks, cut so
    that `workers` data-parallel replicas each get a share of the `pending` requests."""
    if not backend.startswith("vllm"):
        return config.eval.batch_size
    share = -(-pending // workers) if pending else VLLM_CHUNK
    return max(config.eval.batch_size, min(VLLM_CHUNK, share))


def generate_chunk(backend: Backend, chunk: list[Request], store: CompletionStore) -> None:
    """Generate one batch and store it at once: a killed run loses at most this batch."""
    outputs = backend(chunk)
    store.add(
        {"key": r.key, "benchmark": r.benchmark, "id": r.item_id, "sample": r.sample,
         "completion": o.text, "tokens": o.tokens, "hit_limit": o.hit_limit}
        for r, o in zip(chunk, outputs, strict=True)
    )


Backend = Callable[[list[Request]], list[Generation]]


def hf_backend(config: Medr1Config, model_path: str) -> Backend:
    """Batched `generate` with left padding; runs on CPU. Vision-language models get their images."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    reference = inspect_model(model_path, config.model.revision)
    vision = reference.vision
    processor = load_processing_class(config.model, model_path, padding_side="left")
    tokenizer = processor.tokenizer if vision else processor
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    loader = AutoModelForCausalLM
    if vision:
        from transformers import AutoModelForImageTextToText

        loader = AutoModelForImageTextToText
    elif reference.adapter is not None:
        from peft import AutoPeftModelForCausalLM

        loader = AutoPeftModelForCausalLM
    model = loader.from_pretrained(
        model_path, revision=config.model.revision, trust_remote_code=config.model.trust_remote_code,
        dtype=torch_dtype(config.model.dtype), device_map="auto" if torch.cuda.is_available() else None,
    )
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()  # a LoRA run's adapter: the same weights, generated faster merged
    model.eval()
    e = config.eval
    sampling = {"do_sample": True, "temperature": e.temperature, "top_p": e.top_p} if e.temperature > 0 else {
        "do_sample": False, "temperature": None, "top_p": None, "top_k": None}

    def encode(requests: list[Request]):
        if not vision:
            texts = [tokenizer.apply_chat_template(r.messages, tokenize=False, add_generation_prompt=True)
                     for r in requests]
            return tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        texts = [processor.apply_chat_template(with_image_parts(r.messages, len(r.images)), add_generation_prompt=True)
                 for r in requests]
        images = [_rgb(path) for r in requests for path in r.images]
        return processor(text=texts, images=images or None, padding=True, return_tensors="pt")

    def generate(requests: list[Request]) -> list[Generation]:
        batch = encode(requests).to(model.device)
        torch.manual_seed(e.seed + requests[0].sample)
        with torch.no_grad():
            output = model.generate(**batch, max_new_tokens=e.max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                                    **sampling)
        new = output[:, batch["input_ids"].shape[1]:]
        results = []
        eos = set(_as_list(model.generation_config.eos_token_id)) | {tokenizer.eos_token_id}
        for row in new.tolist():
            ended = next((i for i, token in enumerate(row) if token in eos), None)
            kept = row[:ended] if ended is not None else [t for t in row if t != tokenizer.pad_token_id]
            results.append(Generation(tokenizer.decode(kept, skip_special_tokens=True), len(kept), ended is None))
        return results

    return generate


def _rgb(path: str):
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGB")


def with_image_parts(messages: list[dict], images: int) -> list[dict]:
    """The conversation as a VLM reads it: the images first in the first user message, as TRL builds
    training prompts, so a model is asked the same way in training and evaluation."""
    parts, placed = [], False
    for message in messages:
        content = [{"type": "text", "text": message["content"]}]
        if message["role"] == "user" and not placed:
            content = [{"type": "image"}] * images + content
            placed = True
        parts.append({"role": message["role"], "content": content})
    return parts


def vllm_backend(config: Medr1Config, model_path: str) -> Backend:
    """Offline vLLM (GPU): tensor parallel across the GPUs this process sees (a data-parallel worker sees its own),
    as many as the model's attention heads and MLP width allow. A LoRA adapter is served on its base with vLLM's LoRA support."""
    from vllm import LLM, SamplingParams
    from vllm.lora.request import LoRARequest

    e = config.eval
    engine = vllm_engine(config, model_path)
    tensor_parallel = gpus_per_worker(config, machine_gpus(config), engine.sizes) or 1
    llm = LLM(model=engine.model, tokenizer=engine.tokenizer, revision=engine.revision,
              trust_remote_code=config.model.trust_remote_code, tensor_parallel_size=tensor_parallel, seed=e.seed,
              dtype=config.model.dtype, enable_lora=engine.lora_rank is not None, max_lora_rank=engine.lora_rank or 16)
    adapter = LoRARequest(lora_name="medr1-adapter", lora_int_id=1, lora_path=model_path) if engine.lora_rank else None
    chat_template = chat_template_text(config.model)

    def generate(requests: list[Request]) -> list[Generation]:
        # A request's seed fixes its sampling, so each sample of a question gets its own seed.
        params = [SamplingParams(temperature=e.temperature, top_p=e.top_p, max_tokens=e.max_new_tokens,
                                 seed=e.seed + r.sample) for r in requests]
        outputs = llm.chat([r.messages for r in requests], params, chat_template=chat_template, use_tqdm=False,
                           lora_request=adapter)
        return [Generation(o.outputs[0].text, len(o.outputs[0].token_ids), o.outputs[0].finish_reason == "length")
                for o in outputs]

    return generate


@dataclass(frozen=True)
class VllmEngine:
    """What a vLLM engine loads for a model reference."""

    model: str  # the weights: the model itself, or an adapter's base
    tokenizer: str  # a LoRA run folder's own tokenizer (with the template it trained with), else the model's
    revision: str | None
    lora_rank: int | None  # a LoRA adapter's rank rounded up to one vLLM serves; None for full weights
    sizes: ShardedSizes | None  # what tensor parallelism splits


def vllm_engine(config: Medr1Config, model_path: str) -> VllmEngine:
    reference = inspect_model(model_path, config.model.revision)
    if reference.adapter is None:
        return VllmEngine(model_path, model_path, config.model.revision, None, reference.sharded_sizes)
    adapter = reference.adapter
    fix = "export the merged model (`medr1 export`) and evaluate that, or use --backend hf"
    if not isinstance(adapter.get("r"), int):
        raise ConfigError(f"{model_path}: adapter_config.json has no rank r, which vLLM needs to serve it", hint=fix)
    if adapter.get("use_dora"):
        raise ConfigError(f"{model_path}: a DoRA adapter (use_dora), which vLLM cannot serve", hint=fix)
    rank = max([adapter["r"], *(v for v in (adapter.get("rank_pattern") or {}).values() if isinstance(v, int))])
    served = next((r for r in VLLM_LORA_RANKS if r >= rank), None)
    if served is None:
        raise ConfigError(f"{model_path}: LoRA rank {rank} is above the largest vLLM serves ({VLLM_LORA_RANKS[-1]})",
                          hint=fix)
    if adapter.get("modules_to_save"):
        raise ConfigError(f"{model_path}: the adapter also trains whole modules (modules_to_save), which vLLM cannot "
                          "serve as LoRA", hint=fix)
    own_tokenizer = any(model_file(model_path, name) for name in ("tokenizer.json", "tokenizer_config.json"))
    return VllmEngine(reference.base, model_path if own_tokenizer else reference.base, adapter.get("revision"), served,
                      reference.sharded_sizes)


def resolve_backend(config: Medr1Config) -> str:
    """eval.backend with `auto` decided: vLLM when there is a GPU and vLLM is installed, else hf."""
    import importlib.util

    name, has_vllm = config.eval.backend, importlib.util.find_spec("vllm") is not None
    if name == "vllm" and not has_vllm:
        raise MissingExtraError("vllm", "eval.backend vllm", "vllm")
    if name == "auto":
        import torch

        name = "vllm" if torch.cuda.is_available() and has_vllm else "hf"
    return name


def backend_for(config: Medr1Config, model_path: str) -> str:
    """The backend that will generate for this model: `resolve_backend`, with VQA models on hf."""
    name = resolve_backend(config)
    images = any(find_benchmark(benchmark).vqa for benchmark in config.eval.benchmarks)
    # A multimodal model (Gemma-3) on text benchmarks is a text model to vLLM; only images need hf here.
    if name == "vllm" and images and is_vision_model(model_path, config.model.revision):
        if config.eval.backend == "vllm":
            raise ConfigError("eval.backend vllm: VQA benchmarks are generated with the hf backend in this version",
                              hint="use --backend hf (or auto)")
        name = "hf"  # auto: vLLM's multimodal path is not wired here yet
    return name


def make_backend(config: Medr1Config, model_path: str) -> tuple[str, Backend]:
    name = backend_for(config, model_path)
    return name, (vllm_backend if name == "vllm" else hf_backend)(config, model_path)


def _as_list(value) -> list:
    return [] if value is None else (list(value) if isinstance(value, list | tuple) else [value])
