"""kvtui: a full-screen terminal app for Azure Key Vault."""

__version__ = "0.1.0"
