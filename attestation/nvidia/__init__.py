"""The NVIDIA GPU Verifier (Hopper, Blackwell): SPDM Evidence + RIMs + OCSP → GPU claims."""
