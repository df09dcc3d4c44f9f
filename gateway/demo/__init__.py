"""The end-to-end demo's assets: a synthetic dataset and a pure-Python training job."""
