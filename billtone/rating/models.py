"""Rating's tables: rate decks and their rates, CDRs, auto top-up (issue 19)."""
