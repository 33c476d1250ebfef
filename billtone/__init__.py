"""Billtone: billing and self-service for cloud-telephony operators."""
