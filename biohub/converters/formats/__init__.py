"""Format readers, one module per source format. Every module here is imported by the registry."""
