"""Feed import admin (placeholder until the feed import lands)."""
