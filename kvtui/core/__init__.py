"""kvtui core: sign-in, vault service, configuration. Never imports Textual."""
