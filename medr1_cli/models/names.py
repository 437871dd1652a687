"""Names of the models medr1 can build locally, importable without torch (config validation uses them)."""

BUILTIN_PREFIX = "builtin:"
SMOLLM2 = "builtin:smollm2-135m-instruct"
TINY = "builtin:tiny"
BUILTIN_MODELS = (SMOLLM2, TINY)
