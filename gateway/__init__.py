"""The ccgate gateway: Relying Party and key broker, its CLI and its client SDK."""
