"""Med-R1: GRPO on medical VQA with vision-language models — the OmniMedVQA / Med-R1 formats and groups
(omnimedvqa), per-group training and test splits (splits), the generated demo set (demo_data) and the
cross-group accuracy matrix (matrix). A mix is Med-R1 VQA when its config says `data.kind: vqa`.

The vision-language model helpers stay in models/ (vision, tiny_vl): loading, training and export use
them for any VLM, a Gemma 3 trained on text included, and the built-in model registry builds tiny_vl."""
