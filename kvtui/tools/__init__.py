"""Developer tools shipped with kvtui (screenshots)."""
