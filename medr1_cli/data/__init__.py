"""Medical QA data: one canonical record, a loader per native format, mixes, curriculum,
decontamination, prompts, and the `prepare-data` pipeline that ties them together."""
