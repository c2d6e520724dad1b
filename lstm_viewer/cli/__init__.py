"""Headless subcommands; one module each, all free of Qt."""
