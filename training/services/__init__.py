"""Core services: plain functions with explicit arguments. They flush; callers commit."""
