"""The Textual UI: app, screens, widgets, modals."""
