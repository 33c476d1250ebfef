"""Rating's writes, one module per sub-domain (ingest.py: CDR ingestion and re-rating)."""
