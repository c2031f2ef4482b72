"""Writes to the lineage core. Every function is keyword-only and named <thing>_<verb>."""
