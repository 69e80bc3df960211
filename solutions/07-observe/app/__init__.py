"""Diabetes progression prediction service."""
