"""What is computed from the evidence: meta-analysis, the derived graph (pooled estimates,
EMMIE ratings) and the area analysis of local-authority statistics. Builds on the core."""
