"""The query catalogue: one SPARQL file per question (see README.md), shipped as package data."""
