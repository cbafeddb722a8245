"""What users tell us: feedback events (``events``), the report of what was not solved (``report``), the
wordings users resolved to one article (``learning``) and the redaction of what is kept (``redact``)."""
