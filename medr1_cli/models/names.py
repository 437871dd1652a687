"""Names of the models medr1 can build locally, importable without torch (config validation uses them)."""

BUILTIN_PREFIX = "builtin:"
SMOLLM2 = "builtin:smollm2-135m-instruct"
TINY = "builtin:tiny"
TINY_VL = "builtin:tiny-vl"  # a tiny random Qwen2-VL for CPU runs of the Med-R1 pipeline
BUILTIN_MODELS = (SMOLLM2, TINY, TINY_VL)

# Where the built-in models come from on the Hub, for model cards' `base_model` metadata.
HUB_IDS = {SMOLLM2: "HuggingFaceTB/SmolLM2-135M-Instruct"}
