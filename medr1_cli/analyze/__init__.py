"""`medr1 analyze`: plots and figures from training runs (rewards, lengths, format, self-verification)
and from evaluation results (accuracy with intervals, per-subset heatmap)."""
