"""Event-Driven Development Workbench."""
