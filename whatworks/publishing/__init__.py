"""Releases: dumps, the JSON-LD context and the VoID/DCAT description. Builds on the core."""
