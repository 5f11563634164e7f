"""The model registry: a Django app holding every fine-tuned model version and its stage."""
