"""People: profiles, who is on the table, their limits and the journal."""
