"""The desktop app: widgets, main window, settings."""
