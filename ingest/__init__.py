"""Ingest: read coding sheets, bibliographies and RDF; map them to RDF; validate; store."""
