"""Real database clusters (PostgreSQL streaming replicas, MariaDB Galera) for the ``cluster``
tox env, started from this machine's Debian binaries on free loopback ports."""
