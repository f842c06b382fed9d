"""SHACL shapes for everything the ingest produces, shipped as package data."""
