"""Guidelines: versions, evidence for revisions and whether a revision worked (pure parts)."""
