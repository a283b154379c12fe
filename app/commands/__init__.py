"""Command-line sub-commands of `boardround` (app/cli.py): an edge, like the HTTP routers."""
