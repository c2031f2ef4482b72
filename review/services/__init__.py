"""Writes for curation, review rounds, sign-off, share links and the audit trail."""
