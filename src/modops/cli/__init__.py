"""The `modops` command (Typer): thin commands over the use-case packages."""
