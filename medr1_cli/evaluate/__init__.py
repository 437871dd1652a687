"""`medr1 evaluate`: benchmark data, generation backends, the resumable runner, statistics
and reports."""
