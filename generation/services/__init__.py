"""Writes for generation: jobs, runs on the worker, reproductions, and the tiny models."""
