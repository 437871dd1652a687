"""medr1: R1-Zero-style GRPO for medical reasoning, from data preparation to evaluation and export."""

__version__ = "0.1.0"
