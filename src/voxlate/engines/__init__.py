"""Engines: plain classes behind small Protocols, one sub-package per kind.

Each kind's ``__init__`` holds its `Registry`; ``base.py`` holds its Protocol and
result types; every other file is one implementation. Engines know nothing of
pipelines, servers or the CLI.
"""
