"""The EMMIE ontology (Turtle) and its quality checks, shipped as package data."""
