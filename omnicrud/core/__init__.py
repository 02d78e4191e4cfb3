"""Backend-neutral core: resources, queries, the Storage protocol and errors.

Nothing in this package imports a database driver.
"""
