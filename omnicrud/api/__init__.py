"""The HTTP layer: one app factory, one shared CRUD router, problem+json errors."""
