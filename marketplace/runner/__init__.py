"""runner layer (see docs/architecture.md)."""
