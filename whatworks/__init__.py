"""whatworks: a knowledge-graph evidence base for children's social care, coded with EMMIE."""

__version__ = "0.1.0"
