"""Shared SQL machinery (SQLAlchemy Core, compiled once) and the SQLite, PostgreSQL and
MySQL/MariaDB drivers. Importing this package imports no database driver."""
