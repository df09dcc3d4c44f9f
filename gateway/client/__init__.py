"""A typed Python client for the gateway's API (httpx, synchronous), and the owner's upload pipeline."""
