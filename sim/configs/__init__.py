"""Accelerator presets (TOML), see docs/accelerator-config.md."""
