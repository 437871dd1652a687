"""`medr1 train`: the launcher (topologies, accelerate / DeepSpeed configs, the vLLM server) and the
GRPO training script that runs under it."""
