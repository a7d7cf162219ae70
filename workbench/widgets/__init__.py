"""Views over the workbench core: one widget per capability, thin and headless-testable."""
