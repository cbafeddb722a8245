"""What the channel sends and receives: authentication, replies, activity checks, tenants, limits, text."""
