"""`medr1 export`: a run or checkpoint to a standalone, verified Hugging Face model folder."""
