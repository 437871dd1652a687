"""`medr1 evaluate`: the benchmark registry, generation backends, the resumable runner, statistics
and reports."""
