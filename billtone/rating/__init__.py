"""Call credit: rate decks, CDR import and rating, auto top-up, call authorization (issue 19)."""
