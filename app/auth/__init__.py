"""Authentication: staff passwords and JWTs, refresh rotation, API keys, consumer login."""
