"""Importers that turn folders and published datasets on disk into foabench source banks."""
