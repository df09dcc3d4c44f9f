"""The collateral store (DESIGN §7): vendor Endorsements cached on disk with freshness metadata.

Verifiers never fetch: the gateway and the CLI import or fetch collateral into this store, and the
loaders here build the typed collateral objects (``SnpCollateral``, ``TdxCollateral``) that the pure
verifiers take.
"""
