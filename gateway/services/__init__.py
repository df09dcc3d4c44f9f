"""Use cases, one module each: the rules of the gateway. No FastAPI here; routes only translate HTTP."""
